"""Result records: one flat JSON object per line; a run is recorded once; nothing recorded is lost.

A run's key is ``KEY_FIELDS`` (method, config hash, dataset, feature set, protocol, split hash, fold,
seed, ...). Design, and why it is safe against crashes (kill -9 at any instruction) and concurrent
writers (several commands, ``--jobs`` workers):

- **One lock for every write.** Appends, ``--overwrite`` supersedes and removals all take an exclusive
  ``flock`` on the records file. A rewrite renames a new file over the old one, so a writer that was
  waiting on the old file's lock re-checks after locking that the path still names the file it locked
  and otherwise retries on the new one: no row is ever appended to an unlinked file.
- **Appends** are one ``write`` on an O_APPEND descriptor, then ``fsync``: a crash loses at most the row
  being written (a torn last line is skipped with a warning when reading; that run is simply redone).
  An append that fails (disk full, I/O error: at the write or at the fsync) cuts the file back to its
  size before it, so no torn line is left, and keeps the row in ``<records>.unsaved`` beside it (else in
  the temporary folder, else in the error itself); the ``RecordsError`` says where and how to add it back.
- **Recorded once.** The runner de-duplicates run keys when planning, skips runs already recorded, and
  appends with ``append_if_absent``, which checks the key again *under the lock*: two identical commands
  started together both train a run, but only the first to finish records it.
- **--overwrite writes the new row first.** ``supersede`` appends the new row (fsynced), then, still
  under the lock, rewrites the file without the older rows of that key (temporary file beside it,
  fsync, atomic ``rename``, fsync of the folder). Old rows stay until their replacement is on disk: a
  crash before the append leaves the old row, between append and rename both rows (readers take the
  last one, the new one), after the rename the new one alone. Lines a rewrite cannot parse are kept as
  they are; a temporary file left by a crash is removed by the next rewrite.
- **Rows are versioned** (``record_schema``: the ``Record`` type, its JSON Schema, ``migrate``): reading
  migrates rows of older versions in memory (version 1, without ``record_version``: ``mode`` "zsl",
  ``revision`` 1 and ``train_dataset`` = ``dataset`` where missing); the file is never rewritten for it.
  Fields a row has beyond the type are kept; rows of a newer version are read as they are, with one
  warning per file and version.
- **Readers count each key once** (``dedupe``/``read_unique``: the last row of a key wins, as a crash
  mid-supersede leaves the new row last) and say when a file holds duplicates (hand edits, files
  concatenated, or rows written by older versions). Lines that are not JSON objects (``42``, ``null``,
  torn or binary lines) are skipped with a warning naming file:line, never a crash.
"""
from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

if __package__:
    from ..errors import ZsarBenchError
    from .record_schema import RECORD_VERSION, Record, is_newer, migrate
else:  # this file loaded on its own (spec_from_file_location, as the store's stress tests do): its siblings
    import importlib.util
    import sys

    _errors = sys.modules.get("zsar_bench_errors")
    if _errors is None:
        _spec = importlib.util.spec_from_file_location("zsar_bench_errors", Path(__file__).parent.parent / "errors.py")
        _errors = importlib.util.module_from_spec(_spec)
        sys.modules[_spec.name] = _errors
        _spec.loader.exec_module(_errors)
    ZsarBenchError = _errors.ZsarBenchError
    _schema = sys.modules.get("zsar_bench_record_schema")
    if _schema is None:
        _spec = importlib.util.spec_from_file_location("zsar_bench_record_schema",
                                                       Path(__file__).with_name("record_schema.py"))
        _schema = importlib.util.module_from_spec(_spec)
        sys.modules[_spec.name] = _schema  # pydantic resolves the type's annotations through sys.modules
        _spec.loader.exec_module(_schema)
    RECORD_VERSION, Record, is_newer, migrate = _schema.RECORD_VERSION, _schema.Record, _schema.is_newer, _schema.migrate

KEY_FIELDS = Record.KEY_FIELDS
DEFAULT_RECORDS = Path("results") / "records.jsonl"


