"""LaTeX leaderboards: ``<reports_dir>/latex/<dataset>.tex``, one booktabs ``table`` per leaderboard table.

The tables are a ``model.Report``'s (the rows every format shows); cells are mean ± sample std in % as
``$40.0 \\pm 10.0$``, the best row's primary metric in bold, rows not significantly worse than the best
marked $\\approx$ (the caption says so and names the test), published reference rows after a rule and
marked \\dag / \\ddag. Needs ``\\usepackage{booktabs}`` in the including document.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from . import register

if TYPE_CHECKING:
    from ..model import Report, Row, Table

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$", ">": r"$>$",
            "|": r"\textbar{}", "·": r"$\cdot$", "±": r"$\pm$", "×": r"$\times$", "≈": r"$\approx$",
            "★": r"$\star$", "†": r"\dag{}", "‡": r"\ddag{}", "–": "--", "—": "---", "⁺": r"$^{+}$", "’": "'",
            "“": "``", "”": "''"}
_SPECIAL_RE = re.compile("|".join(re.escape(k) for k in _SPECIAL))


def escape(text: object) -> str:
    """``text`` as LaTeX text: the ten special characters and the few non-ASCII marks the tables use."""
    return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group(0)], str(text))


def _pm(mean, std, bold: bool = False) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "--"
    body = f"{mean:.1f} \\pm {std:.1f}"
    return f"$\\mathbf{{{body}}}$" if bold else f"${body}$"


def _method(t: "Table", r: "Row") -> str:
    # "ER (published) †" -> escaped, with the dagger as a superscript mark
    name = escape(r.label.removesuffix(f" {r.note_mark}") if r.note_mark else r.label)
    if r.published:
        name += r"\textsuperscript{\ddag}" if r.note_mark == "‡" else r"\textsuperscript{\dag}"
    if r.tied and t.kind != "fewshot":
        name = r"$\approx$\," + name
    return name


def _caption(t: "Table") -> str:
    from ...stats import TEST_NOTE
    from ..model import SANITY_NOTE
    from ..tables import DDOF

    first = dict(t.metrics)[t.primary]
    cap = (f"{escape(t.title)}. Mean $\\pm$ sample standard deviation (ddof={DDOF}) in \\%, over all folds "
           "$\\times$ seeds of the protocol; Runs = done/expected, a row with missing runs has empty cells (--). ")
    if t.kind == "fewshot":
        cap += (f"Few-shot: fit on K clips of each test class. \\textbf{{Bold}}: the best {escape(first)} of each K. ")
    else:
        cap += (f"\\textbf{{Bold}}: the best row's {escape(first)}; $\\approx$: not significantly worse than the best "
                f"({escape(TEST_NOTE)}); unmarked rows are significantly worse. $p$ vs best: that Holm-adjusted "
                f"$p$-value; 95\\% CI: t interval of the mean {escape(first)}. ")
        if t.kind == "gzsl":
            cap += "Generalised ZSL: U/S = mean class accuracy on unseen / held-out seen clips, H their harmonic mean. "
    if any(r.published for r in t.rows):
        cap += ("\\dag, \\ddag: published reference rows, not run here (real features: not comparable with "
                "synthetic rows). ")
    if any(r.method in SANITY_NOTE for r in t.rows):
        cap += "(sanity): a method that learns nothing (README, sanity rows). "
    if t.synthetic:
        cap += "Features: the embedded synthetic set, not for claims about real videos."
    return cap.strip()


def render_latex_table(t: "Table") -> str:
    """One booktabs ``table`` environment for ``t``."""
    fs = t.kind == "fewshot"
    cols = (["Method", "Config"] + (["K"] if fs else []) + ["Runs"] + [lab for _, lab in t.metrics]
            + ([] if fs else [f"{dict(t.metrics)[t.primary]} 95\\% CI", "$p$ vs best"]) + ["Train s/fold"])
    align = "ll" + ("r" if fs else "") + "r" + "r" * len(t.metrics) + ("" if fs else "cr") + "r"
    runs, ci, p, secs = t.col("runs"), t.col("ci"), t.col("p"), t.col("seconds")

    def line(r: "Row") -> str:
        cells = [_method(t, r), escape(r.config)] + ([escape(r.k)] if fs else []) + [escape(r.cells[runs].text) or ""]
        for m, _ in t.metrics:
            mean, std = t.value(r, m)
            cells.append(_pm(mean, std, bold=r.best and m == t.primary and not r.published))
        if not fs:
            cells += [escape(r.cells[ci].text) if r.cells[ci].text else "", escape(r.cells[p].text)]
        cells.append(escape(r.cells[secs].text))
        return "    " + " & ".join(cells) + r" \\"

    own = [line(r) for r in t.rows if not r.published]
    pub = [line(r) for r in t.rows if r.published]
    body = ["\\begin{table}[htbp]", "  \\centering", "  \\small", f"  \\caption{{{_caption(t)}}}",
            f"  \\label{{tab:{t.slug}}}", f"  \\begin{{tabular}}{{{align}}}", "    \\toprule",
            "    " + " & ".join(escape(c) if "$" not in c and "\\%" not in c else c for c in cols) + r" \\",
            "    \\midrule", *own]
    if pub:
        body += ["    \\midrule", *pub]
    body += ["    \\bottomrule", "  \\end{tabular}", "\\end{table}"]
    notes = [f"% {n}" for n in t.notes]
    return "\n".join(body + notes)


def index(report: "Report", written: list[Path]) -> list[str]:
    return ["- `latex/<dataset>.tex`: the same tables in LaTeX (booktabs)"] if report.tables else []


@register("latex", help="latex/<dataset>.tex, booktabs tables", index=index, order=40)
def write_latex(report: "Report", reports_dir: Path) -> list[Path]:
    """``<reports_dir>/latex/<dataset>.tex`` for every dataset of the report; .tex files of datasets that went
    away are removed. Returns the files written (none, and nothing touched, when the report has no tables)."""
    if not report.tables:
        return []
    out = Path(reports_dir) / "latex"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for ds in report.datasets:
        parts = [f"% {ds} leaderboards (zsar-bench). {report.generated}", "% Needs \\usepackage{booktabs}.", ""]
        for t in (t for t in report.tables_of(ds) if t.kind != "reference"):  # references: cite them
            parts += [f"% {t.title}", render_latex_table(t), ""]
        p = out / f"{ds}.tex"
        p.write_text("\n".join(parts), encoding="utf-8")
        written.append(p)
    for stale in out.glob("*.tex"):
        if stale not in written:
            stale.unlink()
    return written
