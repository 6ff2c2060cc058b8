"""The literature file (zsar_bench/data/literature.yaml): every row has a source it can be checked in and only
declared protocol tags; the loader refuses anything else with a one-line LiteratureError; the leaderboards show
its rows where their protocol matches, and the literature page lists them all in every format."""
import copy

import pytest
import yaml

from zsar_bench.errors import ZsarBenchError
from zsar_bench.literature import (LITERATURE_FILE, TAG_KINDS, LiteratureError, harness_rows, load_literature,
                                   parse_literature)


@pytest.fixture(scope="module")
def doc():
    return yaml.safe_load(LITERATURE_FILE.read_text(encoding="utf-8"))


def _parse(doc):
    return parse_literature(yaml.safe_dump(doc), "lit.yaml")


def test_the_packaged_file_loads_and_every_row_is_sourced():
    lit = load_literature()
    assert len(lit.rows) >= 30 and lit.left_out
    for r in lit.rows:
        assert r.source, r
        for ref in r.source:
            src = lit.sources[ref.ref]
            assert src.kind == "paper" or (len(src.commit) == 40 and src.file), (r.method, ref)
    methods = {(r.method, r.dataset) for r in lit.rows}
    # the anchors of the issue: ER, E2E, ER's Kinetics baselines, CLIP-era methods on K600, HMDB51 and UCF101
    assert {("ER", "kinetics"), ("ER", "hmdb51"), ("ER", "ucf101"), ("E2E", "hmdb51"), ("DEVISE", "kinetics"),
            ("ViFi-CLIP", "kinetics"), ("ViFi-CLIP", "hmdb51"), ("TC-CLIP", "ucf101")} <= methods


def test_a_row_without_a_source_is_refused(doc):
    bad = copy.deepcopy(doc)
    bad["rows"][0]["source"] = []
    with pytest.raises(LiteratureError, match=r"rows\.0\.source"):
        _parse(bad)
    del bad["rows"][0]["source"]
    with pytest.raises(LiteratureError, match="source"):
        _parse(bad)


@pytest.mark.parametrize("kind", TAG_KINDS)
def test_an_unknown_protocol_tag_is_refused(doc, kind):
    bad = copy.deepcopy(doc)
    proto = bad["rows"][3]["protocol"]
    proto[kind] = ["made-up"] if kind == "pretraining" else "made-up"
    with pytest.raises(LiteratureError, match=f"unknown {kind} tag 'made-up'; declare it under tags.{kind}") as e:
        _parse(bad)
    assert isinstance(e.value, ZsarBenchError) and "\n" not in str(e.value)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["rows"][0]["source"].__setitem__(0, {"ref": "nowhere", "at": "Table 1"}), "unknown source 'nowhere'"),
    (lambda d: d["rows"][1]["source"].__setitem__(0, {"ref": "xclip", "at": "somewhere"}), "needs the table"),
    (lambda d: d["rows"][1]["source"][1].__setitem__("at", "the top"), "needs the lines"),
    (lambda d: d["sources"]["vifi-readme"].__setitem__("commit", "main"), "40 hex digits"),
    (lambda d: d["rows"][1]["source"][0].__setitem__("quotes", "vifi-readme"), "must be a paper source"),
    (lambda d: d["rows"].append(copy.deepcopy(d["rows"][0])), "a second row"),
    (lambda d: d["rows"][0].__setitem__("top1", [142.1, 1.4]), "0-100"),
])
def test_malformed_rows_and_sources_are_refused(doc, change, message):
    bad = copy.deepcopy(doc)
    change(bad)
    with pytest.raises(LiteratureError, match=message):
        _parse(bad)


def test_not_yaml_is_one_line(tmp_path):
    p = tmp_path / "lit.yaml"
    p.write_text("rows: [unclosed\n")
    with pytest.raises(LiteratureError) as e:
        load_literature(str(p))
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_only_rows_whose_class_split_is_a_harness_protocol_become_dagger_rows():
    lit = load_literature()
    rows = harness_rows(lit)
    assert rows and all(p["protocol"] in ("random-50-50", "kinetics-zsar") for p in rows)
    er = next(p for p in rows if (p["dataset"], p["method"]) == ("kinetics", "ER"))
    assert er["top1"] == (42.1, 1.4) and er["top5"] == (73.1, 0.3) and "Table 5" in er["source"]
    e2e = [r for r in lit.rows if r.method == "E2E"]
    assert e2e and not any(lit.harness_protocol(r) for r in e2e)  # its protocol is not stated in the source read


def test_leaderboards_show_matching_rows_and_every_format_writes_the_literature_page(tmp_path):
    import json

    from conftest import ROOT
    from zsar_bench.reports import write_reports

    recs = [r for line in (ROOT / "results" / "records.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip() and (r := json.loads(line))["dataset"] == "kinetics" and r["method"] in ("label", "er")
            and (r.get("mode") or "zsl") == "zsl"]
    written = write_reports(recs, tmp_path, formats=["all"])
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"literature.md", "literature.csv", "html/literature.html", "latex/literature.tex"} <= names
    page = (tmp_path / "kinetics.md").read_text(encoding="utf-8")
    assert "| DEVISE (published) †" in page and "23.8 ± 0.3" in page  # ER's baselines on its own folds
    assert "TC-CLIP (LLM) (published) §" in page and "78.1 ± 1.0" in page  # reference table, never ranked
    assert "ViFi-CLIP (published) †" not in page
    lit = (tmp_path / "literature.md").read_text(encoding="utf-8")
    assert "## literature · official-3-all" in lit and "Visual-AI/FROSTER@230ae88 README.md" in lit
    assert "Left out for want of a source" in lit and "Objects2Action" in lit
    html = (tmp_path / "html" / "literature.html").read_text(encoding="utf-8")
    assert "E2E" in html and 'href="literature.html"' in (tmp_path / "html" / "kinetics.html").read_text()
    assert "[literature.md](literature.md)" in (tmp_path / "README.md").read_text(encoding="utf-8")
