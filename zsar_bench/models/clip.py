"""Zero-shot CLIP (Radford et al., "Learning Transferable Visual Models From Natural Language Supervision",
ICML 2021) on CLIP video embeddings, with no training: the method ``clip`` (``methods/clip.py`` registers it) and
the base of ``clip-adapter`` (``methods/clip_adapter.py``), kept here so that no plugin imports another.

A clip's score for a class is the cosine between its video embedding (the feature set's CLIP embedding:
L2-normalised frame embeddings averaged and normalised again, ``zsar_bench.clip.encode_clip_frames``) and
the class embedding from CLIP's own text tower: the class text (``text_style``, default the readable name)
fills every template of ``templates`` (``ensemble``: CLIP's 28 Kinetics-700 prompts; ``video``: "a video of
a person {}."; ``none``: the bare text) and the L2-normalised prompt embeddings are averaged and normalised
again (prompt ensembling, ``zsar_bench.clip.class_embeddings``). CLIP multiplies cosines by its logit scale
before a softmax; that changes no ranking, so the scores here are plain cosines.

The text tower must be the one the video embeddings came from. ``weights=""`` (default) loads the feature
set's own model, as its manifest records it (``FitData.model``); a given ``weights`` (folder or hub id) must
have the same identity key, and a mismatch is refused naming both keys. A feature set that records no CLIP
model is refused too. Prompt embeddings are cached on disk by the model's identity key
(``text_encoder=clip:WEIGHTS`` in ``zsar_bench.text.encoders``) and class embeddings in this process.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..clip import TEMPLATE_SETS
from ..clip.text import fill
from ..method import FitContext, Ingredient, Method, ParamError, unavailable_message, weights_unavailable
from ..text.encoders import clip_text_encoder
from ..text.styles import class_texts
from ..types import ClassInfo, FitData, Videos

CLIP_PAPER = "Radford et al., ICML 2021 (CLIP), Sec. 3.1.4 prompt engineering and ensembling"
PROMPTS = "openai/CLIP data/prompts.md (Kinetics700 templates)"
MAX_LENGTH = 1024  # capped at the model's own context (77 tokens for OpenAI CLIP)


def template_set(name: str) -> tuple[str, ...]:
    return TEMPLATE_SETS[name]


def prompt_ensemble(enc, texts: Sequence[str], templates: Sequence[str]) -> np.ndarray:
    """[C, D] float32: each text in every template, prompt embeddings (L2-normalised by the encoder) averaged
    per class and normalised again; the same computation as ``zsar_bench.clip.class_embeddings``, through
    the disk-cached encoder."""
    texts, templates = list(texts), list(templates)
    if not texts:
        return np.zeros((0, enc.dim), np.float32)
    vecs = enc.encode([fill(t, c) for c in texts for t in templates])
    emb = torch.from_numpy(vecs).view(len(texts), len(templates), -1)
    return F.normalize(emb.mean(1), dim=-1).numpy().astype(np.float32)


class ClipZeroShot(Method):
    """Zero-shot CLIP (see the module docstring); registered as ``clip`` by ``methods/clip.py``, and the base of
    ``clip-adapter``."""

    summary = "zero-shot CLIP: cosine of the CLIP video embedding and prompt-ensembled class texts (no training)"
    learns = False
    feature_model = "clip"  # needs features whose manifest records a CLIP model (tests/test_conformance.py)
    fidelity = (
        Ingredient("model", "a CLIP checkpoint's image and text towers (ViT-B/32 ... ViT-L/14@336px)",
                   "the checkpoint the feature set's video embeddings came from (weights='': its manifest's model; "
                   "a given folder or hub id must have the same identity key)", True, CLIP_PAPER,
                   "a mismatched text tower would score in another embedding space, so it is refused"),
        Ingredient("video embedding", "image-tower embeddings of video frames (the paper's UCF101 and "
                   "Kinetics-700 evaluations; frame selection as its appendix describes)",
                   "the feature set's embedding: ER's 8 evenly spaced frames (its BiT frames), each L2-normalised, "
                   "averaged, normalised again", False, "Radford et al., ICML 2021, Appendix A (UCF101, Kinetics-700)",
                   "frames are ER's, so CLIP sees the frames ER's object concepts came from; the paper's own frame "
                   "selection is not reproduced"),
        Ingredient("class text", "the class name", "text_style=name (the readable name, or the descriptions "
                   "file's cleaned name)", True, CLIP_PAPER),
        Ingredient("prompts", "ensemble of 28 templates for Kinetics-700: mean of L2-normalised prompt embeddings, "
                   "normalised again", "templates=ensemble (default): the same 28 templates and ensembling; "
                   "templates=video or none for one prompt", True, PROMPTS),
        Ingredient("score", "logit scale x cosine, softmax over the classes", "cosine", True, CLIP_PAPER,
                   "the scale and the softmax change no ranking, and every metric here is rank-based"),
    )

    def __init__(self, weights: str = "", templates: str = "ensemble", text_style: str = "name"):
        self.weights = weights
        self.templates = templates
        self.text_style = text_style

    def validate_params(self) -> None:
        super().validate_params()

        if self.templates not in TEMPLATE_SETS:
            raise ParamError(f"--method-args {self.name}.templates={self.templates}: choose one of "
                             f"{', '.join(TEMPLATE_SETS)}")
        if not isinstance(self.weights, str):
            raise ParamError(f"--method-args {self.name}.weights={self.weights}: a checkpoint folder or hub id, "
                             "or empty for the feature set's own CLIP model")

    @classmethod
    def check_available(cls, params) -> Optional[str]:
        """A given ``weights`` (folder or hub id) must be here or downloadable; empty (the features' own model) is
        checked with the feature set, at planning (``feature_model``) and at fit."""
        why = super().check_available(params)
        w = params.get("weights")
        if why is None and isinstance(w, str) and w:
            why = weights_unavailable(w, "clip")
            if why:
                return unavailable_message(cls.name, "weights", w, why + "; or leave weights empty for the feature "
                                           "set's own CLIP model")
        return why

    # -- the CLIP text tower of the features' model ------------------------------------------------
    def _load(self, data: FitData, ctx: FitContext) -> None:
        self.device_ = ctx.device
        self.text_ = clip_text_encoder(self.weights, data.model, self.name, max_length=MAX_LENGTH, device=ctx.device)
        self.model_key_ = self.text_.encoder.key
        self._class_memo: dict[str, np.ndarray] = {}

    def _class_embeddings(self, classes: Sequence[ClassInfo]) -> np.ndarray:
        """[C, D] prompt-ensembled class embeddings, memoised per class text in this process."""
        texts = class_texts(classes, self.text_style)
        missing = [t for t in dict.fromkeys(texts) if t not in self._class_memo]
        if missing:
            self._class_memo.update(zip(missing, prompt_ensemble(self.text_, missing, template_set(self.templates))))
        if not texts:
            return np.zeros((0, self.text_.dim), np.float32)
        return np.stack([self._class_memo[t] for t in texts])

    def _video(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1)  # stored as float16: normalise again

    def _classes(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(z, dim=-1)

    def fit(self, data: FitData, ctx: FitContext) -> "ClipZeroShot":
        self._load(data, ctx)
        dim = data.train.videos.features.shape[1]
        if dim != self.text_.dim:
            raise ValueError(f"{self.name}: the features have dimension {dim}, but CLIP {self.model_key_} embeds in "
                             f"{self.text_.dim} dimensions; are these the model's video embeddings?")
        ctx.info["selected_on"] = "no training"
        return self

    @torch.no_grad()
    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        dev = self.device_
        z = self._classes(torch.as_tensor(self._class_embeddings(classes), device=dev))
        out = []
        for i in range(0, len(videos), 4096):
            x = torch.as_tensor(np.ascontiguousarray(videos.features[i:i + 4096]), dtype=torch.float32, device=dev)
            out.append((self._video(x) @ z.T).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(classes)), np.float32)


def logit_scale_of(enc) -> float:
    """exp(logit_scale) of the loaded CLIP (100 for OpenAI's checkpoints)."""
    return float(enc.encoder.bundle.model.logit_scale.detach().float().exp().cpu())


__all__ = ["ClipZeroShot", "prompt_ensemble", "logit_scale_of", "template_set", "CLIP_PAPER", "PROMPTS"]
