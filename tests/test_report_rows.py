"""What a leaderboard row tells a reader, in every format (Markdown, HTML, LaTeX, CSV): how its configuration
differs from the method's defaults (and ``compare`` picking one configuration), a partial row's mean over the runs
done marked "partial n/N" (``report --partial``, ``Results.table(partial=True)``), and the registered methods not
run on a current table, with an estimate of the hours from measured runs or the reason they cannot run."""
import html
import json
import re

import pandas as pd
import pytest

from zsar_bench.cli import main
from zsar_bench.method import METHODS, Method
from zsar_bench.reports import model, write_reports
from zsar_bench.reports.formats import html as html_report
from zsar_bench.reports.tables import config_differences, config_label, summarise

OLY = {"dataset": "olympics", "protocol": "random-50-50", "split_hash": "04271e850b7b"}  # the current split file
HMDB = {"dataset": "hmdb51", "protocol": "random-50-50", "split_hash": "128a305003c9"}
NO_LATEX = ("markdown", "csv", "html")


def _rec(method, fold, top1, config=None, params=None, where=OLY, n_folds=50, train_s=1.0, **kw):
    r = {"method": method, "config_hash": config or f"c-{method}", "features": "synthetic",
         "features_id": "synthetic-v2", "synthetic": True, "fold": fold, "n_folds": n_folds, "seed": 0, "mode": "zsl",
         "top1": top1, "top5": min(1.0, top1 + 0.3), "mean_class_acc": top1 - 0.01, "train_s": train_s,
         "eval_s": 0.5, "descriptions": "builtin", **where}
    if params is not None:
        r["params"] = params
    r.update(kw)
    return r


def _md_list(text: str, title_part: str) -> list[dict[str, str]]:
    """The rows ({column: cell}) of the Markdown table whose title contains ``title_part``."""
    block = next(b for b in text.split("\n## ")[1:] if title_part in b.splitlines()[0])
    lines = [ln for ln in block.splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(head, [c.strip() for c in ln.strip("|").split("|")])) for ln in lines[2:]]


def _md_rows(text: str, title_part: str) -> dict[str, dict[str, str]]:
    """{method (marks dropped): {column: cell}} of the Markdown table whose title contains ``title_part``."""
    return {r["Method"].removeprefix("★ ").removeprefix("≈ "): r for r in _md_list(text, title_part)}


