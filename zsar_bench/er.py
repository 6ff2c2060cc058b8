"""Elaborative Rehearsal (Chen and Huang, ICCV 2021), written for this harness.

Video: spatio-temporal stream Linear(2048 -> 512) + L2 norm; object stream = the clip's top-5
concepts as "lemma: definition" texts joined and encoded by the class text encoder, Linear -> 512,
L2 norm. Fusion: two sigmoid gates, each MLP(1024 -> 512 -> 512) on [v; o]; v' = norm(g_v * v),
o' = norm(g_o * o). Class: text encoder over "name: description", mean pooling, dropout 0.5,
Linear(hidden -> 512), L2 norm. Score s = v'.z + max(o'.z, 0).
Action loss: CE(s/t) + CE(v'.z/t) + CE(o'.z/t) over the seen classes, t = 0.1.
ER loss: candidates = the union of the batch clips' top-5 concepts, encoded as texts; a clip's own
concepts are its positives; -mean over positives of log_softmax(scores/t), for the fused,
action-only and object-only scores, summed; weight 1.

Two text towers: ``frozen`` (the harness's shared encoder, every text embedded once and cached)
and ``partial`` (ER's published setting: top layers fine-tuned, frozen prefix cached; see
``text/partial.py``).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .method import FitContext, Method
from .text.styles import class_texts
from .types import ClassInfo, ConceptVocabulary, FitData, Videos

N_OBJECTS = 5
CONCEPT_SEP = "; "


def object_texts(concepts: ConceptVocabulary, ids: np.ndarray, k: int = N_OBJECTS) -> list[str]:
    """One text per clip: its top-k concepts as "lemma: definition", joined."""
    vocab = concepts.texts()
    return [CONCEPT_SEP.join(vocab[j] for j in row[:k]) for row in ids]


class ERNet(nn.Module):
    def __init__(self, feat_dim: int, text_dim: int, dim: int = 512, use_video: bool = True, use_objects: bool = True,
                 text_dropout: float = 0.5, tower: Optional[nn.Module] = None):
        super().__init__()
        self.use_video, self.use_objects = use_video, use_objects
        self.text_fc = nn.Linear(text_dim, dim)
        self.text_drop = nn.Dropout(text_dropout)
        if use_video:
            self.video_fc = nn.Linear(feat_dim, dim)
        if use_objects:
            self.obj_fc = nn.Linear(text_dim, dim)
        if use_video and use_objects:
            self.gate_v = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, dim))
            self.gate_o = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.tower = tower  # trainable text encoder (partial fine-tuning) or None (frozen embeddings)

    def text(self, emb: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_fc(self.text_drop(emb)), dim=-1)

    def video(self, x: Optional[torch.Tensor], obj: Optional[torch.Tensor]):
        v = F.normalize(self.video_fc(x), dim=-1) if self.use_video else None
        o = F.normalize(self.obj_fc(obj), dim=-1) if self.use_objects else None
        if v is not None and o is not None:
            vo = torch.cat([v, o], -1)
            v, o = F.normalize(torch.sigmoid(self.gate_v(vo)) * v, dim=-1), F.normalize(torch.sigmoid(self.gate_o(vo)) * o, dim=-1)
        return v, o

    @staticmethod
    def scores(v, o, z) -> dict[str, torch.Tensor]:
        out = {}
        if v is not None:
            out["video"] = v @ z.T
        if o is not None:
            out["object"] = o @ z.T
        if v is not None and o is not None:
            out["fused"] = out["video"] + out["object"].clamp(min=0)
        return out

    @staticmethod
    def final(scores: dict[str, torch.Tensor]) -> torch.Tensor:
        return scores.get("fused", scores.get("video", scores.get("object")))


class ElaborativeRehearsal(Method):
    """ER and its ablations; see the module docstring. ``tower``: frozen | partial."""

    summary = "Elaborative Rehearsal (ICCV 2021): ED class texts, video + object streams, gated fusion, ER loss"
    test_params = {"epochs": "4", "batch_size": "64"}

    def __init__(self, text_encoder: str = "minilm", tower: str = "frozen", trainable_layers: int = 2,
                 text_style: str = "name: description", use_video: bool = True, use_objects: bool = True,
                 er_loss: bool = True, er_weight: float = 1.0, dim: int = 512, temperature: float = 0.1,
                 lr: float = 1e-3, epochs: int = 10, batch_size: int = 128, weight_decay: float = 1e-4,
                 warmup_epochs: float = 1.0, grad_clip: float = 10.0, max_length: int = 128):
        self.text_encoder = text_encoder
        self.tower = tower
        self.trainable_layers = trainable_layers
        self.text_style = text_style
        self.use_video = use_video
        self.use_objects = use_objects
        self.er_loss = er_loss
        self.er_weight = er_weight
        self.dim = dim
        self.temperature = temperature
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.grad_clip = grad_clip
        self.max_length = max_length

    @property
    def needs_concepts(self) -> bool:  # type: ignore[override]
        return self.use_objects or self.er_loss

    # -- text embeddings ---------------------------------------------------------------------------
    def _embed(self, texts: Sequence[str], grad: bool = False) -> torch.Tensor:
        """[n, hidden] text embeddings from the frozen cache or the partial tower."""
        if self.tower == "frozen":
            from .text.encoders import get_text_encoder

            enc = get_text_encoder(self.text_encoder, max_length=self.max_length)
            return torch.as_tensor(enc.encode(list(texts)), device=self.device_)
        ids = self.net_.tower.register(texts).to(self.device_)
        if grad:
            return self.net_.tower(ids)
        with torch.no_grad():
            return self.net_.tower(ids)

    def _check_concepts(self, videos: Videos) -> None:
        if (self.use_objects or self.er_loss) and (videos.concept_ids is None or self.concepts_ is None):
            raise ValueError(f"{self.name}: needs object concept detections; this feature set has none")

    # -- fit ---------------------------------------------------------------------------------------
    def fit(self, data: FitData, ctx: FitContext) -> "ElaborativeRehearsal":
        if self.tower not in ("frozen", "partial"):
            raise ValueError(f"tower must be 'frozen' or 'partial', got {self.tower!r}")
        ctx.seed_everything()
        self.device_ = dev = ctx.device
        self.concepts_ = data.concepts
        train = data.train
        self._check_concepts(train.videos)
        tower = None
        if self.tower == "partial":
            from .text.partial import PartialFineTuneEncoder

            tower = PartialFineTuneEncoder(self.text_encoder, self.trainable_layers, self.max_length)
            text_dim = tower.hidden_size
        else:
            from .text.encoders import get_text_encoder

            text_dim = get_text_encoder(self.text_encoder, max_length=self.max_length).dim
        self.net_ = ERNet(train.videos.features.shape[1], text_dim, self.dim, self.use_video, self.use_objects,
                          tower=tower).to(dev)
        t = self.temperature
        y = torch.as_tensor(train.labels, device=dev)
        x = torch.as_tensor(train.videos.features, dtype=torch.float32, device=dev) if self.use_video else None
        cls_texts = class_texts(train.classes, self.text_style)
        uses_concepts = self.use_objects or self.er_loss
        cids = torch.as_tensor(train.videos.concept_ids[:, :N_OBJECTS].astype(np.int64), device=dev) if uses_concepts else None
        obj_txt = object_texts(self.concepts_, train.videos.concept_ids) if self.use_objects else None
        concept_txt = self.concepts_.texts() if self.er_loss else None
        frozen = self.tower == "frozen"
        if frozen:  # every text has a fixed embedding: encode once (disk-cached), index per step
            cls_emb = self._embed(cls_texts)
            obj_emb = self._embed(obj_txt) if obj_txt else None
            con_emb = self._embed(concept_txt) if concept_txt else None
        else:
            tw = self.net_.tower
            cls_ids = tw.register(cls_texts)
            obj_ids = tw.register(obj_txt) if obj_txt else None
            con_ids = tw.register(concept_txt) if concept_txt else None
            tw.precompute()

        def step(idx: torch.Tensor) -> torch.Tensor:
            net = self.net_
            if frozen:
                z = net.text(cls_emb)
                o_in = obj_emb[idx] if obj_emb is not None else None
            else:
                z = net.text(net.tower(cls_ids.to(dev)))
                o_in = net.tower(obj_ids[idx.cpu()].to(dev)) if obj_ids is not None else None
            v, o = net.video(x[idx] if x is not None else None, o_in)
            sc = net.scores(v, o, z)
            loss = sum(F.cross_entropy(s / t, y[idx]) for s in sc.values())
            if self.er_loss:
                batch_c = cids[idx]  # [B, 5]
                cand, inverse = torch.unique(batch_c, return_inverse=True)
                c_emb = con_emb[cand] if frozen else net.tower(con_ids[cand.cpu()].to(dev))
                c = net.text(c_emb)
                pos = torch.zeros(len(idx), len(cand), device=dev)
                pos.scatter_(1, inverse, 1.0)
                for s in net.scores(v, o, c).values():
                    logp = F.log_softmax(s / t, dim=1)
                    loss = loss + self.er_weight * (-(logp * pos).sum() / pos.sum())
            return loss

        tr = ctx.trainer(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                         warmup_epochs=self.warmup_epochs, warmup="exponential", grad_clip=self.grad_clip)
        tr.fit(self, self.net_, len(y), step)
        return self

    # -- score -------------------------------------------------------------------------------------
    @torch.no_grad()
    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        self._check_concepts(videos)
        net = self.net_
        was_training = net.training
        net.eval()
        z = net.text(self._embed(class_texts(classes, self.text_style)))
        out = []
        step = 2048 if self.tower == "frozen" else 256
        for i in range(0, len(videos), step):
            sl = slice(i, i + step)
            x = torch.as_tensor(videos.features[sl], dtype=torch.float32, device=self.device_) if self.use_video else None
            o = self._embed(object_texts(self.concepts_, videos.concept_ids[sl])) if self.use_objects else None
            v, o = net.video(x, o)
            out.append(net.final(net.scores(v, o, z)).float().cpu().numpy())
        net.train(was_training)
        return np.concatenate(out)
