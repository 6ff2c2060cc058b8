"""LaTeX leaderboards: ``<reports_dir>/latex/<dataset>.tex``, one booktabs ``table`` per leaderboard table.

The tables are a ``model.Report``'s (the rows every format shows; current tables in ``<dataset>.tex``, those of
earlier synthetic generators in ``<dataset>_history.tex``); cells are mean ± sample std in % as
``$40.0 \\pm 10.0$`` (a single run: its value alone), the best row's primary metric in bold, rows not
significantly worse than the best marked $\\approx$ (the caption says so and names the test), published
reference rows after a rule and marked \\dag / \\ddag. Every table fits an article's text width
(``TEXTWIDTH_PT``): short headings (MCA, s/fold, $p$), the configuration hash only where a method has two,
\\footnotesize with narrow column separation, \\scriptsize where ``estimated_width`` says that is needed.
Needs ``\\usepackage{booktabs}`` in the including document.
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


TEXTWIDTH_PT = 345.0  # \textwidth of LaTeX's article class (10pt, letter or A4): the narrowest common page
TABCOLSEP_PT = 3.5  # \tabcolsep set in every table (LaTeX's default is 6pt)
# the font sizes a table may use, widest first: (command, size in pt, width of Computer Modern at that size
# relative to 10pt's, per pt: the small sizes are drawn wider; cmr8's and cmr7's digits against cmr10's)
SIZES = (("footnotesize", 8.0, 1.063), ("scriptsize", 7.0, 1.138))
# Computer Modern Roman widths in em (cmr10's metrics): what ``estimated_width`` adds up
_EM = dict(zip("abcdefghijklmnopqrstuvwxyz", [.5, .556, .444, .556, .444, .306, .5, .556, .278, .306, .528, .278,
                                                .833, .556, .5, .556, .528, .392, .394, .389, .556, .528, .722, .528,
                                                .528, .444]))
_EM.update(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [.75, .708, .722, .764, .681, .653, .785, .75, .361, .514, .778, .625,
                                                .917, .75, .778, .681, .778, .736, .556, .722, .75, .75, 1.028, .75,
                                                .75, .611]))
_EM.update({c: .5 for c in "0123456789/"})
_EM.update({" ": .333, ".": .278, ",": .278, ":": .278, "-": .333, "[": .278, "]": .278, "(": .389, ")": .389,
            "'": .278, "%": .833, "*": .35, "±": .76, "≈": .95, "<": .78, "×": .76})  # math: with its spacing
# shorter column headings than the other formats' (the caption spells them out)
SHORT = {"Mean class acc": "MCA", "Train s/fold": "s/fold", "K (clips/class)": "K", "p vs best": "$p$"}


def _pm(mean, std, bold: bool = False) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "--"
    # one run has no spread: its value alone (never "± 0.0" or "± nan")
    single = std is None or (isinstance(std, float) and math.isnan(std))
    body = f"{mean:.1f}" if single else f"{mean:.1f} \\pm {std:.1f}"
    return f"$\\mathbf{{{body}}}$" if bold else f"${body}$"


def _method(t: "Table", r: "Row", several: set) -> str:
    # "ER (published) †" -> escaped, with the dagger as a superscript mark
    name = escape(r.label.removesuffix(f" {r.note_mark}") if r.note_mark else r.label)
    if r.published:
        name += r"\textsuperscript{\ddag}" if r.note_mark == "‡" else r"\textsuperscript{\dag}"
    elif r.method in several and r.config:  # two configurations of one method: tell them apart
        name += f" {{\\tiny\\texttt{{{escape(r.config)}}}}}"
    if r.config_diff and not r.published:  # how it differs from the method's defaults
        name += f" {{\\tiny\\texttt{{{escape(r.config_diff)}}}}}"
    if r.tied and t.kind != "fewshot":
        name = r"$\approx$\," + name
    return name


def _p(text: str) -> str:
    """The p-value cell: "n/a" where the test cannot speak (the caption says why)."""
    return "n/a" if text.startswith("too few") else escape(text)


def _caption(t: "Table") -> str:
    from ...measure.stats import TEST_NOTE
    from ..model import SANITY_NOTE
    from ..tables import DDOF

    first = dict(t.metrics)[t.primary]
    cap = (f"{escape(t.title)}. Mean $\\pm$ sample standard deviation (ddof={DDOF}) in \\%, over all folds "
           "$\\times$ seeds of the protocol (a single run: its value); ")
    uniform = _uniform_runs(t)
    cap += (f"every row: {uniform} runs. " if uniform else
            "Runs = done/expected, a row with missing runs has empty cells (--). ")
    if any(c.label == "Mean class acc" for c in t.columns):
        cap += "MCA: mean class accuracy. "
    if t.kind == "fewshot":
        cap += (f"Few-shot: fit on K clips of each test class. \\textbf{{Bold}}: the best {escape(first)} of each K. ")
    else:
        cap += (f"\\textbf{{Bold}}: the best row's {escape(first)}; $\\approx$: not significantly worse than the best "
                f"({escape(TEST_NOTE)}); unmarked rows are significantly worse. $p$: that Holm-adjusted "
                "$p$-value against the best row (n/a: too few paired runs for the test to reach the alpha); 95\\% "
                f"CI: t interval of the mean {escape(first)}. ")
        if t.kind == "gzsl":
            cap += "Generalised ZSL: U/S = mean class accuracy on unseen / held-out seen clips, H their harmonic mean. "
    cap += "s/fold: mean training seconds per fold. "
    if any(r.published for r in t.rows):
        cap += ("\\dag, \\ddag: published reference rows, not run here (real features: not comparable with "
                "synthetic rows). ")
    if any(r.partial for r in t.rows):
        cap += ("Runs marked partial $n$/$N$: the mean over the $n$ of the protocol's $N$ folds that ran, not "
                "comparable with complete rows. ")
    if any(r.not_run for r in t.all_rows):
        cap += ("\\textit{Not run}: no complete result of the method's current implementation here; its hours are "
                "an estimate (the method's median measured seconds per fold on other datasets, scaled by clip "
                "counts, times the folds; the notes below say how). ")
    if any(r.method in SANITY_NOTE for r in t.rows):
        cap += "(sanity): a method that learns nothing (README, sanity rows). "
    if t.synthetic:
        cap += "Features: the embedded synthetic set, not for claims about real videos."
    return cap.strip()


def _uniform_runs(t: "Table") -> str:
    """The runs (done/expected) every own row of ``t`` has, when they all have the same and are complete; ""
    otherwise. The caption then says it, and the table has no Runs column."""
    runs = t.col("runs")
    own = [r for r in t.rows if not r.published]
    texts = {r.cells[runs].text for r in own}
    if len(texts) != 1 or not all(r.complete for r in own):
        return ""
    done, _, expected = next(iter(texts)).partition("/")
    return next(iter(texts)) if done == expected and done.isdigit() else ""


def _grid(t: "Table") -> tuple[list[str], str, list[list[str]], int]:
    """(column headings, alignment, body rows as LaTeX cells, index of the first published row) of ``t``."""
    fs = t.kind == "fewshot"
    configs: dict = {}
    for r in t.rows:
        if not r.published:
            configs.setdefault(r.method, set()).add(r.config)
    several = {m for m, c in configs.items() if len(c) > 1}
    primary = dict(t.metrics)[t.primary]
    show_runs = not _uniform_runs(t)
    cols = (["Method"] + (["K"] if fs else []) + (["Runs"] if show_runs else [])
            + [escape(SHORT.get(lab, lab)) for _, lab in t.metrics]
            + ([] if fs else [f"{escape(primary)} 95\\% CI", SHORT["p vs best"]]) + [SHORT["Train s/fold"]])
    align = ("l" + ("r" if fs else "") + ("r" if show_runs else "") + "r" * len(t.metrics) + ("" if fs else "cr")
             + "r")
    runs, ci, p, secs = t.col("runs"), t.col("ci"), t.col("p"), t.col("seconds")

    def line(r: "Row") -> list[str]:
        if r.not_run:  # its text across the columns of its numbers
            return [_method(t, r, several),
                    f"\\multicolumn{{{len(cols) - 1}}}{{l}}{{\\textit{{{escape(r.not_run)}}}}}"]
        cells = ([_method(t, r, several)] + ([escape(r.k)] if fs else [])
                 + ([escape(r.cells[runs].text) or ""] if show_runs else []))
        for m, _ in t.metrics:
            mean, std = t.value(r, m)
            cells.append(_pm(mean, std, bold=r.best and m == t.primary and not r.published))
        if not fs:
            cells += [escape(r.cells[ci].text) if r.cells[ci].text else "", _p(r.cells[p].text)]
        cells.append(escape(r.cells[secs].text))
        return cells

    own = [line(r) for r in t.all_rows if not r.published]
    pub = [line(r) for r in t.all_rows if r.published]
    return cols, align, own + pub, len(own)


_MULTICOLUMN = re.compile(r"\\multicolumn\{(\d+)\}\{[^}]*\}\{(.*)\}$")


def _span(cell: str) -> int:
    """The columns a LaTeX cell spans (``\\multicolumn{n}{...}{...}``: n; any other cell: 1)."""
    m = _MULTICOLUMN.match(cell)
    return int(m.group(1)) if m else 1


def _visible(cell: str) -> str:
    """A LaTeX cell as roughly the characters it prints (commands and braces dropped, \\pm as one)."""
    m = _MULTICOLUMN.match(cell)
    if m:
        cell = m.group(2)
    cell = re.sub(r"\\textsuperscript\{[^}]*\}", "*", cell)
    cell = re.sub(r"\{\\tiny\\texttt\{([^}]*)\}\}", lambda m: "x" * int(len(m.group(1)) * 0.7), cell)
    cell = cell.replace("\\pm", "±").replace("\\approx", "≈").replace("\\,", "")
    cell = re.sub(r"\\[A-Za-z]+", "", cell)
    return re.sub(r"[{}$\\]", "", cell)


def _em(text: str) -> float:
    """The width of ``text`` in em of Computer Modern Roman (unknown characters: 0.75 em)."""
    return sum(_EM.get(c, .75) for c in text)


def estimated_width(t: "Table", size: str = "footnotesize") -> float:
    """The width (pt) of ``t``'s tabular at ``size`` (a name in ``SIZES``): ``grid_width`` of its cells."""
    cols, _, body, _ = _grid(t)
    return grid_width([cols] + body, size)


