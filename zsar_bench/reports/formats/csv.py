"""CSV: ``leaderboard.csv``, one line per row of every table at full precision (the summary's columns: counts,
means and stds in %, significance, interval): every current table's rows in the pages' order, then the historical
ones (``historical`` true: an earlier synthetic generator, the history pages' tables), then every published
reference number (``published`` true, with its source)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import register

if TYPE_CHECKING:
    from ..model import Report


def index(report: "Report", written: list[Path]) -> list[str]:
    return ["- [leaderboard.csv](leaderboard.csv): every row above, machine-readable"] if written else []


@register("csv", help="leaderboard.csv, every table row at full precision and the published numbers", index=index,
          order=20)
def write_csv(report: "Report", reports_dir: Path) -> list[Path]:
    if report.summary.empty:
        return []
    import pandas as pd

    pub = pd.DataFrame([{"dataset": p["dataset"], "protocol": p["protocol"], "method": p["method"],
                         "published": True, "source": p["source"],
                         **{f"{m}_mean": ms[0] for m, ms in p["values"].items()},
                         **{f"{m}_std": ms[1] for m, ms in p["values"].items()}} for p in report.published])
    from ..model import is_historical

    # each summary row at its table's place in the pages (a few-shot table holds the rows of every K); current first
    place = {(t.dataset, t.features_id, t.protocol, t.split_hash, t.kind): i for i, t in enumerate(report.tables)}
    s = report.summary
    kind = ["fewshot" if str(m).startswith("fewshot-") else "gzsl" if m == "gzsl" else "zsl" for m in s["mode"]]
    order = [place.get(k, len(place)) for k in zip(s["dataset"], s["features_id"], s["protocol"], s["split_hash"],
                                                    kind)]
    rows = (s.assign(historical=[is_historical(f) for f in s["features_id"]], published=False, _order=order)
            .reset_index(drop=True).reset_index().sort_values(["historical", "_order", "index"], kind="stable")
            .drop(columns=["_order", "index"]))
    path = reports_dir / "leaderboard.csv"
    pd.concat([rows, pub.assign(historical=False)], ignore_index=True).to_csv(path, index=False,
                                                                               float_format="%.4f")
    return [path]
