"""The HTML leaderboard (reports/html/), the LaTeX tables (reports/latex/) and the browser check
(scripts/screenshot_report.py) on a small generated report."""
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT

pytest.importorskip("jinja2")
pytest.importorskip("matplotlib")

from zsar_bench.reports.formats import html as html_report  # noqa: E402
from zsar_bench.reports.formats.latex import escape  # noqa: E402
from zsar_bench.results.records import RecordStore  # noqa: E402
from zsar_bench.reports import write_reports  # noqa: E402

SCRIPT = ROOT / "scripts" / "screenshot_report.py"
NO_LATEX = ("markdown", "csv", "html")
N = 8  # folds: enough for a significant Wilcoxon difference after Holm over two comparisons


def _rec(method, fold, top1, dataset="hmdb51", protocol="random-50-50", split_hash="128a305003c9", n_folds=N,
         mode="zsl", train_s=1.0, **kw):
    r = {"method": method, "config_hash": "cfg" + method[:4], "dataset": dataset, "features": "synthetic",
         "features_id": "synthetic-v2", "synthetic": True, "protocol": protocol, "split_hash": split_hash,
         "fold": fold, "n_folds": n_folds, "seed": 0, "mode": mode, "top1": top1, "top5": min(1.0, top1 + 0.3),
         "mean_class_acc": top1 - 0.01, "gzsl_seen": 0.8, "gzsl_unseen": top1 / 2, "gzsl_h": 0.3 + top1 / 10,
         "train_s": train_s, "eval_s": 0.1, "time": "2026-11-25T10:00:00+0000"}
    r.update(kw)
    return r


def _records():
    wiggle = [0.01, -0.01, 0.02, -0.02, 0.0, 0.01, -0.01, 0.0]
    recs = []
    for f in range(N):
        best = 0.50 + 0.03 * (f % 3)
        recs.append(_rec("my_method", f, best, train_s=20.0))  # best: ★
        recs.append(_rec("tied_one", f, best + wiggle[f] - 0.001, train_s=2.0))  # not significantly worse: ≈
        recs.append(_rec("weak", f, best - 0.45 + 0.01 * (f % 2), train_s=0.5))  # significantly worse: unmarked
        recs.append(_rec("my_method", f, best, mode="gzsl"))
        recs.append(_rec("weak", f, best - 0.45 + 0.01 * (f % 2), mode="gzsl"))
    for f in range(N):
        recs.append(_rec("my_method", f, 0.3 + 0.01 * f, dataset="olympics", split_hash="04271e850b7b"))
        recs.append(_rec("weak", f, 0.2 + 0.01 * f + 0.005 * (f % 3), dataset="olympics", split_hash="04271e850b7b"))
    for f in range(3):
        for k in (1, 5):
            recs.append(_rec("fewshot-linear", f, 0.3 + 0.05 * k, dataset="kinetics", protocol="kinetics-zsar",
                             split_hash="13c6e1e58c62", n_folds=3, mode=f"fewshot-{k}"))
        recs.append(_rec("my_method", f, 0.2, dataset="kinetics", protocol="kinetics-zsar", split_hash="13c6e1e58c62",
                         n_folds=3))
    return recs


class _Page(HTMLParser):
    """Tables (rows of cell texts, with each row's class), <img src>, and every src/href of a page."""

    def __init__(self):
        super().__init__()
        self.tables, self.imgs, self.refs, self.scripts = [], [], [], []
        self._row = self._cell = None
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if a.get(k) is not None:
                self.refs.append((tag, k, a[k]))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = {"class": a.get("class") or "", "cells": []}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.imgs.append(a["src"])
        elif tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_script:
            self.scripts[-1] += data


def _parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _md_tables(md: str) -> list[list[list[str]]]:
    """Body rows (cells) of every GitHub-style table of a Markdown file."""
    out, cur = [], None
    for line in md.splitlines():
        if line.startswith("|"):
            if cur is None:
                cur = []
                out.append(cur)
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                cur.append(cells)
        else:
            cur = None
    return [t[1:] for t in out]  # drop the header row


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("reports")
    written = write_reports(_records(), d)
    return d, written