def _html_cells(page: str) -> list[list[str]]:
    """The cells (text, tags dropped) of every table row of an HTML page."""
    out = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)
        out.append([" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells])
    return out


# --------------------------------------------------------------------------------------------------
# 1. configurations a reader can tell apart
# --------------------------------------------------------------------------------------------------

class _Tuned(Method):
    name = "tuned-test"
    hash_omit_if_default = {"prep": "old"}  # "old" was the behaviour before the parameter existed

    def __init__(self, lr: float = 0.001, prep: str = "new", epochs: int = 10):
        self.lr, self.prep, self.epochs = lr, prep, epochs

    def fit(self, data, ctx):
        return self

    def score(self, videos, classes):
        raise NotImplementedError


@pytest.fixture
def tuned(plugins):
    METHODS.register("tuned-test", origin="tests.test_report_rows")(_Tuned)
    yield "tuned-test"
    METHODS.unregister("tuned-test")


def test_config_differences_against_the_defaults(tuned, plugins):
    assert config_differences(tuned, {"lr": 0.001, "prep": "new", "epochs": 10}) == {}
    assert config_differences(tuned, {"lr": 0.003, "epochs": 10.0}) == {"lr": 0.003}  # 10.0 is the default 10
    assert config_differences(tuned, {}) == {}  # a parameter missing from an older record counts as its default
    assert config_differences(tuned, {"prep": "old"}) == {}  # its hash_omit_if_default value: no difference
    assert config_differences(tuned, {"prep": "other", "lr": 3e-3}) == {"lr": 0.003, "prep": "other"}
    assert config_label(tuned, {"lr": 3e-3, "epochs": 2}) == "lr=0.003, epochs=2"
    assert config_label(tuned, {"lr": 0.001}, "/data/er_descriptions.json") == "descriptions=er_descriptions.json"
    assert config_differences("not-registered", {"lr": 1.0}) is None and config_label("not-registered", {}) == ""
    assert "tuned-test" not in model.registered_here()  # not one of the harness's own methods: no not-run row


@pytest.fixture(scope="module")
def configs_site(tmp_path_factory, plugins):
    defaults = METHODS.get("eszsl").param_defaults()
    recs = []
    for f in range(50):
        recs.append(_rec("eszsl", f, 0.30 + 0.002 * (f % 5), "e0000000d0", dict(defaults)))
        recs.append(_rec("eszsl", f, 0.32 + 0.002 * (f % 7), "e0000000a1", {**defaults, "alpha": 2.0}))
        recs.append(_rec("label", f, 0.25 + 0.002 * (f % 3), "1abe100000", {"lr": 0.001}))  # an older record
    d = tmp_path_factory.mktemp("configs")
    path = d / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    write_reports(recs, d / "reports")
    return path, d / "reports"


def test_every_format_names_how_a_configuration_differs_from_the_defaults(configs_site):
    _, out = configs_site
    rows = {r["Config"]: r for r in _md_list((out / "olympics.md").read_text(encoding="utf-8"), "olympics")
            if r.get("Config")}
    assert set(rows) == {"e0000000a1 (alpha=2)", "e0000000d0", "1abe100000"}  # the defaults: nothing extra
    page = (out / "html" / "olympics.html").read_text(encoding="utf-8")
    cells = [c for row in _html_cells(page) for c in row]
    assert "e0000000a1 (alpha=2)" in cells and "e0000000d0" in cells
    tex = (out / "latex" / "olympics.tex").read_text(encoding="utf-8")
    tuned_line = next(ln for ln in tex.splitlines() if "e0000000a1" in ln)
    assert "\\texttt{alpha=2}" in tuned_line
    assert "alpha" not in next(ln for ln in tex.splitlines() if "e0000000d0" in ln)
    board = pd.read_csv(out / "leaderboard.csv", keep_default_na=False)
    diff = dict(zip(board["config_hash"], board["config_diff"]))
    assert diff["e0000000a1"] == "alpha=2" and diff["e0000000d0"] == "" and diff["1abe100000"] == ""


def test_compare_picks_a_configuration_and_refuses_to_mix_them(configs_site, capsys):
    path, _ = configs_site
    args = ["--dataset", "olympics", "--records", str(path)]

    def run(a, b):
        code = main(["compare", a, b, *args])
        return code, capsys.readouterr()

    code, out = run("eszsl", "label")  # two configurations of eszsl: refused, in one line naming them
    assert code == 2 and out.err.count("\n") == 1
    assert "eszsl has 2 configurations" in out.err and "eszsl@e0000000a1 (alpha=2)" in out.err
    assert "eszsl@e0000000d0 (defaults)" in out.err and "eszsl@HASH" in out.err and "eszsl[KEY=VALUE" in out.err
    code, out = run("eszsl@e0000000a", "label")  # a config-hash prefix
    assert code == 0 and out.out.startswith("eszsl@e0000000a1 vs label@1abe100000")
    assert "A = eszsl@e0000000a1: alpha=2" in out.out and "B = label@1abe100000: the default configuration" in out.out
    code, out = run("eszsl[alpha=2]", "eszsl[alpha=3.0]")  # parameter values, typed as --method-args
    assert code == 0 and out.out.startswith("eszsl@e0000000a1 vs eszsl@e0000000d0") and "paired runs" in out.out
    code, out = run("eszsl[alpha=7]", "label")
    assert code == 2 and "no configuration of eszsl on olympics/random-50-50 matches eszsl[alpha=7]" in out.err
    code, out = run("eszsl[alpha=two]", "label")
    assert code == 2 and "eszsl.alpha=two" in out.err and "expected a number" in out.err
    code, out = run("label", "label")  # the same twice: said so (not "share no feature set")
    assert code == 2 and "A and B are the same" in out.err and "share no feature set" not in out.err
    code, out = run("eszsl", "eszsl")
    assert code == 2 and "to compare two configurations of eszsl" in out.err and "eszsl@e0000000a1" in out.err
    code, out = run("label@1abe", "label")  # one configuration, named two ways
    assert code == 2 and "are the same configuration (label@1abe100000)" in out.err


# --------------------------------------------------------------------------------------------------
# 2. partial runs, shown honestly
# --------------------------------------------------------------------------------------------------

def _partial_records():
    recs = [_rec("label", f, 0.40 + 0.01 * (f % 4), train_s=2.0) for f in range(50)]
    recs += [_rec("eszsl", f, v, train_s=36.0) for f, v in ((0, 0.20), (1, 0.30))]  # 2 of 50 folds
    return recs


@pytest.fixture(scope="module")
def partial_sites(tmp_path_factory, plugins):
    d = tmp_path_factory.mktemp("partial")
    path = d / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _partial_records()), encoding="utf-8")
    assert main(["report", "--records", str(path), "--reports-dir", str(d / "full")]) == 0
    assert main(["report", "--partial", "--records", str(path), "--reports-dir", str(d / "part")]) == 0
    return d / "full", d / "part"


