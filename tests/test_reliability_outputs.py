"""Reliability of what a run writes (issue 23): nothing trained is lost.

Outputs that cannot be written (a dangling records link, --save-scores naming a file, an unwritable reports
folder, an append-only records file with --overwrite) are refused in one line before any training; an append
that fails (disk full) leaves no torn line and keeps the row in ``<records>.unsaved``; an --overwrite whose
rewrite fails keeps the new row in the records and says so; a report page that cannot be replaced is named in one
line, the records kept; a report generation killed half-way leaves every page whole and the folder not
"up to date"."""
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT
from zsar_bench import cli
from zsar_bench.results.records import RecordsError, RecordStore, record_key

CHANCE = ["--methods", "chance", "--datasets", "olympics", "--no-progress", "--executor", "inline"]


def _one_line_error(rc, err):
    assert rc == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def fold0(tmp_path_factory, data_root):
    """One record of chance on olympics fold 0 (made once, inline)."""
    rec = tmp_path_factory.mktemp("fold0") / "r.jsonl"
    assert cli.main([*CHANCE, "--folds", "0", "--records", str(rec), "--no-report"]) == 0
    return RecordStore(rec).read()[0]


# -- (a)-(c) refused before any training -------------------------------------------------------------------------

def test_a_dangling_records_link_is_refused_before_training(tmp_path, capsys, data_root):
    rec = tmp_path / "r.jsonl"
    rec.symlink_to(tmp_path / "gone" / "records.jsonl")
    rc = cli.main([*CHANCE, "--folds", "0", "--records", str(rec), "--no-report"])
    line = _one_line_error(rc, capsys.readouterr().err)
    assert str(rec) in line and "symlink" in line and "does not exist" in line and "--records" in line
    assert not (tmp_path / "gone").exists()


def test_save_scores_naming_a_file_is_refused_before_training(tmp_path, capsys, data_root):
    scores = tmp_path / "scores.parquet"
    scores.write_text("not a folder")
    rec = tmp_path / "r.jsonl"
    rc = cli.main([*CHANCE, "--folds", "0", "--records", str(rec), "--no-report", "--save-scores", str(scores)])
    line = _one_line_error(rc, capsys.readouterr().err)
    assert str(scores) in line and "is a file, not a folder" in line and "--save-scores" in line
    assert not rec.exists() and scores.read_text() == "not a folder"


@pytest.mark.parametrize("case", ["not writable", "dangling link"])
def test_an_unwritable_reports_folder_is_refused_before_training(tmp_path, capsys, monkeypatch, case, data_root):
    reports = tmp_path / "rep"
    if case == "dangling link":
        reports.symlink_to(tmp_path / "nowhere" / "rep")
    else:
        reports.mkdir()
        reports.chmod(0o555)
        if os.geteuid() == 0:  # root writes anywhere: make the file system refuse, as it would a user
            real = os.open
            monkeypatch.setattr(os, "open", lambda p, *a, **k: (_ for _ in ()).throw(
                PermissionError(errno.EACCES, "Permission denied")) if os.path.dirname(p) == str(reports)
                else real(p, *a, **k))
    try:
        rec = tmp_path / "r.jsonl"
        rc = cli.main([*CHANCE, "--folds", "0", "--records", str(rec), "--reports-dir", str(reports)])
        line = _one_line_error(rc, capsys.readouterr().err)
        assert f"reports folder {reports}" in line and "not writable" in line and "--reports-dir" in line
        assert not rec.exists()
    finally:
        if case != "dangling link":
            reports.chmod(0o755)


def test_the_output_checks_cost_nothing_lasting(tmp_path):
    """The probes leave nothing behind; a writable folder (existing or to be made) passes."""
    from zsar_bench.results.records import folder_unwritable
    from zsar_bench.reports.write import check_reports_writable
    from zsar_bench.results.scores import check_scores_dir

    check_scores_dir(tmp_path / "a" / "b")
    check_reports_writable(tmp_path)
    assert folder_unwritable(tmp_path / "x" / "y") is None
    assert os.listdir(tmp_path) == []


# -- (d) a failed append: no torn line, the row kept beside the records -----------------------------------------

