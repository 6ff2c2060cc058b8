"""CSV: ``leaderboard.csv``, one line per row of every table at full precision (the summary's columns: counts,
means and stds in %, significance, interval), then every published reference number (``published`` true, with
its source)."""
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
    path = reports_dir / "leaderboard.csv"
    pd.concat([report.summary.assign(published=False), pub], ignore_index=True).to_csv(path, index=False,
                                                                                     float_format="%.4f")
    return [path]