def grid_width(rows: list[list[str]], size: str = "footnotesize") -> float:
    """The width (pt) of a tabular of ``rows`` (LaTeX cells, the heading row included) at ``size``, from Computer
    Modern's character widths of the widest cell per column and the column separation: a slight overestimate
    (within a few % of pdflatex's own measure; tests/test_committed_reports.py compares them)."""
    _, pt, wider = next(x for x in SIZES if x[0] == size)
    n = max(len(r) for r in rows)
    # a cell spanning columns (\\multicolumn) widens the last of them only where it is wider than they are
    spans = [(j, _span(c), _em(_visible(c))) for r in rows for j, c in enumerate(r) if _span(c) > 1]
    n = max([n] + [j + k for j, k, _ in spans])
    widths = [max([_em(_visible(r[j])) * (1.15 if "\\mathbf" in r[j] else 1.0) for r in rows
                   if j < len(r) and _span(r[j]) == 1] or [0.0]) for j in range(n)]  # bold digits are 15% wider
    sep = 2 * TABCOLSEP_PT / (pt * wider)  # the column separation in em
    for j, k, em in spans:
        short = em - (sum(widths[j:j + k]) + sep * (k - 1))
        if short > 0:
            widths[j + k - 1] += short
    return sum(widths) * pt * wider + 2 * TABCOLSEP_PT * n


