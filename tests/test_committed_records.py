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
