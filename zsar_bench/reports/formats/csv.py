"""CSV: ``leaderboard.csv``, one line per row of every table at full precision (the summary's columns: counts,
means and stds in %, significance, interval): every current table's rows in the pages' order, then the historical
ones (``historical`` true: an earlier synthetic generator, the history pages' tables), then every published
reference number (``published`` true, with its source). ``config_diff`` names how a row's configuration differs
from its method's defaults (empty for the defaults); ``note`` says "partial n/N" for a row whose means cover n of
the protocol's N folds (``report --partial``), and, for a registered method not run on a current table (a line
without numbers) or a row missing runs, why or about how long the runs would take (an estimate; the Markdown
table's note says how it is made)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ...literature import load_literature
from . import register

if TYPE_CHECKING:
    import pandas as pd

    from ..model import Report


def index(report: "Report", written: list[Path]) -> list[str]:
    out = ["- [leaderboard.csv](leaderboard.csv): every row above, machine-readable"] if written else []
    if any(Path(p).name == "literature.csv" for p in written):
        out.append("- [literature.csv](literature.csv): the published results with their protocol tags and sources")
    return out


def write_literature_csv(path: Path) -> Path:
    """``literature.csv``: a line per literature row: method, dataset, top-1/top-5 mean and std, every protocol tag,
    the harness protocol it is shown on (if any), where the number can be checked, the note."""
    import pandas as pd

    lit = load_literature()
    rows = []
    for r in lit.rows:
        p = r.protocol
        vals = {f"{m}_{k}": v for m in ("top1", "top5") if (ms := r.mean_std(m)) is not None
                for k, v in zip(("mean", "std"), ms)}
        rows.append({"method": r.method, "dataset": r.dataset, **vals, "class_split": p.class_split,
                     "folds": p.folds, "backbone": p.backbone, "pretraining": "+".join(p.pretraining),
                     "class_text": p.class_text, "overlap_removed": p.overlap_removed,
                     "harness_protocol": lit.harness_protocol(r) or "", "source": lit.cite(r), "note": r.note})
    cols = ["method", "dataset", "top1_mean", "top1_std", "top5_mean", "top5_std", "class_split", "folds",
            "backbone", "pretraining", "class_text", "overlap_removed", "harness_protocol", "source", "note"]
    pd.DataFrame(rows).reindex(columns=cols).to_csv(path, index=False)
    return path


@register("csv", help="leaderboard.csv, every table row at full precision and the published numbers; "
          "literature.csv, the published results with their protocol tags and sources", index=index,
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
    rows = pd.concat([s.assign(historical=[is_historical(f) for f in s["features_id"]], published=False,
                               _order=order, note=_notes(report, s)), _not_run_rows(report)], ignore_index=True)
    rows = (rows.reset_index(drop=True).reset_index().sort_values(["historical", "_order", "index"], kind="stable")
            .drop(columns=["_order", "index"]))
    path = reports_dir / "leaderboard.csv"
    pd.concat([rows, pub.assign(historical=False)], ignore_index=True).to_csv(path, index=False,
                                                                               float_format="%.4f")
    return [path, write_literature_csv(reports_dir / "literature.csv")]


def _not_run_rows(report: "Report") -> "Optional[pd.DataFrame]":
    """The rows of the tables' methods not run there (``model.add_not_run_rows``): ``note`` says why, or about how
    long they would take; no numbers. Each at its table's place, after the table's own rows (None: there are
    none)."""
    import pandas as pd

    out = [{"dataset": t.dataset, "features_id": t.features_id, "protocol": t.protocol, "split_hash": t.split_hash,
            "mode": r.mode, "method": r.method, "n_runs": 0, "n_expected": r.n_expected, "complete": False,
            "note": r.not_run, "historical": t.historical, "published": False, "_order": i}
           for i, t in enumerate(report.tables) for r in t.not_run]
    return pd.DataFrame(out) if out else None


def _notes(report: "Report", s: "pd.DataFrame") -> list:
    """The summary's ``note`` column, with what the tables say of a row that lacks runs ("incomplete: ...")."""
    said = {(t.dataset, t.features_id, t.protocol, t.split_hash, r.mode, r.method, r.config): r.not_run
            for t in report.tables for r in t.rows if r.not_run and r.cells[t.col("runs")].value}
    keys = zip(s["dataset"], s["features_id"], s["protocol"], s["split_hash"], s["mode"], s["method"],
               s["config_hash"])
    notes = s["note"] if "note" in s else [""] * len(s)
    return [said.get(k) or n for k, n in zip(keys, notes)]