def test_without_partial_a_row_missing_runs_has_no_mean_and_says_how_long_the_rest_takes(partial_sites):
    full, _ = partial_sites
    row = _md_rows((full / "olympics.md").read_text(encoding="utf-8"), "olympics")["eszsl"]
    hours = 36.5 * 48 / 3600  # its own runs: 36 s training + 0.5 s evaluation each, 48 runs to go
    assert row["Runs"] == "2/50" and row["Top-5"] == "" and "partial" not in row["Runs"]
    assert row["Top-1"] == f"incomplete: 48 runs left, about {hours:.2g} hours on 2 cores"
    assert "A row that lacks runs says how many are left" in (full / "olympics.md").read_text(encoding="utf-8")
    tex = (full / "latex" / "olympics.tex").read_text(encoding="utf-8")
    assert re.search(r"^\s*eszsl & \\multicolumn\{\d+\}\{l\}\{\\textit\{incomplete: 48 runs left", tex, re.M)
    spec = html_report.heatmap_spec(html_report._default_tables(summarise(_partial_records()), "synthetic-v2"),
                                    "synthetic-v2")
    assert spec["values"][spec["rows"].index("eszsl")] == [None] and "partial" not in spec  # drawn as "–"


def test_report_partial_marks_the_mean_over_the_runs_done_in_every_format(partial_sites):
    _, part = partial_sites
    md = (part / "olympics.md").read_text(encoding="utf-8")
    row = _md_rows(md, "olympics")["eszsl"]
    assert row["Runs"] == "2/50 (partial 2/50)" and row["Top-1"] == "25.0 ± 7.1"
    assert 'a row marked "partial n/N" is the mean over the n' in md
    assert "Generated by `python run_bench.py report --partial`" in md
    page = (part / "html" / "olympics.html").read_text(encoding="utf-8")
    assert ["eszsl", "c-eszsl", "-", "2/50 (partial 2/50)", "25.0 ± 7.1"] in [
        r[:5] for r in _html_cells(page)]
    assert "partial" in re.search(r'<tr class="([^"]*)">\s*<td class="method">eszsl', page).group(1)
    tex = (part / "latex" / "olympics.tex").read_text(encoding="utf-8")
    line = next(ln for ln in tex.splitlines() if ln.strip().startswith("eszsl"))
    assert "2/50 (partial 2/50)" in line and "$25.0 \\pm 7.1$" in line and "Runs marked partial $n$/$N$" in tex
    board = pd.read_csv(part / "leaderboard.csv", keep_default_na=False)
    es = board[board["method"] == "eszsl"].iloc[0]
    assert es["note"] == "partial 2/50" and float(es["top1_mean"]) == pytest.approx(25.0)
    # the index heatmap: the cell shows the mean, marked, on its colour scale; a note says what it is
    plots = json.loads((part / "html" / "plots.json").read_text())
    svg = next(n for n in plots if n.startswith("heatmap-"))
    text = (part / "html" / svg).read_text(encoding="utf-8")
    assert "partial 2/50" in text and "25.0" in text
    assert "partial n/N: the mean over the n of the protocol's N folds" in html.unescape(
        (part / "html" / "index.html").read_text(encoding="utf-8"))