def record_key(rec: dict) -> tuple:
    """The run's identity; records from before evaluation modes existed count as zero-shot ("zsl")."""
    return tuple(rec.get(k, Record.DEFAULT_MODE) if k == "mode" else rec.get(k) for k in KEY_FIELDS)


_warned_newer: set[tuple[str, str]] = set()  # (file, version) already warned about in this process


def migrate_rows(rows: Iterable[dict], source: object = "records") -> list[dict]:
    """``migrate`` each row (older versions read as the current one; the rows given are not changed). Rows
    of a newer ``record_version`` than this code knows are kept as they are, with one warning per
    (``source``, version) in this process."""
    out, newer = [], {}
    for r in rows:
        if is_newer(r):
            newer[repr(r.get("record_version"))] = newer.get(repr(r.get("record_version")), 0) + 1
        out.append(migrate(r))
    for v, n in newer.items():
        if (str(source), v) not in _warned_newer:
            _warned_newer.add((str(source), v))
            warnings.warn(f"{source}: {n} record(s) of record_version {v}, newer than this zsar-bench knows "
                          f"({RECORD_VERSION}); read as they are (upgrade zsar-bench to read them fully)",
                          stacklevel=3)
    return out


class RecordsError(ZsarBenchError):
    """The records file cannot be used as asked (a folder, not writable, missing): a one-line message."""


def parse_record_line(line: str, where: str) -> dict | None:
    """One line of a records file as a record, or None (with a warning naming ``where``) when it is not one."""
    line = line.strip().lstrip("\ufeff")  # a byte-order mark (a file saved by an editor) is not part of the record
    if not line:
        return None
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        warnings.warn(f"{where}: skipping a torn or malformed record line", stacklevel=3)
        return None
    if not isinstance(rec, dict):
        warnings.warn(f"{where}: skipping a record line that is not a JSON object ({type(rec).__name__})",
                      stacklevel=3)
        return None
    if not _plain_key(rec):
        warnings.warn(f"{where}: skipping a record whose key fields ({', '.join(KEY_FIELDS)}) are not plain values",
                      stacklevel=3)
        return None
    return rec


def table_rows(records: Iterable[dict]) -> list[dict]:
    """The records a table may average: a record whose fold or seed is not a whole number, or whose metric is not
    a number in [0, 1], is left out with a warning; a NaN metric is kept, with a warning that its row's mean stays
    empty. (The store itself keeps every row: its keys are what makes appends idempotent.)"""
    out = []
    for rec in records:
        what = f"a record of {rec.get('method')!r} on {rec.get('dataset')!r} fold {rec.get('fold')!r}"
        problem = _value_problem(rec)
        if problem:
            warnings.warn(f"skipping {what}: {problem}", stacklevel=3)
            continue
        nan = [k for k in Record.METRIC_FIELDS if isinstance(rec.get(k), float) and math.isnan(rec[k])]
        if nan:
            warnings.warn(f"{what} has NaN {', '.join(nan)}: the tables leave the mean of its row empty", stacklevel=3)
        out.append(rec)
    return out


def _value_problem(rec: dict) -> str | None:
    """What makes a parsed record unusable for the tables: a fold or seed that is not a whole number (a string fold
    id would count as a fold of its own and hide a missing one), a metric that is not a number in [0, 1] (a NaN
    is kept: the reports leave its mean empty and say so)."""
    for k in ("fold", "seed"):
        v = rec.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            return f"its {k} is {v!r}, not a whole number"
    for k in Record.METRIC_FIELDS:
        v = rec.get(k)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return f"its {k} is {v!r}, not a number"
        if not math.isnan(v) and not 0.0 <= v <= 1.0:
            return f"its {k} is {v!r}, outside [0, 1] (metrics are fractions)"
    return None


def _plain_key(rec: object) -> bool:
    """True for a JSON object whose run key can be compared (no lists or objects among the key fields)."""
    if not isinstance(rec, dict):
        return False
    try:
        hash(record_key(rec))
    except TypeError:
        return False
    return True


def dedupe(records: Iterable[dict]) -> tuple[list[dict], int]:
    """(one row per run key, the last one in file order; number of extra rows dropped)."""
    by_key: dict[tuple, dict] = {}
    n = 0
    for r in records:
        n += 1
        by_key[record_key(r)] = r
    return list(by_key.values()), n - len(by_key)


