"""A reusable method skeleton: map video features linearly into a fixed class-embedding space and
train with a contrastive cross-entropy over the seen classes (cosine scores / temperature).

Subclasses say how classes become vectors (``class_embeddings``); ``label`` and ``w2v`` are this.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..method import FitContext, Method
from ..types import ClassInfo, FitData, Videos


def to_tensor(x: np.ndarray, device: str, dtype=torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=device)


class ProjectionMethod(Method):
    lr: float
    epochs: int
    batch_size: int
    temperature: float
    weight_decay: float

    def class_embeddings(self, classes: Sequence[ClassInfo]) -> np.ndarray:
        raise NotImplementedError

    def fit(self, data: FitData, ctx: FitContext) -> "ProjectionMethod":
        dev = ctx.device
        ctx.rewind_rng()  # the run's seeded state (seeded here only for a fit called outside the harness)
        cls_emb = F.normalize(to_tensor(self.class_embeddings(data.train.classes), dev), dim=-1)
        x = to_tensor(data.train.videos.features, dev)
        y = torch.as_tensor(data.train.labels, device=dev)
        self.mean_ = x.mean(0, keepdim=True)
        self.device_ = dev
        self.proj_ = torch.nn.Linear(x.shape[1], cls_emb.shape[1]).to(dev)

        def step(idx: torch.Tensor) -> torch.Tensor:
            v = F.normalize(self.proj_(x[idx] - self.mean_), dim=-1)
            return F.cross_entropy(v @ cls_emb.T / self.temperature, y[idx])

        ctx.trainer(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                    weight_decay=self.weight_decay).fit(self, self.proj_, len(y), step)
        return self

    @torch.no_grad()
    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        dev = self.device_
        cls_emb = F.normalize(to_tensor(self.class_embeddings(classes), dev), dim=-1)
        out = []
        for i in range(0, len(videos), 4096):
            v = F.normalize(self.proj_(to_tensor(videos.features[i:i + 4096], dev) - self.mean_), dim=-1)
            out.append((v @ cls_emb.T).float().cpu().numpy())
        return np.concatenate(out)