def test_the_apis_partial_table_marks_partial_rows(plugins):
    from zsar_bench.api import Results

    res = Results(_partial_records())
    full = res.table().set_index("method")
    part = res.table(partial=True).set_index("method")
    assert pd.isna(full.loc["eszsl", "top1_mean"]) and full.loc["eszsl", "note"] == ""
    assert part.loc["eszsl", "top1_mean"] == pytest.approx(25.0) and part.loc["eszsl", "note"] == "partial 2/50"
    assert part.loc["eszsl", "partial"] and not part.loc["label", "partial"] and part.loc["label", "note"] == ""
    assert (part.loc["eszsl", "n_folds_done"], part.loc["eszsl", "n_folds"], part.loc["eszsl", "n_expected"]) == (
        2, 50, 50)
    md = res.markdown(partial=True)
    assert "2/50 (partial 2/50)" in md and "25.0 ± 7.1" in md and md.startswith('Partial: rows marked "partial n/N"')
    assert "2/50 (partial" not in res.markdown() and "not run" not in md  # the printed table names no other method


# --------------------------------------------------------------------------------------------------
# 3. registered methods not run on a current table
# --------------------------------------------------------------------------------------------------

def _not_run_records():
    recs = [_rec("label", f, 0.40 + 0.01 * (f % 4), train_s=10.0 + f % 3) for f in range(50)]  # olympics
    recs += [_rec("eszsl", f, 0.20 + 0.01 * (f % 5), where=HMDB, train_s=20.0 + f % 2) for f in range(50)]
    recs += [_rec("label", 0, 0.3, where={**HMDB, "protocol": "k400-full", "split_hash": "daeb3fdcd38c"},
                  n_folds=1, train_s=400.0)]  # another protocol: neither a not-run row nor a timing
    return recs


@pytest.fixture(scope="module")
def not_run_site(tmp_path_factory, plugins):
    d = tmp_path_factory.mktemp("notrun")
    write_reports(_not_run_records() + [_rec("weak", f, 0.1, where=HMDB) for f in range(50)], d)
    return d


def test_a_current_table_names_each_registered_method_not_run_with_an_estimate_or_the_reason(not_run_site):
    oly = _md_rows((not_run_site / "olympics.md").read_text(encoding="utf-8"), "olympics")
    # eszsl: timed on hmdb51 (median 20.5 + 0.5 s per run), scaled by the clips (783 / 6766), 50 folds x 1 seed
    hours = 21.0 * 783 / 6766 * 50 / 3600
    assert oly["eszsl"]["Top-1"] == f"not run: about {hours:.2g} hours on 2 cores" and oly["eszsl"]["Runs"] == "0/50"
    assert oly["eszsl"]["Config"] == "" and oly["eszsl"]["Class inputs"] == "word vectors glove50; 'name'"
    assert oly["clip"]["Top-1"] == "not run: needs CLIP features"
    assert oly["fewshot-linear"]["Top-1"] == "not run: few-shot only"
    assert oly["chance (sanity)"]["Top-1"] == "not run: never timed here, no estimate"  # sanity rows too
    assert {m.removesuffix(" (sanity)") for m in oly} >= set(model.registered_here())
    assert "weak" not in oly and oly["label"]["Runs"] == "50/50"
    hmdb = _md_rows((not_run_site / "hmdb51.md").read_text(encoding="utf-8"), "random-50-50 (split")
    hours = 11.5 * 6766 / 783 * 50 / 3600  # label: timed on olympics (median 11 + 0.5 s)
    assert hmdb["label"]["Top-1"] == f"not run: about {hours:.2g} hours on 2 cores"
    assert "eszsl" in hmdb and hmdb["eszsl"]["Runs"] == "50/50" and "weak" in hmdb
    order = list(hmdb)
    assert order.index("weak") < order.index("label") < order.index("ER (published) †")  # after the rows run
    md = (not_run_site / "olympics.md").read_text(encoding="utf-8")
    assert "Its hours are an ESTIMATE, not a measurement: the method's median training + evaluation seconds" in md
    k400 = _md_rows((not_run_site / "hmdb51.md").read_text(encoding="utf-8"), "k400-full")
    assert set(k400) == {"label"}  # another protocol: only what ran


