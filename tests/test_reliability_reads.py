"""Reliability of what a run reads (issue 23): a planted job state file, the text-embedding cache, feature files
edited in place, and ``"defn": null`` in a descriptions file. Each is refused (or redone, and said so) before any
number is recorded."""
import json
import os
import pickle
import shutil
import warnings

import numpy as np
import pytest

from zsar_bench import cli
from zsar_bench.running.executors import ExecutorConfig, ExecutorError, JobState, make_executor
from zsar_bench.features import integrity
from zsar_bench.features.base import FeatureStoreError, feature_root
from zsar_bench.paths import set_data_root

pytest.importorskip("submitit")

CHANCE = ["--methods", "chance", "--datasets", "olympics", "--folds", "0", "--no-progress", "--no-report"]


def _one_line_error(rc, err):
    assert rc == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- 1. a planted RECORDS.jobs/state.json runs nothing ---------------------------------------------------------

class _Payload:
    """Unpickling this creates the marker file: proof that a planted pickle was loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(jobs, entries):
    jobs.mkdir(parents=True, exist_ok=True)
    (jobs / "state.json").write_text(json.dumps({"version": 1, "jobs": entries}))


def _evil(tmp_path, job_id="4242"):
    """A folder outside the jobs folder with a 'result' whose unpickling writes the marker."""
    evil = tmp_path / "evil"
    evil.mkdir(exist_ok=True)
    marker = tmp_path / "PWNED"
    (evil / f"{job_id}_0_result.pkl").write_bytes(pickle.dumps(("success", _Payload(marker))))
    return evil, marker


def _cases(tmp_path, jobs):
    evil, marker = _evil(tmp_path)
    (jobs / "d-x").mkdir(parents=True, exist_ok=True)
    (jobs / "d-link").symlink_to(evil, target_is_directory=True)
    return marker, {  # each one, before the fix, had the driver unpickle the planted result (or crash)
        "absolute path outside": {"id": "4242", "folder": str(evil)},
        "climbs out with ..": {"id": "4242", "folder": str(jobs / "d-x" / ".." / ".." / "evil")},
        "symlink leading out": {"id": "4242", "folder": str(jobs / "d-link")},
        "relative path out": {"id": "4242", "folder": os.path.relpath(evil)},  # submitit: relative to the cwd
        "job id climbs out": {"id": "../../evil/4242", "folder": str(jobs / "d-x")},
        "no folder": {"id": "4242"},
    }


@pytest.fixture(scope="module")
def chance_key(tmp_path_factory, data_root):
    """The run key of CHANCE (recorded once, inline): a planted entry claiming it is reloaded by a driver."""
    from zsar_bench.results.records import RecordStore, record_key

    rec = tmp_path_factory.mktemp("key") / "r.jsonl"
    assert cli.main([*CHANCE, "--records", str(rec), "--executor", "inline"]) == 0
    (row,) = RecordStore(rec).read()
    return list(record_key(row))


@pytest.mark.parametrize("case", ["absolute path outside", "climbs out with ..", "symlink leading out",
                                  "relative path out", "job id climbs out", "no folder"])
def test_a_planted_state_file_runs_nothing(tmp_path, capsys, case, chance_key):
    rec = tmp_path / "r.jsonl"
    jobs = tmp_path / "r.jsonl.jobs"
    marker, cases = _cases(tmp_path, jobs)
    _plant(jobs, [{**cases[case], "cluster": "local", "keys": [chance_key]}])  # claims the run this command does
    rc = cli.main([*CHANCE, "--records", str(rec), "--executor", "submitit-local", "--jobs", "1"])
    line = _one_line_error(rc, capsys.readouterr().err)
    assert str(jobs / "state.json") in line and "delete it" in line and f"rm {jobs / 'state.json'}" in line
    assert not marker.exists(), "a planted pickle was unpickled"
    assert not rec.exists()  # nothing ran


def test_state_entries_are_checked_when_read_and_when_reloaded(tmp_path):
    jobs = tmp_path / "jobs"
    marker, cases = _cases(tmp_path, jobs)
    _plant(jobs, [{**cases["absolute path outside"], "cluster": "local", "keys": [["a"]]}])
    with pytest.raises(ExecutorError, match="not inside the jobs folder"):
        JobState(jobs).acquire()
    (jobs / "state.json").unlink()
    st = JobState(jobs).acquire()  # an inside folder, given relative or absolute, is accepted and resolved
    st.add({"id": "7", "folder": "d-1", "cluster": "local"}, [("a",)])
    st.add({"id": 8, "folder": str(jobs / "d-2"), "cluster": "local"}, [("b",)])
    st.release()
    st = JobState(jobs).acquire()
    assert [(j["id"], j["folder"]) for j in st.jobs] == [("7", str((jobs / "d-1").resolve())),
                                                         ("8", str((jobs / "d-2").resolve()))]
    st.release()
    ex = make_executor(ExecutorConfig("submitit-local", jobs_dir=str(jobs)), 1, 1, None, tmp_path / "r.jsonl")
    for bad in ("absolute path outside", "symlink leading out", "job id climbs out"):  # the executor checks too
        with pytest.raises(ExecutorError, match="delete it"):
            ex.reload({**cases[bad], "cluster": "local"})
    inside = jobs / "d-ok"
    inside.mkdir()
    (inside / "reply-1.npz").symlink_to(tmp_path / "evil" / "reply-1.npz")  # the reply leads out
    with pytest.raises(ExecutorError, match="its reply .* not loaded"):
        ex.reload({"id": "4242", "folder": str(inside), "cluster": "local", "reply": str(inside / "reply-1.npz"),
                   "runs": 1})
    with pytest.raises(ExecutorError, match="is not a file inside the jobs folder"):  # a reply elsewhere, or none
        ex.reload({"id": "4242", "folder": str(inside), "cluster": "local", "reply": str(tmp_path / "evil" / "r")})
    # submitit's own result pickle is never read any more: a planted one inside the folder runs nothing
    (inside / "4242_0_result.pkl").symlink_to(tmp_path / "evil" / "4242_0_result.pkl")
    (inside / "reply-2.npz").write_bytes(b"not a reply")
    job = ex.reload({"id": "4242", "folder": str(inside), "cluster": "local", "reply": str(inside / "reply-2.npz"),
                     "runs": 1})
    from zsar_bench.running.wire import WireError

    with pytest.raises(WireError, match="reply could not be read"):
        job.result()
    assert not marker.exists()


# -- 2. the text-embedding cache is checksummed -----------------------------------------------------------------

def _cache(tmp_path, ns="test-ns"):
    from zsar_bench.text.cache import EmbeddingCache

    return EmbeddingCache(tmp_path / "text", ns)


def test_an_altered_cached_embedding_is_encoded_again_and_said(tmp_path, monkeypatch):
    from zsar_bench.text import encoders

    class Enc:
        identity, pooling, max_length, dim = "fake-encoder", "mean", 16, 4
        calls = []

        def encode(self, texts):
            self.calls.append(list(texts))
            return np.array([[len(t), 1, 2, 3] for t in texts], np.float32)

    monkeypatch.setattr(encoders, "cache_dir", lambda kind: tmp_path / kind)
    enc = encoders.CachedTextEncoder(Enc(), progress=False)
    first = enc.encode(["a jump", "a throw"])
    assert Enc.calls == [["a jump", "a throw"]]
    import sqlite3

    with sqlite3.connect(enc.cache.path) as db:  # alter one vector in place, as an edit of the file would
        db.execute("UPDATE emb SET vec = ? WHERE text = ?", (np.full(4, 9, np.float32).tobytes(), "a jump"))
    with pytest.warns(UserWarning, match=r"1 cached embedding\(s\) do not match their checksum.*encoded again"):
        again = enc.encode(["a jump", "a throw"])
    np.testing.assert_array_equal(again, first)  # the altered vector never reaches a result
    assert Enc.calls[-1] == ["a jump"]  # only the altered entry was encoded again ...
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(enc.encode(["a jump", "a throw"]), first)  # ... and replaced
    assert len(Enc.calls) == 2


def test_cache_entries_are_bound_to_text_dimension_and_model(tmp_path):
    import sqlite3

    c = _cache(tmp_path)
    c.put_many(["x", "y"], np.eye(2, 3, dtype=np.float32))
    assert set(c.get_many(["x", "y"])) == {"x", "y"}
    with sqlite3.connect(c.path) as db:  # swap two rows' vectors: each still a valid vector, of another text
        vx = db.execute("SELECT vec FROM emb WHERE text='x'").fetchone()[0]
        vy = db.execute("SELECT vec FROM emb WHERE text='y'").fetchone()[0]
        db.execute("UPDATE emb SET vec=? WHERE text='x'", (vy,))
        db.execute("UPDATE emb SET vec=? WHERE text='y'", (vx,))
    with pytest.warns(UserWarning, match="do not match"):
        assert c.get_many(["x", "y"]) == {}
    c.close()
    c = _cache(tmp_path, "other-ns")  # a cache file copied under another model's name verifies nothing
    c.put_many(["x"], np.ones((1, 3), np.float32))
    c.close()
    shutil.copy(c.path, _cache(tmp_path).path)
    with pytest.warns(UserWarning, match="do not match"):
        assert _cache(tmp_path).get_many(["x"]) == {}


def test_a_cache_written_before_checksums_is_encoded_again_once(tmp_path):
    import sqlite3

    (tmp_path / "text").mkdir()
    c = _cache(tmp_path)
    path = c.path
    c.close()
    path.unlink()
    with sqlite3.connect(path) as db:  # the old layout: no checksum column
        db.execute("CREATE TABLE emb (text TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
        db.execute("INSERT INTO emb VALUES ('x', 2, ?)", (np.ones(2, np.float32).tobytes(),))
    c = _cache(tmp_path)
    with pytest.warns(UserWarning, match="without a checksum"):
        assert c.get_many(["x"]) == {}
    c.put_many(["x"], np.ones((1, 2), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(c.get_many(["x"])["x"], np.ones(2, np.float32))


# -- 3. a feature file edited in place, its mtime put back, is caught --------------------------------------------

@pytest.fixture
def private_root(tmp_path, data_root, olympics_features):
    src = feature_root("olympics", "synthetic")
    dst = tmp_path / "features" / "olympics" / "synthetic"
    shutil.copytree(src, dst)
    set_data_root(tmp_path)
    yield dst / "v2"
    set_data_root(data_root)


def _load(**kw):
    from zsar_bench.features import load_feature_set

    return load_feature_set("olympics", "synthetic", **kw)


def _edit_keeping_mtime(path, offset, n=256):
    st = path.stat()
    with open(path, "r+b") as f:
        f.seek(offset)
        data = f.read(n)
        f.seek(offset)
        f.write(bytes(255 - b for b in data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime as they were
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size


def test_an_in_place_edit_with_its_mtime_put_back_is_caught(private_root):
    _load()  # verified in full once
    path = private_root / "features.npy"
    _edit_keeping_mtime(path, path.stat().st_size // 2)  # a block in the middle, not always sampled
    with pytest.raises(FeatureStoreError, match="does not match the checksum.*rm -r"):
        _load()


@pytest.mark.parametrize("manifest", ["with block digests", "written before block digests"])
def test_the_block_sample_catches_what_the_stamp_cannot_see(private_root, monkeypatch, manifest):
    """A change the stamp misses (a forged or coarse ctime, simulated by re-stamping the verification record) is
    caught by the blocks checked on every load, without a full hash. A store written before block digests is
    sampled from the digests taken at its first full verification."""
    man_path = private_root / "manifest.json"
    man = json.loads(man_path.read_text())
    files = integrity.file_digests(private_root, [private_root / "features.npy", private_root / "meta.npz"])
    assert all(len(f["blocks"]["xxh3_64"]) >= 1 for f in files.values())  # written with each store
    if manifest != "with block digests":
        for f in files.values():
            del f["blocks"]
    man["files"] = files
    man_path.write_text(json.dumps(man))
    _load()  # verified in full once
    path = private_root / "features.npy"
    _edit_keeping_mtime(path, path.stat().st_size // 2)
    cache_file = private_root / integrity.VERIFIED
    cache = json.loads(cache_file.read_text())
    cache["features.npy"]["stamp"] = integrity._stamp(path.stat())
    cache_file.write_text(json.dumps(cache))
    monkeypatch.setattr(integrity, "sha256_file", lambda p: pytest.fail(f"full hash of {p}"))
    monkeypatch.setattr(integrity, "SAMPLE_BLOCKS", 10**6)  # every block: deterministic here
    with pytest.raises(FeatureStoreError, match=r"does not match the checksum in its manifest at bytes \d+-\d+"):
        _load()


def test_full_hash_when_asked_or_when_the_last_is_old(private_root, monkeypatch):
    _load()
    calls = []
    real = integrity.sha256_file
    monkeypatch.setattr(integrity, "sha256_file", lambda p: calls.append(p.name) or real(p))
    _load()
    assert calls == []  # a recent full check vouches for the files: only the sample is read
    _load(verify=True)
    assert sorted(calls) == ["features.npy", "meta.npz"]
    monkeypatch.setenv(integrity.VERIFY_ENV, "1")
    _load()
    assert len(calls) == 4
    monkeypatch.delenv(integrity.VERIFY_ENV)
    cache_file = private_root / integrity.VERIFIED
    cache = json.loads(cache_file.read_text())
    for entry in cache.values():
        entry["at"] -= integrity.FULL_EVERY_S + 1
    cache_file.write_text(json.dumps(cache))
    _load()
    assert len(calls) == 6


def test_an_edited_feature_file_fails_the_run_before_any_record(private_root, tmp_path, capsys):
    _load()
    _edit_keeping_mtime(private_root / "features.npy", 4096)
    rec = tmp_path / "r.jsonl"
    rc = cli.main([*CHANCE, "--records", str(rec), "--executor", "inline"])  # the fixture's data root
    line = _one_line_error(rc, capsys.readouterr().err)
    assert "does not match the checksum" in line and "rm -r" in line
    assert not rec.exists()


# -- 4. "defn": null is refused, never the description "None" ----------------------------------------------------

@pytest.mark.parametrize("field,value", [("defn", None), ("defn", 3), ("cleaned_defn", ["a"]),
                                         ("word", None)])
def test_a_description_that_is_not_text_is_refused(tmp_path, field, value):
    from zsar_bench.datasets import get_dataset
    from zsar_bench.text.descriptions import DescriptionsError, load_descriptions

    ds = get_dataset("olympics")
    doc = [{"word": n, "defn": f"A clip of {n}."} for n in ds.names]
    doc[3][field] = value
    f = tmp_path / "desc.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(DescriptionsError) as e:
        load_descriptions(f, "olympics")
    msg = str(e.value)
    assert str(f) in msg and "\n" not in msg and f'"{field}": {json.dumps(value)}' in msg
    if field != "word":
        assert repr(ds.identifiers[3]) in msg and "write it as a string" in msg
    doc[3].pop("cleaned_defn", None)
    doc[3].update(word=ds.names[3], defn=f"A clip of {ds.names[3]}.", cleaned_defn=None)  # null cleaned: allowed
    f.write_text(json.dumps(doc))
    assert load_descriptions(f, "olympics")[ds.identifiers[3]] == f"A clip of {ds.names[3]}."


def test_defn_null_fails_the_run_in_one_line(tmp_path, capsys):
    from zsar_bench.datasets import get_dataset

    ds = get_dataset("olympics")
    doc = [{"word": n, "defn": None if i == 0 else f"A clip of {n}."} for i, n in enumerate(ds.names)]
    f = tmp_path / "desc.json"
    f.write_text(json.dumps(doc))
    rec = tmp_path / "r.jsonl"
    rc = cli.main([*CHANCE, "--records", str(rec), "--descriptions", str(f)])
    line = _one_line_error(rc, capsys.readouterr().err)
    assert str(f) in line and repr(ds.identifiers[0]) in line and '"defn": null' in line
    assert not rec.exists()


def test_list_features_says_whether_the_synthetic_set_is_on_disk(tmp_path):
    """``list features`` does not call a synthetic set installed before it was generated (issue 22)."""
    from zsar_bench.features import list_feature_sets
    from zsar_bench.paths import data_root, set_data_root

    before = data_root()
    try:
        set_data_root(str(tmp_path / "fresh"))
        row = next(r for r in list_feature_sets("olympics") if r["features"] == "synthetic")
        assert row["installed"] is False and "generated on first use" in row["source"]
        folder = tmp_path / "fresh" / "features" / "olympics" / "synthetic" / "v2"
        folder.mkdir(parents=True)
        (folder / "features.npy").write_bytes(b"")
        row = next(r for r in list_feature_sets("olympics") if r["features"] == "synthetic")
        assert row["installed"] is True
    finally:
        set_data_root(str(before))


# -- 5. a damaged text-embedding cache is set aside (or bypassed) and its texts encoded again ----------------------

class _CountingEncoder:
    identity, pooling, max_length, dim = "fake-encoder", "mean", 16, 4

    def __init__(self):
        self.calls = []

    def encode(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), 1, 2, 3] for t in texts], np.float32)


@pytest.mark.parametrize("damage", ["garbage bytes", "garbage pages in the middle"])
def test_a_damaged_text_cache_is_encoded_again_with_a_warning(tmp_path, monkeypatch, damage):
    """It used to fail every run that encodes texts (sqlite3.DatabaseError: file is not a database)."""
    from zsar_bench.text import encoders

    monkeypatch.setattr(encoders, "cache_dir", lambda kind: tmp_path / kind)
    texts = [f"a person doing action number {i} " * 3 for i in range(400)]  # a cache of several pages
    enc = _CountingEncoder()
    cached = encoders.CachedTextEncoder(enc, progress=False)
    first = cached.encode(texts)
    path = cached.cache.path
    cached.cache.close()
    rng = np.random.default_rng(0)
    if damage == "garbage bytes":
        path.write_bytes(rng.bytes(50_000))
    else:
        with open(path, "r+b") as f:
            f.seek(2 * 4096)
            f.write(rng.bytes(6 * 4096))
    n_calls = len(enc.calls)
    with pytest.warns(UserWarning, match=rf"text embedding cache {path} (was|is) damaged \(.*\)") as got:
        again = encoders.CachedTextEncoder(enc, progress=False).encode(texts)
    np.testing.assert_array_equal(again, first)
    assert sorted(t for call in enc.calls[n_calls:] for t in call) == sorted(texts)  # every text encoded again
    said = " ".join(str(w.message) for w in got)
    assert f"moved to {path}.damaged and started afresh" in said or f"delete it (rm {path})" in said
    assert "\n" not in said
    if damage == "garbage bytes":  # set aside: the fresh cache serves the next run, without a warning
        assert (tmp_path / "text" / f"{path.name}.damaged").read_bytes()[:4] != b"SQLi"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_array_equal(encoders.CachedTextEncoder(enc, progress=False).encode(texts), first)
        assert len(enc.calls) == 2 * n_calls  # nothing encoded a third time


def test_a_locked_cache_is_no_damage(tmp_path):
    """Only damage is set aside: another error (locked, read-only, I/O) is raised as it was."""
    import sqlite3

    from zsar_bench.text.cache import _damaged

    assert _damaged(sqlite3.DatabaseError("file is not a database"))
    assert not _damaged(sqlite3.OperationalError("database is locked"))


def test_a_run_on_a_damaged_text_cache_is_recorded(tmp_path, capsys, monkeypatch, data_root):
    from zsar_bench.text import encoders

    cache = tmp_path / "cache"
    monkeypatch.setenv("ZSAR_BENCH_TEXT_CACHE", str(cache))
    encoders.get_text_encoder.cache_clear()  # an encoder of this cache, not one an earlier test kept
    label = ["--methods", "label", "--datasets", "olympics", "--no-progress", "--no-report", "--executor", "inline",
             "--method-args", "label.epochs=1", "--records", str(tmp_path / "r.jsonl")]
    try:
        assert cli.main([*label, "--folds", "0"]) == 0
        (db,) = (cache / "text").glob("*.sqlite")
        db.write_bytes(b"\x00garbage" * 4096)
        capsys.readouterr()
        for fresh, folds in ((False, "1"), (True, "2")):  # found by an open cache (this process) or a new one
            if fresh:
                encoders.get_text_encoder.cache_clear()
            with pytest.warns(UserWarning, match=rf"text embedding cache {db} (was|is) damaged \(file is not a "
                                                 r"database\)") as got:
                rc = cli.main([*label, "--folds", folds])
            err = capsys.readouterr().err
            assert rc == 0 and "Traceback" not in err, err
            assert "changed the harness" not in err  # a warning of the harness's own is no method's doing
            said = " ".join(str(w.message) for w in got)
            assert (f"moved to {db}.damaged and started afresh" if fresh else f"delete it (rm {db})") in said
    finally:
        encoders.get_text_encoder.cache_clear()  # no later test sees this cache
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sorted(r["fold"] for r in rows) == [0, 1, 2]


# -- 6. what a killed generation, import or extraction left is removed (or put back) and said, never a crash --------

def test_a_killed_synthetic_generation_leaves_nothing_in_the_way(private_root, capsys):
    from zsar_bench.features.store import synthetic_on_disk

    dead = private_root.with_name("v2.tmp999999999")  # no such process
    alive = private_root.with_name(f"v2.tmp{os.getppid()}")  # a generation still running: not touched
    for d in (dead, alive):
        d.mkdir()
        (d / "features.npy").write_bytes(b"\x93NUMPY half of it")
    hidden = private_root.parents[3] / "v2-hidden"  # out of the synthetic folder
    private_root.rename(hidden)
    assert not synthetic_on_disk("olympics")  # a leftover is no generated set (nor is it said to be)
    hidden.rename(private_root)
    with pytest.warns(UserWarning, match=rf"removed {dead}: the leftover of a generation that was killed "
                                         r"\(process 999999999 is gone\)"):
        assert len(_load().labels) == 783
    assert not dead.exists() and alive.is_dir()
    shutil.rmtree(alive)
    dead.mkdir()  # and a run: it goes on, and says so
    with pytest.warns(UserWarning, match=rf"removed {dead}: the leftover of a generation that was killed"):
        rc = cli.main([*CHANCE, "--records", str(private_root.parents[3] / "r.jsonl"), "--executor", "inline"])
    err = capsys.readouterr().err
    assert rc == 0 and "Traceback" not in err and "changed the harness" not in err, err
    assert not dead.exists()


@pytest.fixture
def imported_root(tmp_path, data_root):
    """A data root with a small imported set olympics/gen; the data root put back after."""
    from zsar_bench.datasets import get_dataset

    ds = get_dataset("olympics")
    ids = [(f"{c}_{k}", c) for c in ds.identifiers for k in range(4)]
    (tmp_path / "index.csv").write_text("video_id,label\n" + "".join(f"{v},{c}\n" for v, c in ids))
    np.save(tmp_path / "m.npy", np.random.default_rng(0).standard_normal((len(ids), 8)).astype(np.float32))
    root = tmp_path / "root"
    assert cli.main(["import-features", "olympics", "gen", str(tmp_path / "m.npy"), "--from", "generic", "--index",
                     str(tmp_path / "index.csv"), "--data-root", str(root)]) == 0
    yield root
    set_data_root(data_root)


def test_a_killed_import_leaves_nothing_lost_or_in_the_way(imported_root, tmp_path, capsys):
    """kill -9 of ``import-features --overwrite`` between its two renames left the set only in .staging (the next
    import deleted it); one killed while writing left a partial copy there."""
    from zsar_bench.features import list_feature_sets

    sets = imported_root / "features" / "olympics"
    stage = sets / ".staging"
    stage.mkdir()
    (sets / "gen").rename(stage / "gen.old.999999999.abcd1234")
    (stage / "gen.999999999.cafe0000" / "table").mkdir(parents=True)  # a copy being written when the kill came
    set_data_root(imported_root)
    assert [r["features"] for r in list_feature_sets("olympics")] == ["synthetic"]  # .staging is no feature set
    capsys.readouterr()
    with pytest.warns(UserWarning) as got:
        rc = cli.main(["--methods", "chance", "--datasets", "olympics", "--folds", "0", "--no-progress",
                       "--no-report", "--features", "gen", "--executor", "inline", "--data-root", str(imported_root),
                       "--records", str(tmp_path / "r.jsonl")])
    err = capsys.readouterr().err
    assert rc == 0 and "Traceback" not in err and "changed the harness" not in err, err
    said = [str(w.message) for w in got]
    assert f"feature set olympics/gen: an import with --overwrite was killed after moving the old set aside " \
           f"({stage / 'gen.old.999999999.abcd1234'}); the old set is back in {sets / 'gen'}" in said, said
    assert f"removed {stage / 'gen.999999999.cafe0000'}: the leftover of an import that was killed (process " \
           "999999999 is gone)" in said, said
    assert not stage.exists() and (sets / "gen" / "manifest.json").is_file()
    assert [r["features"] for r in list_feature_sets("olympics")] == ["synthetic", "gen"]


def test_a_symlink_loop_in_a_feature_set_is_one_line(imported_root, tmp_path, capsys):
    man = imported_root / "features" / "olympics" / "gen" / "manifest.json"
    man.unlink()
    man.symlink_to(man)
    rc = cli.main([*CHANCE, "--features", "gen", "--data-root", str(imported_root),
                   "--records", str(tmp_path / "r.jsonl")])
    line = _one_line_error(rc, capsys.readouterr().err)
    assert f"feature set olympics/gen: its path {man} is a symlink loop" in line and f"rm {man}" in line, line
    from zsar_bench.features import list_feature_sets

    (row,) = [r for r in list_feature_sets("olympics") if r["features"] == "gen"]
    assert row["installed"] is False and "symlink loop" in row["source"]


def test_a_killed_extraction_with_torn_settings_starts_again_or_says_restart(tmp_path):
    from zsar_bench.features.extract import _open_stage

    stage = tmp_path / ".extract" / "gen"
    stage.mkdir(parents=True)
    (stage / "config.json").write_text('{"backbone": "tsm", "fr')  # killed while writing it: nothing extracted
    with pytest.warns(UserWarning, match=rf"removed {stage}: the start of an extraction that was killed"):
        _open_stage(stage, {"backbone": "tsm"}, "olympics", "gen", restart=False)
    assert json.loads((stage / "config.json").read_text()) == {"backbone": "tsm"}
    (stage / "config.json").write_text('{"backbone": "t')
    (stage / "shard-000000.npz").write_bytes(b"")  # shards whose settings are unknown: never mixed silently
    with pytest.raises(FeatureStoreError, match=r"unreadable config\.json; pass --restart to discard it"):
        _open_stage(stage, {"backbone": "tsm"}, "olympics", "gen", restart=False)
    _open_stage(stage, {"backbone": "tsm"}, "olympics", "gen", restart=True)
    assert not (stage / "shard-000000.npz").exists() and not list(stage.glob(".config*"))
