"""Published reference numbers in the shapes the leaderboards use (``reports/model.py``): real-feature numbers
shown as marked rows, never averaged with anything run here.

Zero-shot rows come from the literature file (``zsar_bench/data/literature.yaml``, ``zsar_bench.literature``: every
row with its source and protocol tags), those whose class split equals a harness protocol, then from the specs of
datasets of your own (``published.zsl`` in a ``dataset.json``). The few-shot baselines are a spec's
``published.fewshot``. Datasets in name order; within a dataset, the file's order."""
from __future__ import annotations

from ..literature import harness_rows
from .catalog import DATASETS


def _specs():
    return [(n, DATASETS.get(n).spec.published) for n in DATASETS.names()]


def published_zsl() -> list[dict]:
    """[{"method", "dataset", "protocol", "top1": (mean, std)[, "top5"], "source", "note", "inputs"}]: the
    literature rows on harness protocols, then the specs' own rows."""
    out = sorted(harness_rows(), key=lambda p: p["dataset"])
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