def _screenshot_module():
    spec = importlib.util.spec_from_file_location("screenshot_report", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_site_has_an_index_and_a_page_per_dataset_and_every_image_exists(site):
    d, written = site
    html = d / "html"
    pages = {p.name for p in html.glob("*.html")}
    assert pages == {"index.html", "hmdb51.html", "olympics.html", "kinetics.html", "literature.html"}
    assert html / "index.html" in written and (d / "latex" / "hmdb51.tex") in written
    assert "html/index.html" in (d / "README.md").read_text()
    n_img = 0
    for page in html.glob("*.html"):
        for src in _parse(page).imgs:
            n_img += 1
            img = html / src
            assert img.is_file(), f"{page.name}: {src} missing"
            assert ET.parse(img).getroot().tag.endswith("svg"), f"{src} is not an SVG"
    index = _parse(html / "index.html")
    assert any(s.startswith("heatmap-") for s in index.imgs) and any(s.startswith("time-") for s in index.imgs)
    hmdb = _parse(html / "hmdb51.html")
    # one per-fold plot per table (zero-shot, GZSL) plus the accuracy-against-time plot
    assert sum(s.endswith("-folds.svg") for s in hmdb.imgs) == 2 and any(s.startswith("time-") for s in hmdb.imgs)
    assert sum(s.endswith("-folds.svg") for s in _parse(html / "kinetics.html").imgs) == 2  # zero-shot + few-shot
    assert n_img >= 8


def test_html_tables_have_the_markdown_rows(site):
    d, _ = site
    for ds in ("hmdb51", "olympics", "kinetics"):
        md = _md_tables((d / f"{ds}.md").read_text(encoding="utf-8"))
        page = _parse(d / "html" / f"{ds}.html")
        got = [[r["cells"] for r in t[1:]] for t in page.tables]  # t[0]: the header row
        assert got == md, f"{ds}: HTML rows differ from the Markdown rows"


def test_significance_marks_and_published_rows(site):
    d, _ = site
    page = _parse(d / "html" / "hmdb51.html")
    zsl = next(t for t in page.tables if any(r["cells"][0] == "ER (published) †" for r in t))
    by_method = {r["cells"][0]: r for r in zsl[1:]}
    assert "★ my_method" in by_method and "best" in by_method["★ my_method"]["class"]
    assert "≈ tied_one" in by_method and "weak" in by_method  # weak: significantly worse, no mark
    pub = by_method["ER (published) †"]
    assert "published" in pub["class"] and pub["cells"][4] == "35.3 ± 4.6"
    text = (d / "html" / "hmdb51.html").read_text(encoding="utf-8")
    assert 'class="mark-best"' in text and 'class="mark-tied"' in text
    kin = _parse(d / "html" / "kinetics.html")
    fewshot = [r for t in kin.tables for r in t if r["cells"] and r["cells"][0] == "supervised (published) ‡"]
    assert len(fewshot) == 4 and all("published" in r["class"] for r in fewshot)


def test_sortable_inline_script_and_nothing_from_the_network(site):
    d, _ = site
    for page in (d / "html").glob("*.html"):
        p = _parse(page)
        assert any("addEventListener(\"click\"" in s and "sort" in s for s in p.scripts), page.name
        for tag, attr, value in p.refs:
            if tag in ("script", "img", "link", "iframe", "source"):
                assert not re.match(r"(https?:)?//", value, re.I), f"{page.name}: <{tag} {attr}={value}>"
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<(script|img|link)[^>]+(src|href)=\"(https?:)?//", text, re.I)
    assert all('<th>' in (d / "html" / f"{ds}.html").read_text() for ds in ("hmdb51", "olympics"))
    for svg in (d / "html").glob("*.svg"):
        assert not re.search(r"(xlink:)?href=\"https?:", svg.read_text(encoding="utf-8")), svg.name


def test_plots_are_redrawn_only_when_their_data_changes_and_stale_files_go(tmp_path):
    recs = _records()
    write_reports(recs, tmp_path, formats=NO_LATEX)
    html = tmp_path / "html"
    cache = json.loads((html / html_report.PLOT_CACHE).read_text())
    assert cache and all((html / name).is_file() for name in cache)
    mtimes = {p.name: p.stat().st_mtime_ns for p in html.glob("*.svg")}
    olympics = [r for r in recs if r["dataset"] == "olympics"]
    rest = [r for r in recs if r["dataset"] != "olympics"]
    bumped = [dict(r, top1=r["top1"] - 0.05) if r["method"] == "weak" and r["mode"] == "zsl" else r for r in rest]
    write_reports(bumped + olympics, tmp_path, formats=NO_LATEX)
    after = {p.name: p.stat().st_mtime_ns for p in html.glob("*.svg")}
    redrawn = {n for n in mtimes if after.get(n) != mtimes[n]}
    assert "hmdb51-random-50-50-zsl-synthetic-v2-128a305003c9-folds.svg" in redrawn
    assert "olympics-random-50-50-zsl-synthetic-v2-04271e850b7b-folds.svg" not in redrawn
    write_reports(rest, tmp_path, formats=NO_LATEX)  # olympics gone: its page and plots go
    assert not (html / "olympics.html").exists() and not list(html.glob("olympics-*.svg"))


