import math

import pytest

from conftest import ROOT
from zsar_bench.results.records import RecordStore, record_key
from zsar_bench.reports import render_table, summarise, write_reports


def _rec(method, fold, top1, seed=0, n_folds=3, **kw):
    r = {"method": method, "config_hash": "abc" + method, "dataset": "hmdb51", "features": "synthetic",
         "features_id": "synthetic-v1", "synthetic": True, "protocol": "random-50-50", "split_hash": "128a305003c9",
         "fold": fold, "n_folds": n_folds, "seed": seed, "top1": top1, "top5": min(1.0, top1 + 0.3),
         "mean_class_acc": top1 - 0.01, "gzsl_seen": 0.8, "gzsl_unseen": top1 / 2, "gzsl_h": 0.3,
         "train_s": 1.0, "eval_s": 0.1}
    r.update(kw)
    return r


def test_append_is_line_atomic_and_survives_a_torn_line(tmp_path):
    store = RecordStore(tmp_path / "r.jsonl")
    store.append(_rec("a", 0, 0.5))
    with open(store.path, "a") as f:
        f.write('{"method": "a", "fold": 1, "top1"')  # a crash mid-write
    store.append(_rec("a", 2, 0.5))
    with pytest.warns(UserWarning, match="torn"):
        rows = store.read()
    assert [r["fold"] for r in rows] == [0, 2]
    assert store.path.read_text().count("\n") == 3


def test_remove_for_overwrite(tmp_path):
    store = RecordStore(tmp_path / "r.jsonl")
    for f in range(3):
        store.append(_rec("a", f, 0.5))
    assert store.remove([record_key(_rec("a", 1, 0.5))]) == 1
    assert [r["fold"] for r in store.read()] == [0, 2]


def test_summary_mean_std_and_empty_cells_for_missing_folds():
    recs = [_rec("a", f, v) for f, v in enumerate([0.30, 0.40, 0.50])] + [_rec("b", 0, 0.9), _rec("b", 1, 0.9)]
    s = summarise(recs).set_index("method")
    assert s.loc["a", "top1_mean"] == pytest.approx(40.0)
    assert s.loc["a", "top1_std"] == pytest.approx(10.0)  # sample std, ddof=1
    assert math.isnan(s.loc["b", "top1_mean"]) and s.loc["b", "n_runs"] == 2


def test_feature_sets_and_protocols_never_share_a_table():
    recs = [_rec("a", f, 0.3) for f in range(3)] + [_rec("a", f, 0.6, features_id="tsm-v1", features="tsm",
                                                         synthetic=False) for f in range(3)]
    tables = render_table(summarise(recs))
    assert len(tables) == 2 and any("SYNTHETIC" in t for t, _ in tables) and any("tsm-v1" in t for t, _ in tables)


def test_zsl_and_gzsl_runs_never_share_a_table():
    recs = [_rec("a", f, 0.3, mode="zsl") for f in range(3)] + [_rec("a", f, 0.3, mode="gzsl") for f in range(3)]
    tables = render_table(summarise(recs))
    assert len(tables) == 2
    zsl, gzsl = sorted(tables, key=lambda t: "generalised" in t[0])
    assert "Top-1" in zsl[1] and "| H " not in zsl[1] and "generalised ZSL" in gzsl[0] and "Top-1" not in gzsl[1]


def _md_tables(text: str) -> dict[str, dict[str, dict[str, str]]]:
    """{section title: {method (marks dropped): {column: cell}}} for every Markdown table of a report."""
    out, title = {}, None
    for block in text.split("\n## ")[1:]:
        title, *lines = block.splitlines()
        rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines if ln.startswith("|")]
        if rows:
            head = rows[0]
            out[title] = {r[0].removeprefix("★ ").removeprefix("≈ "): dict(zip(head, r)) for r in rows[2:]}
    return out