def _failing(monkeypatch, path, where="write", partial=False):
    """Make writes (or fsyncs) to the file at ``path`` fail with ENOSPC, after half a row when ``partial``."""
    st = os.stat(path)
    ident = (st.st_dev, st.st_ino)
    real_write, real_fsync = os.write, os.fsync
    state = {"calls": 0}

    def ours(fd):
        s = os.fstat(fd)
        return (s.st_dev, s.st_ino) == ident

    def write(fd, data):
        if where == "write" and ours(fd):
            state["calls"] += 1
            if partial and state["calls"] == 1:
                return real_write(fd, bytes(data)[:len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    def fsync(fd):
        if where == "fsync" and ours(fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize("how", ["write fails", "half a row, then the write fails", "fsync fails"])
def test_a_failed_append_leaves_no_torn_line_and_keeps_the_row(tmp_path, monkeypatch, how, fold0):
    store = RecordStore(tmp_path / "r.jsonl")
    store.append(fold0)
    before = store.path.read_bytes()
    row = {**fold0, "fold": 1}
    _failing(monkeypatch, store.path, "fsync" if how == "fsync fails" else "write", partial="half" in how)
    with pytest.raises(RecordsError) as e:
        store.append_if_absent(row)
    msg = str(e.value)
    side = tmp_path / "r.jsonl.unsaved"
    assert "\n" not in msg and str(store.path) in msg and "No space left" in msg and f"kept in {side}" in msg
    assert f"cat {side} >> {store.path}" in msg
    assert store.path.read_bytes() == before  # nothing torn, nothing half-written
    assert [json.loads(line) for line in side.read_text().splitlines()] == [row]
    monkeypatch.undo()
    with pytest.raises(RecordsError):  # supersede (--overwrite) keeps its row the same way
        _failing(monkeypatch, store.path)
        store.supersede(row)
    assert len(side.read_text().splitlines()) == 2 and store.path.read_bytes() == before


def test_a_row_that_fits_nowhere_is_in_the_error(tmp_path, monkeypatch, fold0):
    import tempfile

    store = RecordStore(tmp_path / "r.jsonl")
    store.append(fold0)
    (tmp_path / "r.jsonl.unsaved").mkdir()  # the side file cannot be opened ...
    (tmp_path / "tmpfile").write_text("")
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmpfile"))  # ... nor one in the temp folder
    _failing(monkeypatch, store.path)
    with pytest.raises(RecordsError, match="could not be saved anywhere; here it is") as e:
        store.append_if_absent({**fold0, "fold": 2})
    assert json.loads(str(e.value).split("as one line: ", 1)[1])["fold"] == 2


def test_records_that_cannot_be_opened_keep_the_row(tmp_path, monkeypatch, fold0):
    store = RecordStore(tmp_path / "r.jsonl")
    real = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error"))
                        if str(p) == str(store.path) else real(p, *a, **k))
    with pytest.raises(RecordsError, match=r"could not write to records file .*I/O error.*kept in .*r\.jsonl\.unsaved"):
        store.append(fold0)
    assert record_key(json.loads((tmp_path / "r.jsonl.unsaved").read_text())) == record_key(fold0)


def test_disk_full_during_a_run_keeps_its_record_and_says_where(tmp_path, capsys, monkeypatch, fold0):
    rec = tmp_path / "r.jsonl"
    RecordStore(rec).append(fold0)
    before = rec.read_bytes()
    _failing(monkeypatch, rec, partial=True)
    rc = cli.main([*CHANCE, "--folds", "0-1", "--records", str(rec), "--no-report"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    assert "No space left on device" in err.strip().splitlines()[-1] and "r.jsonl.unsaved" in err
    assert rec.read_bytes() == before
    (kept,) = [json.loads(line) for line in (tmp_path / "r.jsonl.unsaved").read_text().splitlines()]
    assert kept["method"] == "chance" and kept["fold"] == 1 and kept["top1"] > 0
    monkeypatch.undo()
    with open(rec, "ab") as f:  # as the message says: add it back, then rerun; the run is not redone
        f.write((tmp_path / "r.jsonl.unsaved").read_bytes())
    assert cli.main([*CHANCE, "--folds", "0-1", "--records", str(rec), "--no-report"]) == 0
    assert "already" in capsys.readouterr().err
    assert sorted(r["fold"] for r in RecordStore(rec).read()) == [0, 1]


# -- (e) reports: written to a staging copy and renamed; the stamp removed first, written last -------------------

KILLER = textwrap.dedent('''
    """A report format for the test: with KILL_MID_REPORT=1 it empties a page and is killed (kill -9)."""
    import os
    import signal
    from pathlib import Path

    from zsar_bench.reports import stamp
    from zsar_bench.reports.formats import register

    stamp.code_identity = lambda: "test-identity"  # stamps on, as in a clean checkout


    @register("zz-killer", help="test: dies in the middle of a generation", order=999)
    def write(report, reports_dir):
        if os.environ.get("KILL_MID_REPORT") == "1":
            (Path(reports_dir) / "olympics.md").write_text("")  # the page, truncated when the kill came
            os.kill(os.getpid(), signal.SIGKILL)
        return []
''')


def test_kill_9_during_report_generation_leaves_whole_pages_and_no_up_to_date_claim(tmp_path, monkeypatch, fold0):
    from zsar_bench.reports import stamp

    (tmp_path / "zz_killer_fmt.py").write_text(KILLER)
    rec = tmp_path / "r.jsonl"
    RecordStore(rec).append(fold0)
    reports = tmp_path / "rep"
    env = {**os.environ, "ZSAR_BENCH_PLUGINS": "zz_killer_fmt", "PYTHONPATH": str(tmp_path),
           "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, str(ROOT / "run_bench.py"), "report", "--records", str(rec), "--reports-dir", str(reports)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**env, "KILL_MID_REPORT": "0"}, timeout=600)
    assert out.returncode == 0, out.stderr
    monkeypatch.setattr(stamp, "code_identity", lambda: "test-identity")
    page = (reports / "olympics.md").read_text()
    assert "chance" in page and stamp.reports_up_to_date(str(rec), reports)

    out = subprocess.run(cmd, capture_output=True, text=True, env={**env, "KILL_MID_REPORT": "1"}, timeout=600)
    assert out.returncode == -signal.SIGKILL, out.stderr
    assert (reports / "olympics.md").read_text() == page  # the page as it was, never empty
    assert not stamp.reports_up_to_date(str(rec), reports)  # and not called up to date: the next run regenerates

    out = subprocess.run(cmd, capture_output=True, text=True, env={**env, "KILL_MID_REPORT": "0"}, timeout=600)
    assert out.returncode == 0, out.stderr
    assert stamp.reports_up_to_date(str(rec), reports)
    assert not [p for p in os.listdir(reports) if p.startswith(".zsar-staging")]  # the killed run's copy is gone


def test_a_generation_replaces_changed_pages_and_removes_stale_ones(tmp_path, fold0):
    from zsar_bench.reports import write_reports

    reports = tmp_path / "rep"
    write_reports([fold0], reports)
    page = reports / "olympics.md"
    ino, mtime = page.stat().st_ino, page.stat().st_mtime_ns
    (reports / "olympics_history.md").write_text("stale")  # a page no generation writes any more
    (reports / "mine.txt").write_text("a file of the user's")
    write_reports([fold0], reports)
    assert (page.stat().st_ino, page.stat().st_mtime_ns) == (ino, mtime)  # unchanged: not rewritten
    assert not (reports / "olympics_history.md").exists()
    assert (reports / "mine.txt").read_text() == "a file of the user's"
    write_reports([fold0, {**fold0, "fold": 1}], reports)
    assert page.stat().st_ino != ino  # changed: a new file renamed over the old one
    assert not [p for p in os.listdir(reports) if p.startswith(".zsar-staging")]


# -- (f) a records file or a report page that cannot be replaced: the new rows kept, one line naming the file -----

def _refuse_replacing(monkeypatch, path):
    """Renaming over ``path`` fails, as over an append-only (chattr +a) or immutable (+i) file: appending works."""
    real = os.replace

    def replace(src, dst, *a, **k):
        if os.path.abspath(dst) == os.path.abspath(path):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(src), None, str(dst))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)


def _chattr(flag, path):
    """``chattr flag path``; False where that cannot be done (no chattr, no CAP_LINUX_IMMUTABLE, a file system
    without the flags)."""
    try:
        return subprocess.run(["chattr", flag, str(path)], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def test_overwrite_on_records_that_cannot_be_replaced_keeps_the_new_row_and_says_where(tmp_path, capsys, monkeypatch,
                                                                                       fold0):
    rec = tmp_path / "r.jsonl"
    RecordStore(rec).append(fold0)
    before = rec.read_bytes()
    _refuse_replacing(monkeypatch, rec)
    rc = cli.main([*CHANCE, "--folds", "0", "--records", str(rec), "--no-report", "--overwrite"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"error: --overwrite: the new record of chance olympics fold 0 seed 0 is kept in {rec} "
                           "(appended after the old one"), line
    assert "Operation not permitted" in line and "rerun with --overwrite" in line
    rows = RecordStore(rec).read()
    assert rec.read_bytes().startswith(before) and len(rows) == 2  # the old row untouched, the trained one after it
    assert rows[-1]["run_id"] != fold0["run_id"] and record_key(rows[-1]) == record_key(fold0)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # the rewrite's copy removed
    monkeypatch.undo()
    assert cli.main([*CHANCE, "--folds", "0", "--records", str(rec), "--no-report"]) == 0  # not redone: it is there
    assert "already" in capsys.readouterr().err and len(RecordStore(rec).read()) == 2


def test_overwrite_on_an_append_only_records_file_is_refused_before_training(tmp_path, capsys, fold0):
    rec = tmp_path / "r.jsonl"
    RecordStore(rec).append(fold0)
    before = rec.read_bytes()
    if not _chattr("+a", rec):
        pytest.skip("chattr +a is not possible here")
    try:
        rc = cli.main([*CHANCE, "--folds", "0", "--records", str(rec), "--no-report", "--overwrite"])
        line = _one_line_error(rc, capsys.readouterr().err)
        assert f"records file {rec} is append-only (chattr +a)" in line and f"chattr -a {rec}" in line, line
        assert "rerun without --overwrite" in line
        assert rec.read_bytes() == before
        assert cli.main([*CHANCE, "--folds", "0-1", "--records", str(rec), "--no-report"]) == 0  # appends still work
        assert sorted(r["fold"] for r in RecordStore(rec).read()) == [0, 1]
    finally:
        _chattr("-a", rec)


@pytest.mark.parametrize("how", ["rename refused", "chattr +i"])
def test_a_report_page_that_cannot_be_replaced_is_named_and_the_records_kept(tmp_path, capsys, monkeypatch, how,
                                                                            fold0):
    from zsar_bench.reports import stamp

    monkeypatch.setattr(stamp, "code_identity", lambda: "test-identity")  # stamps on, as in a clean checkout
    rec = tmp_path / "r.jsonl"
    RecordStore(rec).append(fold0)
    reports = tmp_path / "rep"
    assert cli.main(["report", "--records", str(rec), "--reports-dir", str(reports)]) == 0
    page, csv = reports / "olympics.md", reports / "leaderboard.csv"
    old_page, old_csv = page.read_text(), csv.read_text()
    if how == "chattr +i":
        if not _chattr("+i", page):
            pytest.skip("chattr +i is not possible here")
    else:
        _refuse_replacing(monkeypatch, page)
    capsys.readouterr()
    try:
        rc = cli.main([*CHANCE, "--folds", "1", "--records", str(rec), "--reports-dir", str(reports)])
        err = capsys.readouterr().err
    finally:
        if how == "chattr +i":
            _chattr("-i", page)
    assert rc == 2 and "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"error: report file {page} could not be replaced (Operation not permitted"), line
    assert f"the records ({rec}) are unchanged" in line and "every other page was updated" in line
    assert ("chattr -i" if how == "chattr +i" else "chmod u+w") in line and "run_bench.py report" in line
    assert sorted(r["fold"] for r in RecordStore(rec).read()) == [0, 1]  # the trained run is recorded
    assert page.read_text() == old_page and csv.read_text() != old_csv  # that page as it was, the others new
    assert not stamp.reports_up_to_date(str(rec), reports)  # not called up to date: the next run regenerates
    assert not [p for p in os.listdir(reports) if p.startswith(".zsar-staging")]
    monkeypatch.undo()
    monkeypatch.setattr(stamp, "code_identity", lambda: "test-identity")
    assert cli.main(["report", "--records", str(rec), "--reports-dir", str(reports)]) == 0
    assert page.read_text() != old_page and stamp.reports_up_to_date(str(rec), reports)
