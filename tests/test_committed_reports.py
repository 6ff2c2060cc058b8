"""The committed leaderboards (reports/) are what the code makes of the committed records, and what a reader sees
there is honest and current first, on every page and in every format (Markdown, HTML, LaTeX): the first table of
a dataset page is current (never an earlier synthetic generator's), the tables come in the order default protocol,
other protocols, generalised ZSL, few-shot; bookkeeping is a footnote at the end; no sanity row is marked as tied
with the best; no "± 0.0" or interval for a single run; every LaTeX table fits an article's text width."""
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from conftest import ROOT
from zsar_bench import cli
from zsar_bench.reports.formats.latex import SIZES, TEXTWIDTH_PT, grid_width
from zsar_bench.reports.model import is_historical
from zsar_bench.splits import default_protocol

REPORTS = ROOT / "reports"
PAGES = sorted(p for p in REPORTS.glob("*.md") if not p.name.startswith("overlap_"))  # overlap: its own command
DATASETS = sorted(p.stem for p in PAGES  # the literature page is no dataset's
                  if p.stem not in ("README", "literature") and not p.stem.endswith("_history"))
HTML = REPORTS / "html"
TEX = sorted((REPORTS / "latex").glob("*.tex"))
KIND_RANK = {"default": 0, "other": 1, "gzsl": 2, "fewshot": 3, "reference": 4}


def _rows(page):
    """(table header cells, row cells) of every Markdown table row of a page."""
    head = None
    for line in page.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            head = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if head is None:
            head = cells
        elif not set(line) <= set("|-: "):
            yield dict(zip(head, cells))


class _Html(HTMLParser):
    """A page's <h2> titles (in order, with where they end), its tables as {heading: cell} rows, where the last
    table ends and where the footnotes start."""

    def __init__(self):
        super().__init__()
        self.h2, self.tables = [], []
        self.last_table_end = self.footer = None
        self._text = self._row = None
        self._head = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "h2":
            self._text = []
        elif tag == "table":
            self.tables.append([])
            self._head = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._text = []
        elif tag == "footer" and "footnotes" in (a.get("class") or ""):
            self.footer = self.getpos()

    def handle_endtag(self, tag):
        if tag == "h2" and self._text is not None:
            self.h2.append((" ".join("".join(self._text).split()), self.getpos()))
            self._text = None
        elif tag in ("td", "th") and self._text is not None and self._row is not None:
            self._row.append((tag, " ".join("".join(self._text).split())))
            self._text = None
        elif tag == "tr" and self._row is not None:
            if self._row and all(t == "th" for t, _ in self._row):
                self._head = [c for _, c in self._row]
            else:
                self.tables[-1].append(dict(zip(self._head, [c for _, c in self._row])))
            self._row = None
        elif tag == "table":
            self.last_table_end = self.getpos()

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def _html(path) -> _Html:
    p = _Html()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _md_titles(page) -> list[str]:
    return [line[3:] for line in page.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]


def _tex_tables(path) -> list[dict]:
    """Every table of a .tex file: its caption's title, size command and tabular rows (cells)."""
    out = []
    for env in re.findall(r"\\begin\{table\}.*?\\end\{table\}", path.read_text(encoding="utf-8"), re.S):
        size = re.search(r"^\s*\\(footnotesize|scriptsize|small|normalsize)\s*$", env, re.M)
        caption = re.search(r"\\caption\{(.*?)\. Mean", env, re.S).group(1)
        body = re.search(r"\\begin\{tabular\}\{\w+\}(.*?)\\end\{tabular\}", env, re.S).group(1)
        rows = [[c.strip() for c in re.split(r"(?<!\\)&", ln.strip().removesuffix("\\\\"))]
                for ln in body.splitlines() if ln.strip().endswith("\\\\")]
        out.append({"title": caption, "size": size.group(1) if size else "normalsize", "rows": rows, "env": env})
    return out


def _features(title: str) -> str:
    m = re.search(r"features (\S+)", title)
    return m.group(1) if m else ""


def _kind(title: str, dataset: str) -> str:
    """Where a table belongs in a page's order, from its title."""
    if "published CLIP-era" in title or "reference only" in title:
        return "reference"
    if "Few-shot" in title:
        return "fewshot"
    if "generalised ZSL" in title:
        return "gzsl"
    protocol = title.replace("$\\cdot$", "·").split(" · ")[1].split(" (split")[0]
    return "default" if protocol == default_protocol(dataset) else "other"