# what two rows of one run must share to be the same result (``same_numbers``)
RESULT_FIELDS = Record.METRIC_FIELDS + ("n_train_videos", "n_val_videos", "n_test_videos")


def _same_value(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:  # NaN (an empty GZSL side)
        return True
    return type(a) is type(b) and a == b


def same_numbers(a: dict, b: dict) -> bool:
    """Whether two rows of one run hold the same result: every metric and clip count equal (NaN equals NaN)."""
    return all(_same_value(a.get(f), b.get(f)) for f in RESULT_FIELDS)


def contested_runs(records: Iterable[dict]) -> dict[tuple, list[dict]]:
    """Runs (key -> their rows, in file order) recorded more than once with different numbers: rows written
    by more than one writer that disagree (a method or a person writing rows, files concatenated). Readers count
    the last row of each; reports name these runs."""
    by_key: dict[tuple, list[dict]] = {}
    for r in records:
        by_key.setdefault(record_key(r), []).append(r)
    return {k: rows for k, rows in by_key.items()
            if len(rows) > 1 and not all(same_numbers(rows[-1], r) for r in rows[:-1])}


def duplicates_note(path, n_duplicates: int) -> str:
    return (f"{path} holds {n_duplicates} duplicate row(s) of runs recorded more than once; each run is counted "
            "once (its last row)")


def folder_unwritable(folder: str | Path) -> str | None:
    """Why files cannot be created in ``folder`` (or, if it does not exist yet, in the nearest folder above it,
    where it would be made), or None when they can. A probe file is created and removed: this asks the file
    system itself (root, read-only mounts, ACLs, immutable folders), not the permission bits."""
    folder = Path(folder)
    if folder.is_symlink() and not folder.exists():
        return f"{folder} is a symlink to {os.readlink(folder)}, which does not exist"
    probe = folder
    while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    name = probe / f".zsar-probe.{os.getpid()}.{os.urandom(4).hex()}"
    try:
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as e:
        return f"{probe} is not writable ({e.strerror or e})"
    try:
        os.unlink(name)
    except OSError:
        pass
    return None


FS_IOC_GETFLAGS = 0x80086601  # Linux: a file's chattr flags
FS_IMMUTABLE_FL, FS_APPEND_FL = 0x10, 0x20


def no_replace_flag(path: Path) -> str | None:
    """``"append-only (chattr +a)"`` or ``"immutable (chattr +i)"`` when the file may not be replaced (renamed over or
    deleted, which --overwrite's rewrite does), else None; None too where the flags cannot be read (not Linux, a
    file system without them)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        buf = bytearray(8)
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf, True)
        flags = int.from_bytes(buf[:4], "little")
    except (OSError, ValueError, TypeError):
        return None
    finally:
        os.close(fd)
    return ("immutable (chattr +i)" if flags & FS_IMMUTABLE_FL else
            "append-only (chattr +a)" if flags & FS_APPEND_FL else None)


def _symlink_loop(path: Path) -> Path | None:
    """The link of a symlink loop that ``path`` runs into (itself or a folder on it), or None (paths.symlink_loop;
    not imported: this file also loads on its own)."""
    try:
        os.stat(path)
        return None
    except OSError as e:
        if e.errno != errno.ELOOP:
            return None
    for i in range(1, len(path.parts) + 1):
        try:
            os.stat(Path(*path.parts[:i]))
        except OSError as e:
            return Path(*path.parts[:i]) if e.errno == errno.ELOOP else None
    return path


# pragma: no mutate start (file reading, locking and writing: tests/test_reliability_records.py pins them with real
# processes, too slow for a mutation run; docs/mutation.md)
class RecordStore:
    """One records file. Every write (append, supersede, remove) holds an exclusive ``flock`` on it."""

    def __init__(self, path: str | Path = DEFAULT_RECORDS):
        self.path = Path(path)
        self._keys_cache: tuple[tuple, frozenset] | None = None
        loop = _symlink_loop(self.path)
        if loop is not None:  # neither there nor creatable: "does not exist" would send the user the wrong way
            where = "is a symlink loop (a link that leads back to itself)" if loop == self.path else \
                f"goes through a symlink loop at {loop}"
            raise RecordsError(f"records file {self.path} {where}; remove the link (rm {loop}) or pass --records "
                               "PATH.jsonl, a plain file")
        if self.path.exists() and not self.path.is_file() and not self.path.is_dir():  # reading it would block
            raise RecordsError(f"records file {self.path} is not a regular file (a pipe or a device?); pass --records "
                               "PATH.jsonl, a plain file")

    # -- reading (no lock: rows are appended whole and rewrites are atomic renames) --

    def _rows_from(self, data: bytes) -> list[dict]:
        out = []
        for i, raw in enumerate(data.split(b"\n"), 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                warnings.warn(f"{self.path}:{i}: skipping a record line that is not UTF-8", stacklevel=3)
                continue
            rec = parse_record_line(text, f"{self.path}:{i}")
            if rec is not None:
                out.append(rec)
        return out

    def read(self) -> list[dict]:
        """Every well-formed row in file order (duplicate keys included; see ``read_unique``), migrated to
        the current ``record_version`` in memory (``record_schema.migrate``; the file is left as it is)."""
        if not self.path.is_file():
            return []
        return migrate_rows(self._rows_from(self.path.read_bytes()), self.path)

    def read_unique(self) -> tuple[list[dict], int]:
        """(one row per run key, the last; number of duplicate rows), warning when there are duplicates."""
        rows, n_dup = dedupe(self.read())
        if n_dup:
            warnings.warn(duplicates_note(self.path, n_dup), stacklevel=2)
        return rows, n_dup

    def _signature(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def keys(self) -> frozenset:
        """Keys of the recorded runs; re-parsed only when the file changed (cheap to call before every run)."""
        sig = self._signature()
        if sig is None:
            return frozenset()
        if self._keys_cache is not None and self._keys_cache[0] == sig:
            return self._keys_cache[1]
        keys = frozenset(record_key(r) for r in self.read())
        if self._signature() == sig:  # unchanged while we read it
            self._keys_cache = (sig, keys)
        return keys

    def __contains__(self, key: tuple) -> bool:
        return key in self.keys()

    # -- checks --

    def check_writable(self, rewrite: bool = False) -> None:
        """Raise RecordsError (one line: the path and the fix) unless records can be written here.

        Cheap and side-effect free (a probe file is created and removed): call it before any training.
        ``rewrite`` (--overwrite) also needs the folder writable, for the atomic rewrite."""
        p = self.path
        hint = "pass --records PATH.jsonl in a writable folder"
        if p.is_symlink() and not p.exists():  # appending would create the target, or fail after training
            target = Path(os.path.join(p.parent, os.readlink(p)))
            raise RecordsError(f"records file {p} is a symlink to {target}, which does not exist (a dangling link); "
                               f"create it (mkdir -p {target.parent} && touch {target}), remove the link, or {hint}")
        if p.is_dir():
            raise RecordsError(f"records path {p} is a folder, not a file; {hint} (e.g. --records {p / 'records.jsonl'})")
        parent = p.parent
        blocker = parent
        while not blocker.exists() and blocker != blocker.parent:
            blocker = blocker.parent
        if not blocker.is_dir():
            raise RecordsError(f"records file {p} cannot be created: {blocker} is a file, not a folder; {hint}")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RecordsError(f"cannot create the folder of records file {p} ({e.strerror or e}); {hint}") from None
        if p.exists():
            try:
                fd = os.open(p, os.O_WRONLY | os.O_APPEND)
                os.close(fd)
            except OSError as e:
                raise RecordsError(f"records file {p} is not writable ({e.strerror or e}); make it writable "
                                   f"(chmod u+w, chattr -i) or {hint}") from None
            if not p.is_file():
                raise RecordsError(f"records path {p} is not a regular file; {hint}")
        if rewrite and p.is_file():
            flag = no_replace_flag(p)
            if flag:
                raise RecordsError(f"records file {p} is {flag}: --overwrite drops a run's old row by replacing the "
                                   f"file, which that forbids; rerun without --overwrite (runs not recorded yet are "
                                   f"appended), or lift it first (chattr -{flag[-2]} {p}), or {hint}")
        if rewrite or not p.exists():
            if rewrite and p.exists():  # the rewrite happens beside the real file (symlinks followed)
                parent = Path(os.path.realpath(p)).parent
            probe = parent / f".{p.name}.{os.getpid()}.probe"
            try:
                os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
                os.unlink(probe)
            except OSError as e:
                raise RecordsError(f"folder {parent} of records file {p} is not writable ({e.strerror or e}); "
                                   f"{'--overwrite rewrites the file there; ' if rewrite else ''}{hint}") from None

    # -- writing (all under the lock) --

    @contextmanager
    def _locked(self) -> Iterator[int]:
        """An O_APPEND fd on the records file with an exclusive flock held.

        A rewrite replaces the file (new inode); a writer that was waiting on the old inode's lock would
        append to an unlinked file, so after locking we check that the path still names the locked file and
        retry if not."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                st = os.fstat(fd)
                try:
                    cur = os.stat(self.path)
                except FileNotFoundError:
                    cur = None
                if cur is None or (cur.st_dev, cur.st_ino) != (st.st_dev, st.st_ino):
                    continue  # replaced while we waited: lock the new file (finally closes this fd)
                yield fd
                return
            finally:
                os.close(fd)  # closing the fd releases the lock

    @property
    def unsaved_path(self) -> Path:
        """Where a row that could not be appended is kept: ``<records>.unsaved`` beside the records file."""
        return self.path.with_name(self.path.name + ".unsaved")

    def _append_locked(self, fd: int, rec: dict) -> None:
        row = (json.dumps(rec, sort_keys=True, allow_nan=True) + "\n").encode("utf-8")
        # a previous crash may have left a line without its newline: start on a fresh line
        size = os.fstat(fd).st_size
        line = b"\n" + row if size and os.pread(fd, 1, size - 1) != b"\n" else row
        try:
            _write_all(fd, line)
            os.fsync(fd)
        except OSError as e:  # disk full, I/O error: no torn line left, the row kept elsewhere
            try:
                os.ftruncate(fd, size)
                os.fsync(fd)
            except OSError:
                pass  # a torn last line is skipped when reading
            raise RecordsError(f"could not append to records file {self.path} ({e.strerror or e}); "
                               f"{self._keep_unsaved(row)}") from None

    def _keep_unsaved(self, row: bytes) -> str:
        """Save a row the records file refused; returns where it went and how to add it back (one line)."""
        for side in (self.unsaved_path,
                     Path(tempfile.gettempdir()) / f"{self.path.name}.{os.getpid()}.unsaved"):
            try:
                fd = os.open(side, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError:
                continue
            size = None
            try:
                size = os.fstat(fd).st_size
                _write_all(fd, row)
                os.fsync(fd)
            except OSError:
                try:
                    if size is not None:
                        os.ftruncate(fd, size)  # no torn line in the side file either
                except OSError:
                    pass
                continue
            finally:
                os.close(fd)
            return (f"the run's record is kept in {side}; once there is space, add it (cat {side} >> {self.path} "
                    f"&& rm {side}) before rerunning, so that run is not redone")
        return "the run's record could not be saved anywhere; here it is, add it to the records as one line: " + \
            row.decode("utf-8").strip()

    def _note_written(self, keys: frozenset) -> None:
        sig = self._signature()
        self._keys_cache = (sig, keys) if sig is not None else None

    def _not_written(self, rec: dict, e: OSError) -> RecordsError:
        """The records file could not even be opened, locked or read to append ``rec``: keep the row aside."""
        row = (json.dumps(rec, sort_keys=True, allow_nan=True) + "\n").encode("utf-8")
        return RecordsError(f"could not write to records file {self.path} ({e.strerror or e}); "
                            f"{self._keep_unsaved(row)}")

    def append(self, rec: dict) -> None:
        """Append one row unconditionally (one ``write`` under the lock, then ``fsync``)."""
        try:
            with self._locked() as fd:
                old = self._keys_cache
                sig = self._signature()
                self._append_locked(fd, rec)
                if old is not None and old[0] == sig:
                    self._note_written(old[1] | {record_key(rec)})
        except OSError as e:
            raise self._not_written(rec, e) from None

    def append_if_absent(self, rec: dict) -> bool:
        """Append ``rec`` unless a row with its key is already there (checked under the lock). True if written."""
        try:
            with self._locked() as fd:
                keys = self.keys()
                key = record_key(rec)
                if key in keys:
                    return False
                self._append_locked(fd, rec)
                self._note_written(keys | {key})
                return True
        except OSError as e:
            raise self._not_written(rec, e) from None

    def supersede(self, rec: dict) -> int:
        """--overwrite: append ``rec``, then drop the older rows of its key. Returns how many were dropped.

        Under one lock: (1) the new row is appended and fsynced, (2) the file is rewritten without the
        older rows of that key (temporary file, fsync, atomic rename). A crash before (1) leaves the old
        row; between (1) and (2) both rows, and readers count the last (the new one); after (2) the new
        one alone. No moment has neither."""
        key = record_key(rec)
        appended = False
        try:
            with self._locked() as fd:
                self._append_locked(fd, rec)
                appended = True
                return self._rewrite_locked(lambda k, last: k == key and not last)
        except OSError as e:
            if appended:  # the new row is on disk; only the older rows stay (readers take the new one)
                flag = no_replace_flag(self.path)
                why = f"; it is {flag}" if flag else ""
                raise RecordsError(
                    f"--overwrite: the new record of {rec.get('method')} {rec.get('dataset')} fold {rec.get('fold')} "
                    f"seed {rec.get('seed')} is kept in {self.path} (appended after the old one; reports count a "
                    f"run's last row), but the old row could not be dropped: replacing the file failed "
                    f"({e.strerror or e}{why}); make {self.path} replaceable (chattr -a, a writable folder) and rerun "
                    "with --overwrite to drop the old rows, or rerun without it") from None
            raise self._not_written(rec, e) from None

    def remove(self, keys: Iterable[tuple]) -> int:
        """Drop every row with one of these keys; an atomic rewrite under the lock. Returns rows dropped."""
        keys = set(keys)
        with self._locked():
            return self._rewrite_locked(lambda k, last: k in keys)

    def _rewrite_locked(self, drop: Callable[[tuple, bool], bool]) -> int:
        """Rewrite the (locked) file without the rows for which ``drop(key, is_last_row_of_key)`` holds.

        Lines that are not records (torn, malformed) are kept as they are: a rewrite never loses bytes it
        does not understand. The new file is written beside the old, fsynced, then renamed over it."""
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        parsed: list[tuple | None] = []
        for raw in lines:
            try:
                rec = json.loads(raw)
            except ValueError:  # torn, malformed or not UTF-8
                rec = None
            parsed.append(record_key(rec) if _plain_key(rec) else None)
        last_index = {k: i for i, k in enumerate(parsed) if k is not None}
        keep, dropped = [], 0
        for i, (raw, k) in enumerate(zip(lines, parsed)):
            if k is not None and drop(k, last_index[k] == i):
                dropped += 1
            else:
                keep.append(raw)
        if not dropped:
            self._note_written(frozenset(k for k in parsed if k is not None))
            return 0
        real = Path(os.path.realpath(self.path))  # a symlinked records file stays a symlink
        for stale in real.parent.glob(f".{real.name}.*.tmp"):  # left by a crash mid-rewrite
            stale.unlink(missing_ok=True)
        tmp = real.parent / f".{real.name}.{os.getpid()}.tmp"
        mode = os.stat(real).st_mode & 0o7777
        try:
            with open(tmp, "wb") as f:
                f.write(b"".join(line + b"\n" for line in keep))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, real)
        except OSError:  # the records file as it was; no copy left beside it
            tmp.unlink(missing_ok=True)
            raise
        dfd = os.open(real.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        self._note_written(frozenset(k for i, k in enumerate(parsed)
                                     if k is not None and not drop(k, last_index[k] == i)))
        return dropped


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` (a short write is continued; one that writes nothing is an error)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.EIO, "the write made no progress")
        view = view[n:]


# pragma: no mutate end
