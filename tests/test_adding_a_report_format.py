"""docs/adding_a_report_format.md, done as it says: its module written to a temporary folder, found the ways it
names (``$ZSAR_BENCH_PLUGINS``; a module in the formats folder), and its command run (``report --format tsv``)."""
import re
import sys

import pytest

from conftest import ROOT
from zsar_bench.cli import main
from zsar_bench.results.records import RecordStore
from zsar_bench.reports import formats

GUIDE = (ROOT / "docs" / "adding_a_report_format.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^ *```{lang}\n(.*?)^ *```", GUIDE, re.S | re.M)


def _rec(method, fold, top1):
    return {"method": method, "config_hash": "c-" + method, "dataset": "hmdb51", "features": "synthetic",
            "features_id": "synthetic-v2", "synthetic": True, "protocol": "random-50-50",
            "split_hash": "128a305003c9", "fold": fold, "n_folds": 3, "seed": 0, "mode": "zsl", "top1": top1,
            "top5": top1 + 0.3, "mean_class_acc": top1 - 0.01, "train_s": 1.0, "eval_s": 0.1}


@pytest.fixture
def records(tmp_path):
    path = tmp_path / "records.jsonl"
    store = RecordStore(path)
    for f, v in enumerate([0.30, 0.40, 0.50]):
        store.append(_rec("a", f, v))
        store.append(_rec("chance", f, 0.04))
    return path


@pytest.fixture
def forget_tsv():
    yield
    formats.FORMATS.unregister("tsv")
    for name in ("tsv_format", "zsar_bench.reports.formats.tsv"):
        sys.modules.pop(name, None)


def _run_the_guides_command(records, out) -> int:
    (command,) = [line for b in _blocks("bash") for line in b.splitlines() if "run_bench.py report" in line]
    args = command.split("run_bench.py", 1)[1].split()
    assert args == ["report", "--format", "tsv"]
    return main(args + ["--records", str(records), "--reports-dir", str(out)])


def _check_tsv(out):
    assert sorted(p.name for p in out.iterdir()) == ["leaderboard.tsv"]  # that format alone
    lines = (out / "leaderboard.tsv").read_text(encoding="utf-8").splitlines()
    # then the page's reference table of the literature's CLIP-era rows (never ranked with the runs)
    ref = next(i for i, line in enumerate(lines) if i and line.startswith("# "))
    assert lines[ref] == "# hmdb51 · published results, official-3-all (reference only)"
    assert all(r.split("\t")[0].endswith("(published) §") for r in lines[ref + 2:])
    lines = lines[:ref]
    assert lines[0] == "# hmdb51 · random-50-50 (split 128a305003c9) · features synthetic-v2 (SYNTHETIC)"
    assert lines[1].split("\t") == ["Method", "Config", "Class inputs", "Runs", "Top-1", "Top-5", "Mean class acc",
                                    "Top-1 95% CI", "p vs best", "Train s/fold"]
    rows = {r.split("\t")[0]: r.split("\t") for r in lines[2:]}
    assert set(rows) == {"★ a", "chance (sanity)", "ER (published) †"} and len(lines) == 5  # 3 runs: no ≈
    assert rows["★ a"][1:7] == ["c-a", "-", "3/3", "40.0 ± 10.0", "70.0 ± 10.0", "39.0 ± 10.0"]
    assert rows["ER (published) †"][4] == "35.3 ± 4.6"


def test_the_guides_module_named_in_zsar_bench_plugins(tmp_path, records, monkeypatch, capsys, forget_tsv):
    (module,) = [b for b in _blocks("python") if "@register(" in b]
    name = re.search(r"^`(\w+)\.py`:$", GUIDE, re.M).group(1)
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / f"{name}.py").write_text(module, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    (export,) = [line.strip() for b in _blocks("bash") for line in b.splitlines() if line.strip().startswith("export")]
    var, value = export.removeprefix("export ").split("=", 1)
    monkeypatch.setenv(var, value)
    monkeypatch.delenv("ZSAR_BENCH_DISABLE_PLUGINS", raising=False)

    assert _run_the_guides_command(records, tmp_path / "out") == 0
    _check_tsv(tmp_path / "out")

    with pytest.raises(SystemExit):  # listed by report --help
        main(["report", "--help"])
    assert "tsv: leaderboard.tsv, every table tab-separated" in " ".join(capsys.readouterr().out.split())
    # with the Markdown, README.md links the new file; the titles are the Markdown page's
    both = tmp_path / "both"
    assert main(["report", "--records", str(records), "--reports-dir", str(both), "--format", "markdown,tsv"]) == 0
    assert "- [leaderboard.tsv](leaderboard.tsv)" in (both / "README.md").read_text(encoding="utf-8").splitlines()
    md = (both / "hmdb51.md").read_text(encoding="utf-8")
    for line in (both / "leaderboard.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            assert f"## {line[2:]}" in md


def test_the_guides_module_in_the_formats_folder(tmp_path, records, monkeypatch, forget_tsv):
    """The same file saved as formats/tsv.py: found with nothing else edited (a temporary folder stands in for
    zsar_bench/reports/formats/ by joining that package's search path)."""
    (module,) = [b for b in _blocks("python") if "@register(" in b]
    assert "zsar_bench/reports/formats/tsv.py" in GUIDE
    folder = tmp_path / "formats"
    folder.mkdir()
    (folder / "tsv.py").write_text(module, encoding="utf-8")
    monkeypatch.setattr(formats, "__path__", [*formats.__path__, str(folder)])
    monkeypatch.delenv("ZSAR_BENCH_PLUGINS", raising=False)

    assert _run_the_guides_command(records, tmp_path / "out") == 0
    _check_tsv(tmp_path / "out")
    assert formats.FORMATS.origin("tsv") == "zsar_bench.reports.formats.tsv"


def test_every_module_of_the_formats_folder_is_a_format():
    found = {p.stem for p in (ROOT / "zsar_bench" / "reports" / "formats").glob("*.py") if not p.stem.startswith("_")}
    names = formats.load_formats()
    assert {formats.FORMATS.origin(n).rsplit(".", 1)[1] for n in names} >= found
    assert names[:4] == ["markdown", "csv", "html", "latex"]
