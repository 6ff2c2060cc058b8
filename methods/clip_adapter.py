"""``clip-adapter``: a residual feature adapter on CLIP video embeddings, after CLIP-Adapter (Gao et al.,
"CLIP-Adapter: Better Vision-Language Models with Feature Adapters", IJCV 2023; release
gaopengcuhk/CLIP-Adapter ``clip_adapter.py``), trained on the seen classes.

Video side: v' = normalize(v + W_up(ReLU(W_down(v)))), W_down: D -> ``hidden`` (0 = D // 4, the release's
reduction 4), W_up: ``hidden`` -> D, **zero-initialised** (weight and bias), so before the first step the
method scores exactly as ``clip`` with the same ``weights``/``templates``/``text_style`` (tested).
Optional text side (``text_adapter=true``): z' = normalize(z + W_t z), W_t: D -> D zero-initialised too.
Class embeddings z are ``clip``'s (CLIP's own text tower, prompt-ensembled, frozen and cached).
Loss: softmax cross-entropy over the seen classes of ``logit_scale`` x cosine, ``logit_scale=0`` meaning
CLIP's learned exp(logit_scale) (100 for OpenAI's checkpoints). Training goes through the common trainer
(Adam, warmup + cosine, grad clip 10); the harness does model selection on validation classes where a
protocol has them, else the final epoch of the fixed schedule is kept.

Same model checks as ``clip``: a feature set without a recorded CLIP model, or a ``weights`` whose identity
key differs from the features', is refused.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zsar_bench import register_method
from zsar_bench.method import FitContext, Ingredient, ParamError
from zsar_bench.models.clip import PROMPTS, ClipZeroShot, logit_scale_of
from zsar_bench.types import ClassInfo, FitData

RELEASE = "gaopengcuhk/CLIP-Adapter clip_adapter.py (Adapter, CustomCLIP)"
PAPER = "Gao et al., CLIP-Adapter (arXiv 2110.04544, IJCV 2023)"


class ResidualAdapter(nn.Module):
    """v' = normalize(v + up(relu(down(v)))), up zero-initialised; optional z' = normalize(z + text(z))."""

    def __init__(self, dim: int, hidden: int, text_adapter: bool = False):
        super().__init__()
        self.down = nn.Linear(dim, hidden)
        self.up = nn.Linear(hidden, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)
        self.text = nn.Linear(dim, dim) if text_adapter else None
        if self.text is not None:
            nn.init.zeros_(self.text.weight)
            nn.init.zeros_(self.text.bias)

    def video(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x + self.up(F.relu(self.down(x))), dim=-1)

    def classes(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(z + self.text(z) if self.text is not None else z, dim=-1)


@register_method("clip-adapter")
class ClipAdapter(ClipZeroShot):
    summary = ("CLIP-Adapter on CLIP video embeddings: zero-initialised residual bottleneck (ReLU), contrastive CE "
               "over the seen classes at CLIP's logit scale")
    learns = True
    feature_model = "clip"
    test_params = {"epochs": "10", "lr": "5e-2", "batch_size": "32", "hidden": "16"}  # a tiny random CLIP
    fidelity = (
        Ingredient("model", "CLIP image and text towers, frozen", "the feature set's CLIP checkpoint (identity key "
                   "matched as in clip), both towers frozen; video embeddings precomputed", True, RELEASE),
        Ingredient("adapter", "Linear(D, D/4, no bias), ReLU, Linear(D/4, D, no bias), ReLU on the image feature; "
                   "residual blend 0.2 A(f) + 0.8 f, then L2", "v' = L2(v + W_up ReLU(W_down v)), with biases, no "
                   "second ReLU, W_up zero-initialised, no fixed ratio", False, RELEASE,
                   "the zero-initialised residual makes step 0 exactly zero-shot CLIP (tested) and lets the "
                   "learned W_up set the blend that the ratio fixes; a final ReLU would keep the residual in the "
                   "positive orthant"),
        Ingredient("bottleneck width", "D / 4 (reduction 4)", "hidden=0 (default): D // 4", True, RELEASE),
        Ingredient("text adapter", "visual adapter in the released setting; a text-side adapter is an ablation",
                   "off by default; text_adapter=true adds z' = L2(z + W_t z), W_t zero-initialised", True, PAPER),
        Ingredient("class text", "one hand-written template per dataset (UCF101: 'a photo of a person doing {}.')",
                   "clip's prompts: templates=ensemble (CLIP's 28 Kinetics-700 templates) by default; "
                   "templates=video or none for one", False, f"{RELEASE} (CUSTOM_TEMPLATES); {PROMPTS}",
                   "the adapter starts from the harness's zero-shot clip row, whatever its prompts"),
        Ingredient("loss", "cross-entropy of exp(logit_scale) x cosine over the classes", "same, over the seen "
                   "classes (logit_scale=0: CLIP's own scale)", True, RELEASE),
        Ingredient("training data", "few-shot (1-16 shots) labelled images of the target classes",
                   "every training clip of the seen classes; unseen classes are never trained on (zsl); "
                   "--fewshot K gives the few-shot setting", False, PAPER,
                   "zero-shot protocols: the adapter must transfer to classes it never saw"),
        Ingredient("optimiser", "set by the release's Dassl configs (not in clip_adapter.py)",
                   "the harness's trainer: Adam lr 1e-3, batch 128, 10 epochs, weight decay 1e-4, 1 epoch linear "
                   "warmup, cosine, grad clip 10; best epoch on validation classes where the protocol has them",
                   False, RELEASE, "the common trainer of every trained method here"),
    )

    def __init__(self, weights: str = "", templates: str = "ensemble", text_style: str = "name", hidden: int = 0,
                 text_adapter: bool = False, logit_scale: float = 0.0, lr: float = 1e-3, epochs: int = 10,
                 batch_size: int = 128, weight_decay: float = 1e-4):
        super().__init__(weights, templates, text_style)
        self.hidden = hidden
        self.text_adapter = text_adapter
        self.logit_scale = logit_scale
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay

    def validate_params(self) -> None:
        super().validate_params()
        if self.hidden < 0:
            raise ParamError(f"--method-args {self.name}.hidden={self.hidden}: 0 (= dim // 4) or a positive width")
        if not np.isfinite(self.logit_scale) or self.logit_scale < 0:
            raise ParamError(f"--method-args {self.name}.logit_scale={self.logit_scale}: 0 (CLIP's own "
                             "exp(logit_scale)) or a positive multiplier of the cosines")

    # the zero-shot parts (clip) pass through the adapter
    def _video(self, x: torch.Tensor) -> torch.Tensor:
        return self.net_.video(x)

    def _classes(self, z: torch.Tensor) -> torch.Tensor:
        return self.net_.classes(z)

    def setup(self, data: FitData, ctx: FitContext) -> "ClipAdapter":
        """Load and check the model and build the adapter at its initialisation (what ``fit`` trains)."""
        ClipZeroShot.fit(self, data, ctx)
        ctx.rewind_rng()  # loading CLIP may draw (module init): the adapter starts from the run's seeded state
        dim = data.train.videos.features.shape[1]
        self.net_ = ResidualAdapter(dim, self.hidden or max(1, dim // 4), self.text_adapter).to(ctx.device)
        self.scale_ = float(self.logit_scale) or logit_scale_of(self.text_)
        return self

    def fit(self, data: FitData, ctx: FitContext) -> "ClipAdapter":
        self.setup(data, ctx)
        dev = ctx.device
        train = data.train
        x = torch.as_tensor(np.ascontiguousarray(train.videos.features), dtype=torch.float32, device=dev)
        y = torch.as_tensor(train.labels, device=dev)
        z = torch.as_tensor(self._class_embeddings(train.classes), device=dev)
        net, scale = self.net_, self.scale_

        def step(idx: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(scale * net.video(x[idx]) @ net.classes(z).T, y[idx])

        ctx.info.pop("selected_on", None)
        ctx.trainer(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                    weight_decay=self.weight_decay).fit(self, net, len(y), step)
        return self

    def score(self, videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        self.net_.eval()
        return super().score(videos, classes)
