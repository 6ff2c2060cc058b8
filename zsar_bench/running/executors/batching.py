"""The batching rule (package docstring): how many runs share one job, from the run times the records measured."""
from __future__ import annotations

import math
import statistics
from typing import Iterable, Optional


def measured_run_seconds(records: Iterable[dict]) -> dict[tuple[str, str], float]:
    """(method, dataset) -> median ``train_s + eval_s`` over those records (the batching rule's ``t``)."""
    times: dict[tuple[str, str], list[float]] = {}
    for r in records:
        try:
            t = float(r.get("train_s") or 0) + float(r.get("eval_s") or 0)
        except (TypeError, ValueError):
            continue
        if t > 0 and isinstance(r.get("method"), str) and isinstance(r.get("dataset"), str):
            times.setdefault((r["method"], r["dataset"]), []).append(t)
    return {k: float(statistics.median(v)) for k, v in times.items()}


def runs_per_job(per_run_s: Optional[float], target_s: float, n_runs: int,
                 time_limit_s: Optional[float] = None, override: Optional[int] = None) -> int:
    """Runs in one job: ``override``; else ``ceil(target_s / per_run_s)`` (1 when ``per_run_s`` is unknown or
    the target is 0), capped to what fits in half of ``time_limit_s`` and to ``n_runs``; at least 1."""
    if override:
        return max(1, int(override))
    if not per_run_s or per_run_s <= 0 or target_s <= 0:
        return 1
    k = math.ceil(target_s / per_run_s)
    if time_limit_s:
        k = min(k, int(0.5 * time_limit_s // per_run_s))
    return max(1, min(k, max(1, n_runs)))