def font_size(t: "Table") -> str:
    """The largest of ``SIZES`` at which ``t`` fits ``TEXTWIDTH_PT`` (the smallest where none does)."""
    return next((name for name, _, _ in SIZES if estimated_width(t, name) <= TEXTWIDTH_PT), SIZES[-1][0])


def render_latex_table(t: "Table") -> str:
    """One booktabs ``table`` environment for ``t``, sized to fit an article's text width (``font_size``)."""
    cols, align, body, n_own = _grid(t)
    rows = ["    " + " & ".join(cells) + r" \\" for cells in body]
    out = ["\\begin{table}[htbp]", "  \\centering", f"  \\{font_size(t)}",
           f"  \\setlength{{\\tabcolsep}}{{{TABCOLSEP_PT}pt}}",
           "  \\setlength{\\belowcaptionskip}{4pt}",  # the caption above the table, not touching its rule
           f"  \\caption{{{_caption(t)}}}", f"  \\label{{tab:{t.slug}}}", f"  \\begin{{tabular}}{{{align}}}",
           "    \\toprule", "    " + " & ".join(cols) + r" \\", "    \\midrule", *rows[:n_own]]
    if rows[n_own:]:
        out += ["    \\midrule", *rows[n_own:]]
    out += ["    \\bottomrule", "  \\end{tabular}", "\\end{table}"]
    notes = [f"% {n}" for n in t.notes]
    return "\n".join(out + notes)