def test_not_run_rows_in_every_format(not_run_site):
    page = (not_run_site / "html" / "olympics.html").read_text(encoding="utf-8")
    rows = {r[0]: r for r in _html_cells(page) if r}
    assert rows["clip"][4] == "not run: needs CLIP features" and rows["eszsl"][4].startswith("not run: about ")
    assert ' incomplete notrun">' in page
    tex = (not_run_site / "latex" / "olympics.tex").read_text(encoding="utf-8")
    assert re.search(r"^\s*clip & \\multicolumn\{\d+\}\{l\}\{\\textit\{not run: needs CLIP features\}\} \\\\$", tex,
                     re.M)
    assert "its hours are an estimate" in tex
    board = pd.read_csv(not_run_site / "leaderboard.csv", keep_default_na=False)
    es = board[(board["method"] == "eszsl") & (board["dataset"] == "olympics")].iloc[0]
    assert es["note"].startswith("not run: about ") and float(es["n_runs"]) == 0 and es["top1_mean"] == ""
    methods = list(board[board["dataset"] == "olympics"]["method"])
    assert methods.index("eszsl") > methods.index("label")  # after the table's own rows


def test_what_cannot_run_here_says_why(plugins, monkeypatch):
    assert model.cannot_run_here("clip") == "needs CLIP features"
    assert model.cannot_run_here("fewshot-linear") == "few-shot only"
    assert model.cannot_run_here("label") is None
    asked = []

    def unavailable(cls, params):
        import os

        asked.append(os.environ.get("HF_HUB_OFFLINE"))
        return ("method 'er-paper': text_encoder=bert-base-uncased is not in the local Hugging Face cache and "
                "HF_HUB_OFFLINE is set: download it ...")

    # the check runs where the method's code runs (the worker that answers the reports' cards): here, directly
    from zsar_bench.running.method_facts import _cannot_run

    monkeypatch.setattr(METHODS.get("er-paper"), "check_available", classmethod(unavailable))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert _cannot_run(METHODS.get("er-paper")) == "weights not available offline (bert-base-uncased)"
    assert asked == ["1"]  # checked offline: no network asked while writing a report
    import os

    assert "HF_HUB_OFFLINE" not in os.environ


def test_timings_prefer_the_current_implementation(plugins):
    rev = METHODS.get("er").revision
    recs = ([_rec("er", f, 0.2, train_s=100.0, revision=rev - 1) for f in range(3)]
            + [_rec("er", f, 0.2, where=HMDB, train_s=10.0, revision=rev) for f in range(3)]
            + [_rec("er-name", f, 0.2, train_s=30.0, revision=rev - 1) for f in range(3)]
            + [_rec("label", f, 0.2, train_s=5.0, mode="gzsl") for f in range(3)])
    t = model.measured_runtimes(recs)
    assert t["er"] == {"hmdb51": 10.5}  # the current revision's only, where it has any
    assert t["er-name"] == {"olympics": 30.5}  # else the earlier one's
    assert "label" not in t  # zero-shot runs only
    assert model.estimated_hours("er", "olympics", 50, t) == pytest.approx(10.5 * 783 / 6766 * 50 / 3600)
    assert model.estimated_hours("label", "olympics", 50, t) is None


def test_top5_over_at_most_five_classes_is_said_to_be_trivial(monkeypatch):
    from types import SimpleNamespace

    from zsar_bench.reports import model

    def fake(n_unseen):
        folds = [SimpleNamespace(unseen=[f"c{i}" for i in range(n_unseen)])]
        return lambda ds, proto: SimpleNamespace(folds=folds, short_hash="abc")

    monkeypatch.setattr(model, "load_protocol", fake(5))
    assert "Top-5 is 100% by construction" in model._few_classes_note("toy", "p", "abc")
    assert model._few_classes_note("toy", "p", "other-hash") is None  # another version of the split: not this one
    monkeypatch.setattr(model, "load_protocol", fake(6))
    assert model._few_classes_note("toy", "p", "abc") is None