def test_latex_tables(site):
    d, _ = site
    tex = (d / "latex" / "hmdb51.tex").read_text(encoding="utf-8")
    assert tex.count("\\begin{table}") == 2 and tex.count("\\end{tabular}") == 2
    for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert rule in tex
    best = next(line for line in tex.splitlines() if line.strip().startswith("my\\_method"))
    assert re.search(r"\$\\mathbf\{\d+\.\d \\pm \d+\.\d\}\$", best), best
    assert "my_method" not in tex.replace("my\\_method", "")
    tied = next(line for line in tex.splitlines() if "tied\\_one" in line)
    assert tied.strip().startswith("$\\approx$") and "\\mathbf" not in tied
    weak = next(line for line in tex.splitlines() if line.strip().startswith("weak"))
    assert re.search(r"\$\d+\.\d \\pm \d+\.\d\$", weak) and "\\mathbf" not in weak
    assert "$\\approx$: not significantly worse than the best" in tex and "\\caption{" in tex
    assert "ER (published)\\textsuperscript{\\dag}" in tex and "$35.3 \\pm 4.6$" in tex
    for table in re.findall(r"\\begin\{tabular\}\{(\w+)\}(.*?)\\end\{tabular\}", tex, re.S):
        rows = [ln for ln in table[1].splitlines() if ln.strip().endswith("\\\\")]
        spans = lambda ln: sum(int(k) - 1 for k in re.findall(r"\\multicolumn\{(\d+)\}", ln))  # noqa: E731
        assert rows and all(len(re.findall(r"(?<!\\)&", ln)) + spans(ln) == len(table[0]) - 1 for ln in rows), table
    for line in tex.splitlines():
        if not line.startswith("%"):
            assert line.count("{") - line.count("\\{") == line.count("}") - line.count("\\}"), line
            assert line.count("$") % 2 == 0 or "\\$" in line, line
    assert escape("a_b & 50% #1 $x$ {y} ~ ^ \\") == ("a\\_b \\& 50\\% \\#1 \\$x\\$ \\{y\\} \\textasciitilde{} "
                                                    "\\textasciicircum{} \\textbackslash{}")


