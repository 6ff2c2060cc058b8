"""The committed records match the code (issue 22): the README's main command, run on them, plans no new run
and appends nothing; every committed row's config hash is the one the code computes for its parameters."""
import shutil

from conftest import ROOT

from zsar_bench import cli


def test_the_main_command_plans_nothing_new_on_the_committed_records(tmp_path, capsys, plugins):
    records = tmp_path / "records.jsonl"
    shutil.copy(ROOT / "results" / "records.jsonl", records)
    before = records.read_bytes()
    assert cli.main(["--methods", "er,w2v", "--datasets", "hmdb51", "--records", str(records), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "skipping 100 run(s) already in" in err and "dry run: 0 run(s) to do" in err, err  # fails fast if not
    assert cli.main(["--methods", "er,w2v", "--datasets", "hmdb51", "--records", str(records), "--no-report",
                     "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "skipping 100 run(s) already in" in err and "[1/" not in err, err
    assert records.read_bytes() == before  # nothing appended


def test_a_dry_run_lists_what_it_would_run_and_writes_nothing(tmp_path, capsys, plugins):
    records = tmp_path / "records.jsonl"
    assert cli.main(["--methods", "chance", "--datasets", "olympics", "--folds", "0-2", "--records", str(records),
                     "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "dry run: 3 run(s) to do" in err and "chance olympics random-50-50 fold 2 seed 0" in err, err
    assert not records.exists() or records.read_text() == ""  # nothing recorded


def test_committed_numbers_are_what_the_code_computes(tmp_path, plugins):
    """Keys are not enough: a sample of committed runs, run again by the current code, gives the committed numbers
    (closed-form and trained methods that take seconds: hmdb51 fold 0 and olympics fold 1). A change that moves a
    number without a revision bump fails here. ``chance`` is checked on olympics only: it hashes each clip's
    feature bytes, and the synthetic hmdb51 set differs in 23 of its 6,766 clips with the number of threads that
    generated it (docs/results.md), which moves no other method's numbers here."""
    import json

    from zsar_bench.results.records import RecordStore, record_key

    committed = {record_key(r): r for r in RecordStore(ROOT / "results" / "records.jsonl").read()}
    rec = tmp_path / "again.jsonl"
    for ds, fold, methods in (("hmdb51", "0", "eszsl,sae,conse,w2v"), ("olympics", "1", "eszsl,w2v,label,devise,chance")):
        assert cli.main(["--methods", methods, "--datasets", ds, "--folds", fold,
                         "--records", str(rec), "--no-report", "--no-progress", "--executor", "inline"]) == 0
    again = RecordStore(rec).read()
    assert len(again) == 9
    for row in again:
        old = committed.get(record_key(row))
        assert old is not None, f"{row['method']} {row['dataset']}: not committed under this key"
        got = {k: row[k] for k in ("top1", "top5", "mean_class_acc")}
        assert got == {k: old[k] for k in got}, json.dumps([row["method"], row["dataset"], got])
