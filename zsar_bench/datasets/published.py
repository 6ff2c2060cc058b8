"""Published reference numbers, read from the dataset specs (``published`` in each ``dataset.json``), in the
shapes the leaderboards use (``reports/tables.py``): real-feature numbers shown as marked rows, never averaged
with anything run here. Datasets in name order; within a dataset, the spec's order."""
from __future__ import annotations

from .catalog import DATASETS


def _specs():
    return [(n, DATASETS.get(n).spec.published) for n in DATASETS.names()]


def published_zsl() -> list[dict]:
    """[{"method", "dataset", "protocol", "top1": (mean, std)[, "top5"], "source", "note", "inputs"}]"""
    out = []
    for name, pub in _specs():
        for p in pub.zsl:
            row = {"method": p.method, "dataset": name, "protocol": p.protocol, "top1": tuple(p.top1)}
            if p.top5 is not None:
                row["top5"] = tuple(p.top5)
            out.append(dict(row, source=p.source, note=p.note, inputs=p.inputs))
    return out


def published_fewshot() -> dict[tuple[str, str], dict]:
    """(dataset, protocol) -> {"source": ..., "results": {K: ((top-1 mean, std), (top-5 mean, std))}}"""
    return {(name, pub.fewshot.protocol): {"source": pub.fewshot.source,
                                           "results": {r.k: (tuple(r.top1), tuple(r.top5))
                                                       for r in pub.fewshot.results}}
            for name, pub in _specs() if pub.fewshot is not None}


def published_other_backbones() -> dict[str, dict]:
    """dataset -> {"title", "protocol", "backbone", "results": [{"method", "top1": (mean, std), "source"}]}"""
    return {name: {"title": o.title, "protocol": o.protocol, "backbone": o.backbone,
                   "results": [{"method": r.method, "top1": tuple(r.top1), "source": r.source} for r in o.results]}
            for name, pub in _specs() if (o := pub.other_backbones) is not None}