def test_report_format_option(tmp_path):
    from zsar_bench.cli import main

    rec = tmp_path / "r.jsonl"
    store = RecordStore(rec)
    for r in _records():
        store.append(r)
    assert main(["report", "--records", str(rec), "--reports-dir", str(tmp_path / "tex"), "--format", "latex"]) == 0
    assert sorted(p.name for p in (tmp_path / "tex").iterdir()) == ["latex"]
    assert main(["report", "--records", str(rec), "--reports-dir", str(tmp_path / "md"), "--format", "markdown"]) == 0
    names = {p.name for p in (tmp_path / "md").iterdir()}
    assert "hmdb51.md" in names and "README.md" in names and not names & {"leaderboard.csv", "html", "latex"}
    assert main(["report", "--records", str(rec), "--reports-dir", str(tmp_path / "mc"),
                 "--format", "markdown,csv"]) == 0
    names = {p.name for p in (tmp_path / "mc").iterdir()}
    assert "hmdb51.md" in names and "leaderboard.csv" in names and not names & {"html", "latex"}
    assert "- [leaderboard.csv](leaderboard.csv)" in (tmp_path / "mc" / "README.md").read_text()
    assert main(["report", "--records", str(rec), "--reports-dir", str(tmp_path / "h"), "--format", "html"]) == 0
    assert (tmp_path / "h" / "html" / "index.html").is_file() and not (tmp_path / "h" / "hmdb51.md").exists()
    assert main(["report", "--records", str(rec), "--reports-dir", str(tmp_path / "x"), "--format", "markdwn"]) == 2
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_pages_without_matplotlib_say_so(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(html_report.importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    with pytest.warns(UserWarning, match="matplotlib is not installed"):
        write_reports(_records(), tmp_path, formats=NO_LATEX)
    text = (tmp_path / "html" / "hmdb51.html").read_text()
    assert "<img" not in text and "Plots not drawn" in text and not list((tmp_path / "html").glob("*.svg"))


def test_static_check_catches_broken_and_invalid_images(site, tmp_path):
    mod = _screenshot_module()
    d, _ = site
    copy = tmp_path / "rep"
    shutil.copytree(d, copy)
    assert mod.static_check(copy / "html") == []
    index = copy / "html" / "index.html"
    index.write_text(index.read_text().replace('src="heatmap-', 'src="nope-heatmap-', 1))
    (copy / "html" / "olympics.html").write_text((copy / "html" / "olympics.html").read_text().replace(
        "</main>", '<script src="https://cdn.example.org/x.js"></script></main>'))
    svg = next((copy / "html").glob("kinetics-*-folds.svg"))
    svg.write_text("<svg><unclosed></svg>")
    errors = "\n".join(mod.static_check(copy / "html"))
    assert "nope-heatmap-" in errors and "does not exist" in errors
    assert "loads from the network" in errors and svg.name in errors and "not valid SVG" in errors


@pytest.mark.slow
@pytest.mark.skipif(_screenshot_module().find_chromium() is None, reason="no Chromium (apt-get install chromium)")
def test_screenshot_in_headless_chromium(site, tmp_path):
    d, _ = site
    out = tmp_path / "shot.png"
    r = subprocess.run([sys.executable, str(SCRIPT), str(d), str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    for png in (out, tmp_path / "shot-hmdb51.png"):
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 10_000
    # a broken image path is caught by the browser itself (the file checks switched off)
    copy = tmp_path / "broken"
    shutil.copytree(d, copy)
    index = copy / "html" / "index.html"
    index.write_text(index.read_text().replace('src="heatmap-', 'src="missing/heatmap-', 1))
    r = subprocess.run([sys.executable, str(SCRIPT), str(copy), str(tmp_path / "b.png"), "--no-static"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 1 and "missing/heatmap-" in r.stderr, r.stdout + r.stderr
    assert "failed to load in the browser" in r.stderr


@pytest.mark.slow
@pytest.mark.skipif(_screenshot_module().find_chromium() is None, reason="no Chromium (apt-get install chromium)")
def test_clicking_a_header_sorts_the_table_in_chromium(site, tmp_path):
    mod = _screenshot_module()
    d, _ = site
    copy = tmp_path / "html"
    shutil.copytree(d / "html", copy)
    page = copy / "hmdb51.html"
    probe = """<script>window.addEventListener("load", function () {
      var t = Array.prototype.filter.call(document.querySelectorAll("table.lb"),
                                          function (x) { return x.textContent.indexOf("published") >= 0; })[0];
      var th = t.querySelectorAll("thead th"), out = [];
      var col = function (i) { return Array.prototype.map.call(t.tBodies[0].rows,
                                 function (r) { return r.cells[i].textContent.trim(); }).join(";"); };
      th[4].click(); out.push(col(4)); th[4].click(); out.push(col(4)); th[0].click(); out.push(col(0));
      document.body.setAttribute("data-probe", out.join("|"));
    });</script></body>"""
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", probe), encoding="utf-8")
    r = mod._chromium(mod.find_chromium(), page.as_uri(), ["--dump-dom"], 90)
    m = re.search(r'data-probe="([^"]*)"', r.stdout)
    assert m, r.stderr[-2000:]
    asc, desc, by_name = m.group(1).split("|")
    numbers = [c for c in asc.split(";") if re.match(r"\d", c)]
    assert asc.split(";")[:len(numbers)] == numbers  # rows without a number ("not run: ...") last, either way
    values = [float(c.split(" ± ")[0]) for c in numbers]
    assert values == sorted(values) and values[0] < 10 < values[-1]  # numeric order ("7.6" before "35.3")
    assert desc.split(";")[:len(numbers)] == numbers[::-1]
    ours = ["ER (published) †", "★ my_method", "≈ tied_one", "weak"]
    assert [n for n in by_name.split(";") if n in ours] == ours  # marks ignored (not-run rows of the methods here too)


def test_current_tables_first_history_pages_and_footnotes(tmp_path, plugins):
    """synthetic-v1 tables go to <dataset>_history.* (linked from the dataset page), the dataset page starts with
    the current tables in the order default protocol, other protocols, GZSL; records of an earlier method revision
    are a footnote at the end."""
    from zsar_bench.method import METHODS

    old_rev = METHODS.get("er").revision - 1
    recs = _records() + [_rec("my_method", f, 0.6, features_id="synthetic-v1", time="2026-11-20T10:00:00+0000")
                         for f in range(N)]
    recs += [_rec("my_method", 0, 0.4, protocol="k400-full", split_hash="daeb3fdcd38c", n_folds=1)]
    recs += [_rec("er", f, 0.1, revision=old_rev) for f in range(N)]  # superseded: not shown, counted
    write_reports(recs, tmp_path)
    md = (tmp_path / "hmdb51.md").read_text(encoding="utf-8")
    titles = [ln[3:] for ln in md.splitlines() if ln.startswith("## ") and "(reference only)" not in ln]
    assert [("generalised" in t, "k400-full" in t) for t in titles] == [(False, False), (False, True), (True, False)]
    assert md.rindex("(reference only)") > md.index(titles[-1])  # the literature's reference table comes last
    assert all("synthetic-v2" in t for t in titles)
    assert md.index("[hmdb51_history.md](hmdb51_history.md)") < md.index("\n## ")
    assert md.index(f"Not shown: {N} er record(s)") > md.rindex("\n|")  # the footnote comes after every table
    hist = (tmp_path / "hmdb51_history.md").read_text(encoding="utf-8")
    assert [ln for ln in hist.splitlines() if ln.startswith("## ")] == [
        "## hmdb51 · random-50-50 (split 128a305003c9) · features synthetic-v1 (SYNTHETIC)"]
    assert "Not shown" not in (tmp_path / "olympics.md").read_text(encoding="utf-8")  # counted per dataset
    assert not (tmp_path / "olympics_history.md").exists()
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "[hmdb51_history.md](hmdb51_history.md)" in readme and readme.rindex("Not shown") > readme.rindex("- [")
    page = (tmp_path / "html" / "hmdb51.html").read_text(encoding="utf-8")
    h2 = re.findall(r'<h2 id="[^"]*">([^<]*)</h2>', page)
    assert h2[:3] == titles and 'href="hmdb51_history.html"' in page
    assert page.index("Not shown:") > page.rindex("</table>") and 'class="footnotes"' in page
    hist_page = (tmp_path / "html" / "hmdb51_history.html").read_text(encoding="utf-8")
    assert "synthetic-v1" in hist_page and 'href="hmdb51.html"' in hist_page and "Not shown" not in hist_page
    index = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert index.index("features-synthetic-v2") < index.index("features-synthetic-v1")  # current first
    assert (tmp_path / "latex" / "hmdb51_history.tex").is_file()
    assert "synthetic-v1" not in (tmp_path / "latex" / "hmdb51.tex").read_text(encoding="utf-8")
    import pandas as pd

    board = pd.read_csv(tmp_path / "leaderboard.csv")
    own = board[board["published"] == False]  # noqa: E712
    assert list(own["historical"]) == sorted(own["historical"])  # current rows first
    assert set(own[own["historical"]]["features_id"]) == {"synthetic-v1"}
    # rendered again without the old records: the history pages go
    write_reports([r for r in recs if r["features_id"] != "synthetic-v1"], tmp_path)
    assert not (tmp_path / "hmdb51_history.md").exists() and not (tmp_path / "html" / "hmdb51_history.html").exists()
    assert not (tmp_path / "latex" / "hmdb51_history.tex").exists()


def test_heatmap_shows_the_default_configuration_on_a_per_dataset_scale():
    import pandas as pd

    def row(ds, method, config, top1, **kw):
        return {"dataset": ds, "features_id": "synthetic-v2", "protocol": "random-50-50", "split_hash": "s",
                "mode": "zsl", "method": method, "config_hash": config, "top1_mean": top1, "n_runs": 50,
                "is_best": False, "tied_with_best": False, **kw}

    d = pd.DataFrame([row("hmdb51", "label", "dflt", 16.0), row("hmdb51", "label", "tuned", 19.0, is_best=True),
                      row("hmdb51", "chance", "c", 4.0), row("kinetics", "label", "k", 20.0, is_best=True),
                      row("kinetics", "chance", "c2", 0.6), row("kinetics", "sweep", "lr3", 5.0),
                      row("kinetics", "sweep", "lr1", 9.0)])
    key = lambda ds, m, c: (ds, "synthetic-v2", "random-50-50", "s", "zsl", m, c)  # noqa: E731
    facts = {key("hmdb51", "label", "dflt"): {"default": True, "diff": {}},
             key("hmdb51", "label", "tuned"): {"default": False, "diff": {"lr": 0.003}},
             key("kinetics", "label", "k"): {"default": True, "diff": {}},
             key("hmdb51", "chance", "c"): {"default": True, "diff": {}},
             key("kinetics", "chance", "c2"): {"default": True, "diff": {}},
             key("kinetics", "sweep", "lr3"): {"default": False, "diff": {"lr": 0.003}},
             key("kinetics", "sweep", "lr1"): {"default": False, "diff": {"lr": 0.1, "epochs": 3}}}
    spec = html_report.heatmap_spec(d, "synthetic-v2", facts, {"hmdb51": 4.0, "kinetics": 0.625})
    cell = {(r, c): (v, rel, m) for r, vals, rels, marks in zip(spec["rows"], spec["values"], spec["rel"],
                                                                  spec["marks"])
            for c, v, rel, m in zip(spec["cols"], vals, rels, marks)}
    # the default configuration, not the better-scoring tuned one; ⁺: the table has others
    assert cell[("label", "hmdb51")] == (16.0, 1.0, "⁺")
    # no default recorded: the one closest to the defaults (fewest differing parameters), never the best score
    assert cell[("sweep", "kinetics")][0] == 5.0 and cell[("sweep", "kinetics")][2] == "°⁺"
    assert any(n.startswith("° sweep on kinetics: configuration lr3 (lr=0.003)") for n in spec["notes"])
    # colours per dataset: 0 at the dataset's chance level, 1 at the best cell shown in its column
    assert cell[("chance", "hmdb51")][1] == 0.0 and cell[("label", "kinetics")][1] == 1.0
    assert cell[("sweep", "kinetics")][1] == pytest.approx((5.0 - 0.625) / (20.0 - 0.625), abs=1e-6)
    assert spec["chance"] == [4.0, 0.625] and spec["rows"][0] == "label" and spec["rows"][-1] == "chance"


def test_config_facts_compare_recorded_parameters_with_the_defaults(plugins):
    import pandas as pd

    from zsar_bench.method import METHODS

    defaults = METHODS.get("eszsl").param_defaults()
    base = {"dataset": "olympics", "features_id": "synthetic-v2", "protocol": "random-50-50", "split_hash": "s",
            "mode": "zsl", "method": "eszsl", "descriptions": "builtin"}
    older = {k: v for k, v in defaults.items() if k != "gamma"}  # a record made before a parameter existed
    df = pd.DataFrame([{**base, "config_hash": "a", "params": dict(defaults)},
                       {**base, "config_hash": "b", "params": {**defaults, "alpha": 2.0}},
                       {**base, "config_hash": "c", "params": older},
                       {**base, "config_hash": "d", "params": dict(defaults), "descriptions": "/x/er_defn.json"},
                       {**base, "config_hash": "e", "method": "not-registered", "params": {}}])
    facts = {k[-1]: v for k, v in html_report.config_facts(df).items()}
    assert facts["a"] == {"default": True, "diff": {}} and facts["c"]["default"]
    assert facts["b"] == {"default": False, "diff": {"alpha": 2.0}}
    assert facts["d"] == {"default": False, "diff": {"descriptions": "er_defn.json"}}
    assert not facts["e"]["default"]


def test_latex_fits_the_page_with_short_headings_and_a_smaller_font_where_needed(site):
    from zsar_bench.reports.formats import latex
    from zsar_bench.reports.model import Cell, Row

    d, _ = site
    tex = (d / "latex" / "hmdb51.tex").read_text(encoding="utf-8")
    assert "\\footnotesize" in tex and "MCA" in tex and "s/fold" in tex and "Mean class acc" not in tex.split(
        "\\caption")[0]
    assert "every row: 8/8 runs" in tex  # uniform complete runs: said once in the caption, no Runs column
    from zsar_bench.reports.model import build_report

    report = build_report(_records())
    t = next(t for t in report.tables if t.dataset == "hmdb51" and t.kind == "zsl")
    assert latex.font_size(t) == "footnotesize" and latex.estimated_width(t) <= latex.TEXTWIDTH_PT
    long = Row([Cell("a-method-with-a-rather-long-descriptive-name (sanity)")] + t.rows[0].cells[1:],
               "x", "a-method-with-a-rather-long-descriptive-name (sanity)")
    t.rows.append(long)
    assert latex.estimated_width(t, "scriptsize") < latex.estimated_width(t, "footnotesize")
    assert latex.font_size(t) == "scriptsize" and "\\scriptsize" in latex.render_latex_table(t)
    assert latex._pm(27.8, float("nan")) == "$27.8$" and latex._p("too few runs to test (n = 1)") == "n/a"