def index(report: "Report", written: list[Path]) -> list[str]:
    if not report.tables:
        return []
    out = ["- `latex/<dataset>.tex`: the same tables in LaTeX (booktabs)"]
    if any(t.historical for t in report.tables):
        out[0] += "; `latex/<dataset>_history.tex`: the historical ones"
    return out


def _literature_table(t: "Table", numbers: dict) -> str:
    """One literature table (a class split's rows): method, dataset, top-1, top-5, folds and the numbers of the
    places the result can be checked (``numbers``: source text -> its number in the list after the tables)."""
    body = []
    for r in t.rows:
        cells = {c.label: c for c in t.columns}
        by = dict(zip(cells, r.cells))
        refs = ",".join(str(numbers.setdefault(s, len(numbers) + 1)) for s in by["Source"].text.split("; "))
        body.append([escape(r.method), escape(by["Dataset"].text),
                     *(_pm(c.mean, c.std) if c.mean is not None else "--" for c in (by["Top-1"], by["Top-5"])),
                     escape(by["Folds"].text), f"[{refs}]"])
    cols = ["Method", "Dataset", "Top-1", "Top-5", "Folds", "Source"]
    size = next((n for n, _, _ in SIZES if grid_width([cols] + body, n) <= TEXTWIDTH_PT), SIZES[-1][0])
    cap = (f"{escape(t.title)}. Mean $\\pm$ std in \\% as the sources print them (no $\\pm$: none printed); "
           f"{escape(t.header)} Source: the numbered places after the tables.")
    return "\n".join(["\\begin{table}[htbp]", "  \\centering", f"  \\{size}",
                      f"  \\setlength{{\\tabcolsep}}{{{TABCOLSEP_PT}pt}}", f"  \\caption{{{cap}}}",
                      f"  \\label{{tab:{t.slug}}}", "  \\begin{tabular}{llrrrl}", "    \\toprule",
                      "    " + " & ".join(cols) + r" \\", "    \\midrule",
                      *["    " + " & ".join(b) + r" \\" for b in body], "    \\bottomrule", "  \\end{tabular}",
                      "\\end{table}"])


def _breakable(text: str) -> str:
    """LaTeX text in which a long path may break after its slashes and underscores (no overfull lines)."""
    return text.replace("/", "/\\allowbreak{}").replace("\\_", "\\_\\allowbreak{}")


def write_literature(report: "Report", out: Path) -> Path:
    """``latex/literature.tex``: the literature page's tables, then the numbered list of sources they cite."""
    from ..literature_page import literature_tables

    numbers: dict = {}
    parts = [f"% Published zero-shot results, with sources (zsar-bench). {report.generated}",
             "% Needs \\usepackage{booktabs}.", ""]
    parts += [_literature_table(t, numbers) + "\n" for t in literature_tables()]
    parts += ["\\begin{enumerate}\\footnotesize\\raggedright"]
    parts += [f"  \\item[{n}.] {_breakable(escape(s))}" for s, n in numbers.items()]
    parts += ["\\end{enumerate}", ""]
    p = out / "literature.tex"
    p.write_text("\n".join(parts), encoding="utf-8")
    return p


@register("latex", help="latex/<dataset>.tex (and <dataset>_history.tex), booktabs tables; latex/literature.tex",
          index=index, order=40)
def write_latex(report: "Report", reports_dir: Path) -> list[Path]:
    """``<reports_dir>/latex/<dataset>.tex`` for every dataset of the report (its current tables) and
    ``<dataset>_history.tex`` where it has historical ones; .tex files of datasets that went away are removed.
    Returns the files written (none, and nothing touched, when the report has no tables)."""
    if not report.tables:
        return []
    out = Path(reports_dir) / "latex"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for ds in report.datasets:
        for name, tables, what in ((ds, report.current_tables(ds), "leaderboards"),
                                   (f"{ds}_history", report.history_tables(ds), "historical leaderboards")):
            tables = [t for t in tables if t.kind != "reference"]  # references: cite them
            if not tables and name != ds:
                continue
            parts = [f"% {ds} {what} (zsar-bench). {report.generated}", "% Needs \\usepackage{booktabs}.", ""]
            for t in tables:
                parts += [f"% {t.title}", render_latex_table(t), ""]
            p = out / f"{name}.tex"
            p.write_text("\n".join(parts), encoding="utf-8")
            written.append(p)
    written.append(write_literature(report, out))
    for stale in out.glob("*.tex"):
        if stale not in written:
            stale.unlink()
    return written