def _check_order(titles: list[str], dataset: str, where: str) -> None:
    assert titles, f"{where}: no tables"
    assert not is_historical(_features(titles[0])), f"{where}: the first table is historical: {titles[0]}"
    fids = [_features(t) for t in titles if _kind(t, dataset) != "reference"]
    assert not any(is_historical(f) for f in fids), f"{where}: historical tables belong on the history page"
    ranks = [KIND_RANK[_kind(t, dataset)] for t in titles]
    for f in dict.fromkeys(fids):  # per feature set: default protocol, other protocols, GZSL, few-shot
        mine = [r for t, r in zip(titles, ranks) if _features(t) == f or _kind(t, dataset) == "reference"]
        assert mine == sorted(mine), f"{where}: tables out of order: {titles}"


@pytest.mark.slow
def test_committed_reports_are_what_the_code_makes_of_the_committed_records(tmp_path, plugins):
    out = tmp_path / "reports"
    assert cli.main(["report", "--records", str(ROOT / "results" / "records.jsonl"), "--reports-dir", str(out)]) == 0
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(REPORTS).as_posix() for p in REPORTS.rglob("*")
                       if p.is_file() and not p.name.startswith("overlap_"))
    assert made == committed
    stale = [f for f in made if (out / f).read_bytes() != (REPORTS / f).read_bytes()]
    assert not stale, f"reports/ is out of date with the code: run `python run_bench.py report` ({stale[:5]})"


def test_every_dataset_page_starts_with_a_current_table_in_every_format():
    assert {"hmdb51", "kinetics", "olympics", "ucf101"} <= set(DATASETS)
    for ds in DATASETS:
        _check_order(_md_titles(REPORTS / f"{ds}.md"), ds, f"{ds}.md")
        _check_order([t for t, _ in _html(HTML / f"{ds}.html").h2 if t != "Accuracy against training time"], ds,
                     f"html/{ds}.html")
        _check_order([t["title"] for t in _tex_tables(REPORTS / "latex" / f"{ds}.tex")], ds, f"latex/{ds}.tex")


def test_historical_tables_are_on_a_history_page_linked_from_the_dataset_page():
    histories = sorted(REPORTS.glob("*_history.md"))
    assert histories, "the committed records hold synthetic-v1 tables: they have history pages"
    for page in histories:
        ds = page.stem.removesuffix("_history")
        titles = _md_titles(page)
        assert titles and all(is_historical(_features(t)) for t in titles), page.name
        assert f"[{page.name}]({page.name})" in (REPORTS / f"{ds}.md").read_text(encoding="utf-8")
        assert f"[{page.name}]({page.name})" in (REPORTS / "README.md").read_text(encoding="utf-8")
        html = HTML / f"{ds}_history.html"
        assert [t for t, _ in _html(html).h2 if t != "Accuracy against training time"] == titles
        assert f'href="{html.name}"' in (HTML / f"{ds}.html").read_text(encoding="utf-8")
        assert f'href="{ds}_history.html"' in (HTML / "index.html").read_text(encoding="utf-8")
        tex = REPORTS / "latex" / f"{ds}_history.tex"
        assert [t["title"] for t in _tex_tables(tex)] and all(is_historical(_features(t["title"]))
                                                               for t in _tex_tables(tex))


def test_bookkeeping_is_a_footnote_at_the_end_of_the_page():
    for ds in DATASETS:
        md = (REPORTS / f"{ds}.md").read_text(encoding="utf-8")
        if "Not shown:" in md:
            assert md.index("Not shown:") > md.rindex("\n|"), f"{ds}.md: the superseded-records note is not at the end"
            assert md.index("Not shown:") > md.rindex("\n## ")
        page = _html(HTML / f"{ds}.html")
        text = (HTML / f"{ds}.html").read_text(encoding="utf-8")
        if "Not shown:" in text:
            assert page.footer is not None and page.footer > page.last_table_end, ds
            line = next(i for i, ln in enumerate(text.splitlines(), 1) if "Not shown:" in ln)
            assert line > page.footer[0], f"html/{ds}.html: the note is not in the footnotes"
    readme = (REPORTS / "README.md").read_text(encoding="utf-8")
    assert "Not shown:" not in readme or readme.index("Not shown:") > readme.rindex("- [")


def _md_pages():
    return [p for p in PAGES if p.name != "README.md"]