def _holm(ps: list[float]) -> list[float]:
    """Holm's step-down adjustment, by hand: the i-th smallest p times (m - i), running max, capped at 1."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adj, running = [0.0] * len(ps), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        adj[i] = running
    return adj


def test_golden_leaderboard(tmp_path):
    import copy

    import numpy as np
    from scipy import stats

    a_top1, chance_top1 = [0.30, 0.40, 0.50], [0.04] * 3
    recs = ([_rec("a", f, v) for f, v in enumerate(a_top1)] + [_rec("b", 0, 0.9)]
            + [_rec("chance", f, v) for f, v in enumerate(chance_top1)]
            + [_rec("a", f, v, mode="gzsl", features_id="synthetic-v2") for f, v in enumerate(a_top1)])
    before = copy.deepcopy(recs)
    write_reports(recs, tmp_path)
    assert recs == before  # the records given are not changed (no mode filled in, no field added or rounded)
    # the dataset page holds the current tables (synthetic-v2) and links the history page (synthetic-v1)
    for name in ("hmdb51.md", "hmdb51_history.md"):
        golden = ROOT / "tests" / "golden" / name
        assert (tmp_path / name).read_text() == golden.read_text(), (
            f"leaderboard rendering changed; review and update tests/golden/{name}")
    got = (tmp_path / "hmdb51.md").read_text()
    history = (tmp_path / "hmdb51_history.md").read_text()
    assert "[hmdb51_history.md](hmdb51_history.md)" in got and "synthetic-v1" not in got.split("## ")[1]
    assert "35.3 ± 4.6" in history and "(published) †" in history
    csv = (tmp_path / "leaderboard.csv").read_text()
    assert "top1_mean" in csv and "Chen and Huang" in csv

    # the cells against values computed here from the inputs (numpy, scipy), not from the code's output
    def cell(values) -> str:
        v = np.asarray(values) * 100
        return f"{v.mean():.1f} ± {v.std(ddof=1):.1f}"

    tables = {**_md_tables(got), **_md_tables(history)}
    zsl = tables["hmdb51 · random-50-50 (split 128a305003c9) · features synthetic-v1 (SYNTHETIC)"]
    gzsl = tables["hmdb51 · random-50-50 · generalised ZSL (split 128a305003c9) · features synthetic-v2 (SYNTHETIC)"]
    a = zsl["a"]
    assert a["Method"] == "★ a" and a["Runs"] == "3/3"
    assert a["Top-1"] == cell(a_top1) == "40.0 ± 10.0"
    assert a["Top-5"] == cell([min(1.0, v + 0.3) for v in a_top1])
    assert a["Mean class acc"] == cell([v - 0.01 for v in a_top1])
    lo, hi = stats.t.interval(0.95, len(a_top1) - 1, loc=np.mean(a_top1) * 100,
                              scale=stats.sem(np.asarray(a_top1) * 100))
    assert a["Top-1 95% CI"] == f"[{lo:.1f}, {hi:.1f}]"
    # the table's comparisons against the best row: complete rows only (b has 1 of 3 folds: empty cells)
    assert zsl["b"]["Runs"] == "1/3" and zsl["b"]["Top-1"] == "" and zsl["b"]["p vs best"] == ""
    raw = [stats.wilcoxon(chance_top1, a_top1, alternative="two-sided").pvalue]
    (p_chance,) = _holm(raw)
    # 3 paired runs: the exact test's smallest two-sided p is 2 / 2^3 = 0.25 >= 0.05, which chance reaches (all
    # three runs worse): the test cannot speak, the column says so and no row is marked tied with the best
    assert p_chance == 2 / 2 ** 3
    assert zsl["chance (sanity)"]["p vs best"] == "too few runs to test (n = 3)"
    assert zsl["chance (sanity)"]["Method"] == "chance (sanity)"  # no ≈ mark
    assert zsl["chance (sanity)"]["Top-1"] == cell(chance_top1)
    g = gzsl["a"]
    assert (g["U"], g["S"], g["H"]) == (cell([v / 2 for v in a_top1]), cell([0.8] * 3), cell([0.3] * 3))

def test_rows_name_their_class_inputs_and_drop_superseded_revisions(tmp_path, plugins):
    from zsar_bench.method import METHODS
    from zsar_bench.method import describe_class_inputs as inputs_label  # Method.class_inputs' default

    assert inputs_label({"text_encoder": "minilm", "tower": "frozen", "text_style": "name: description"},
                        "builtin") == "minilm (frozen, cached); 'name: description', descriptions project"
    assert inputs_label({"text_encoder": "bert-base-uncased", "tower": "partial", "trainable_layers": 2,
                         "text_style": "name: description"}, "/data/HMDB51/classes_label_defn.json") == (
        "bert-base-uncased, top 2 layers fine-tuned; 'name: description', descriptions classes_label_defn.json")
    assert inputs_label({"semantic": "/vecs/glove.42B.300d.txt", "text_style": "name"}) == (
        "word vectors glove.42B.300d.txt; 'name'")
    current = METHODS.get("er").revision
    assert current >= 2
    old = [_rec("er", f, 0.2, config_hash="old", params={"text_encoder": "minilm"}) for f in range(3)]
    new = [_rec("er", f, 0.3, config_hash="new", revision=current,
                params={"text_encoder": "minilm", "tower": "frozen"}) for f in range(3)]
    s = summarise(old + new)
    assert list(s["config_hash"]) == ["new"] and s.attrs["superseded"] == {"er": 3}
    assert s["inputs"].iloc[0] == "minilm (frozen, cached)"
    write_reports(old + new, tmp_path)
    assert "Not shown: 3 er record(s) made by an earlier implementation" in (tmp_path / "hmdb51.md").read_text()


def test_partial_summary_for_the_table_printed_after_a_run():
    recs = [_rec("a", f, v) for f, v in enumerate([0.30, 0.40, 0.50])] + [_rec("b", 0, 0.9), _rec("b", 2, 0.7)]
    full = summarise(recs).set_index("method")
    assert math.isnan(full.loc["b", "top1_mean"])  # reports/: the complete-only rule
    part = summarise(recs, partial=True).set_index("method")
    assert part.loc["b", "top1_mean"] == pytest.approx(80.0) and part.loc["b", "partial"]
    assert not part.loc["a", "partial"]
    md = render_table(summarise(recs, partial=True))[0][1]
    assert "2/3 (partial 2/3)" in md and "80.0 ± 14.1" in md and "the mean over the n of the protocol's N folds" in md


def test_help_texts_print_percent_signs_once():
    """argparse %-formats help strings (where '%%' prints '%') but not descriptions: no command prints '%%'."""
    from zsar_bench.cli.commands import RUN, TABLE

    for command in (RUN, *TABLE):
        text = command.parser().format_help()
        assert "%%" not in text, f"{command.name} --help prints '%%'"
    compare = next(c for c in TABLE if c.name == "compare").parser().format_help()
    assert "95% t interval" in " ".join(compare.split())