@pytest.mark.parametrize("page", _md_pages(), ids=[p.name for p in _md_pages()])
def test_no_sanity_row_is_marked_tied_and_single_runs_show_no_spread(page):
    rows = list(_rows(page))
    assert rows, page
    for r in rows:
        method = r.get("Method", "")
        if "(sanity)" in method:
            assert not method.startswith("≈"), f"{page.name}: {method} marked as tied with the best"
        if re.fullmatch(r"1/1", r.get("Runs", "")):
            spread = [v for k, v in r.items() if "±" in v]
            assert not spread, f"{page.name}: a single run shown with a spread: {method} {spread}"
            assert not r.get("Top-1 95% CI"), f"{page.name}: a single run with an interval: {method}"
    assert not re.search(r"\bnan\b", page.read_text(encoding="utf-8"), re.I), f"{page.name}: a NaN is shown"


def _html_pages():
    return sorted(p for p in HTML.glob("*.html") if p.name != "index.html" and not p.name.startswith("perclass-"))


@pytest.mark.parametrize("page", _html_pages(), ids=[p.name for p in _html_pages()])
def test_html_pages_mark_no_sanity_row_tied_and_no_single_run_spread(page):
    parsed = _html(page)
    assert parsed.tables, page.name
    for table in parsed.tables:
        for r in table:
            method = r.get("Method", "")
            if "(sanity)" in method:
                assert not method.startswith("≈"), f"{page.name}: {method} marked as tied with the best"
            if r.get("Runs") == "1/1":
                assert not [v for v in r.values() if "±" in v], f"{page.name}: a single run with a spread: {method}"
                assert not r.get("Top-1 95% CI"), f"{page.name}: a single run with an interval: {method}"
    assert not re.search(r">\s*nan\s*<|± nan", page.read_text(encoding="utf-8"), re.I), page.name


@pytest.mark.parametrize("tex", TEX, ids=[p.name for p in TEX])
def test_latex_marks_and_single_runs(tex):
    tables = _tex_tables(tex)
    assert tables, tex.name
    for t in tables:
        runs_col = t["rows"][0].index("Runs") if "Runs" in t["rows"][0] else None
        single = "every row: 1/1 runs" in t["env"]
        for row in t["rows"][1:]:
            if "(sanity)" in row[0]:
                assert not row[0].startswith("$\\approx$"), f"{tex.name}: {row[0]} marked as tied with the best"
            if single or (runs_col is not None and row[runs_col] == "1/1"):
                assert not [c for c in row if "\\pm" in c], f"{tex.name}: a single run with a spread: {row}"
    assert "nan" not in tex.read_text(encoding="utf-8").lower().replace("nanmean", "")


@pytest.mark.parametrize("tex", TEX, ids=[p.name for p in TEX])
def test_latex_tables_fit_the_column_budget(tex):
    """Every table's estimated width at its font size fits an article's text width (345 pt); the estimate is
    checked against pdflatex's own measure below, where a TeX engine is installed."""
    sizes = [name for name, _, _ in SIZES]
    for t in _tex_tables(tex):
        assert t["size"] in sizes, f"{tex.name}: {t['title']}: font size {t['size']}"
        width = grid_width(t["rows"], t["size"])
        assert width <= TEXTWIDTH_PT, f"{tex.name}: {t['title']}: about {width:.0f} pt wide at {t['size']}"
        assert len(t["rows"][0]) <= 9, f"{tex.name}: {t['title']}: {len(t['rows'][0])} columns"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX engine (apt-get install texlive-latex-base)")
def test_committed_latex_compiles_and_every_table_fits_the_page(tmp_path):
    """pdflatex typesets every committed .tex in LaTeX's article class: no error, no overfull box, every tabular at
    most the text width, and the column-budget estimate within a few % of (and above) the typeset width."""
    inputs, expected = [], []
    for tex in TEX:
        text = tex.read_text(encoding="utf-8")
        # measure each tabular where it stands: the same box, its width written to the log
        text = text.replace("\\begin{tabular}", "\\setbox0\\hbox{\\begin{tabular}")
        text = text.replace("\\end{tabular}", "\\end{tabular}}\\typeout{TABWIDTH=\\the\\wd0}\\box0")
        (tmp_path / tex.name).write_text(text, encoding="utf-8")
        inputs.append(f"\\input{{{tex.name}}}\\clearpage")
        expected += [grid_width(t["rows"], t["size"]) for t in _tex_tables(tex)]
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                                      + "\n".join(inputs) + "\n\\end{document}\n", encoding="utf-8")
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    log = (tmp_path / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert r.returncode == 0, log[-3000:]
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox.*", log)[:5]
    widths = [float(w) for w in re.findall(r"TABWIDTH=([\d.]+)pt", log)]
    assert len(widths) == len(expected) and widths
    for actual, estimate in zip(widths, expected):
        assert actual <= TEXTWIDTH_PT
        assert 0.9 * estimate <= actual <= 1.02 * estimate, (actual, estimate)
