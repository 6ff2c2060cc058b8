"""On-disk embedding cache: one SQLite file per (model identity, pooling), keyed by text.

SQLite gives atomic, concurrent-safe writes for free (several --jobs workers may share a cache).

Every entry carries a checksum (``sum``: xxh3-128 of the text, the dimension and the vector's bytes, seeded by
the cache's namespace), written with it and checked on every read. An entry whose vector (or text, or
dimension) was changed after it was written, or one copied from another model's cache, does not match: it is
not returned, so the caller (``CachedTextEncoder``, the sweep's pre-encoding) encodes that text again and
stores the new vector over it, and a warning names the file and how many entries were redone. Entries
written before checksums existed (``sum`` NULL) cannot be verified and are encoded again the same way, once.
Cost: about 0.5 µs of hashing per entry read; opening a cache and reading 10k entries of 384 floats takes
about as long as before checksums (70-80 ms of CPU here): the vectors of a read now share one buffer
instead of one array each, which pays for the checksums.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import warnings
from pathlib import Path
from typing import Iterable

import numpy as np

CHECKSUM = "xxh3_128"  # recorded in the file's meta table


# SQLITE_CORRUPT ("database disk image is malformed"), SQLITE_NOTADB ("file is not a database")
SQLITE_DAMAGE = (11, 26)


def _damaged(e: sqlite3.DatabaseError) -> bool:
    """Whether ``e`` says the file is damaged (not "locked", "read-only", "disk I/O error": those are no damage)."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in SQLITE_DAMAGE
    return "not a database" in str(e) or "malformed" in str(e)


class EmbeddingCache:
    """A damaged file (garbage bytes, a torn copy) never fails a run: found when the cache is opened, it is moved
    aside to ``<file>.damaged`` and a fresh cache started; found later, while reading or writing, this cache goes on
    in memory. Either way its texts are encoded again and a warning names the file."""

    def __init__(self, directory: Path, namespace: str):
        directory.mkdir(parents=True, exist_ok=True)
        fname = hashlib.sha256(namespace.encode()).hexdigest()[:24] + ".sqlite"
        self.path = directory / fname
        self.namespace = namespace
        # the namespace seeds every entry's checksum: an entry of another model's cache never verifies here
        self._seed = int.from_bytes(hashlib.sha256(namespace.encode()).digest()[:8], "little")
        try:
            self._conn = self._open(self.path)
        except sqlite3.DatabaseError as e:
            if not _damaged(e):
                raise
            self._conn = self._set_aside(e)

    def _open(self, where) -> sqlite3.Connection:
        conn = sqlite3.connect(where, timeout=60)
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS emb (text TEXT PRIMARY KEY, dim INTEGER, vec BLOB, sum BLOB)")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            self._conn = conn
            self._add_checksum_column()
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('namespace', ?)", (self.namespace,))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('checksum', ?)", (CHECKSUM,))
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def _set_aside(self, e: sqlite3.DatabaseError) -> sqlite3.Connection:
        """The damaged file moved to ``<file>.damaged`` (its journal too: replayed into a fresh file, it would
        damage that) and a fresh cache opened in its place; in memory when that fails as well."""
        aside = self.path.with_name(self.path.name + ".damaged")
        try:
            for suffix in ("-journal", "-wal", "-shm", ""):
                src = self.path.with_name(self.path.name + suffix)
                if src.exists():
                    os.replace(src, aside.with_name(aside.name + suffix))
            conn = self._open(self.path)
        except (OSError, sqlite3.DatabaseError) as e2:
            return self._in_memory(e, f"it could not be set aside ({e2}); delete it (rm {self.path}) so that later "
                                      "runs rebuild it")
        warnings.warn(f"text embedding cache {self.path} was damaged ({e}): moved to {aside} and started afresh; "
                      f"its texts are encoded again, once (delete {aside} when you no longer need it)", stacklevel=3)
        return conn

    def _in_memory(self, e: sqlite3.DatabaseError, what: str) -> sqlite3.Connection:
        warnings.warn(f"text embedding cache {self.path} is damaged ({e}); this process encodes its texts again "
                      f"without it; {what}", stacklevel=4)
        return self._open(":memory:")

    def _fall_back(self, e: sqlite3.DatabaseError) -> None:
        """Damage found while reading or writing (other processes may still use the file): go on in memory."""
        if not _damaged(e):
            raise e
        try:
            self._conn.close()
        except sqlite3.Error:
            pass
        self._conn = self._in_memory(e, f"delete it (rm {self.path}) so that later runs rebuild it")

    def _add_checksum_column(self) -> None:
        """A cache written before checksums existed gets the ``sum`` column (its old rows: NULL, re-encoded)."""
        cols = [r[1] for r in self._conn.execute("PRAGMA table_info(emb)")]
        if "sum" in cols:
            return
        try:
            self._conn.execute("ALTER TABLE emb ADD COLUMN sum BLOB")
        except sqlite3.OperationalError:  # another process added it in the meantime
            if "sum" not in [r[1] for r in self._conn.execute("PRAGMA table_info(emb)")]:
                raise

    def _hasher(self):
        import xxhash  # a dependency of datasets (hence of zsar-bench)

        return xxhash.xxh3_128(seed=self._seed)

    @staticmethod
    def _checksum(h, text: bytes, dim: int, blob: bytes) -> bytes:
        """The entry's checksum: of its dimension (4 bytes), vector bytes (``4 * dim`` of them) and text, in that
        order, with ``h`` from ``_hasher()`` (reset here: one hasher serves many entries). ``get_many`` inlines it."""
        h.reset()  # keeps the seed
        h.update(int(dim).to_bytes(4, "little"))
        h.update(blob)
        h.update(text)
        return h.digest()

    def get_many(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached, verified embeddings of ``texts`` (text -> vector). An entry that fails its checksum, or
        has none (written by an older zsar-bench), is left out, so that the caller encodes it again (with a
        warning naming this file)."""
        texts = list(dict.fromkeys(texts))
        try:
            return self._get_many(texts)
        except sqlite3.DatabaseError as e:
            self._fall_back(e)
            return {}

    def _get_many(self, texts: list[str]) -> dict[str, np.ndarray]:
        good: dict[int, tuple[list, list]] = {}  # dim -> (texts, vector bytes) of the entries that verify
        changed: list[str] = []
        unverified = 0
        h = self._hasher()
        reset, update, digest = h.reset, h.update, h.digest
        dim_bytes: dict = {}
        for i in range(0, len(texts), 500):
            chunk = texts[i:i + 500]
            q = "SELECT text, dim, vec, sum FROM emb WHERE text IN (%s)" % ",".join("?" * len(chunk))
            for t, dim, blob, stored in self._conn.execute(q, chunk):
                if stored is None:
                    unverified += 1
                    continue
                db = dim_bytes.get(dim)
                if db is None:
                    db = dim_bytes[dim] = int(dim).to_bytes(4, "little") if isinstance(dim, int) and dim > 0 else b""
                if not db or not isinstance(blob, bytes) or len(blob) != 4 * dim:
                    changed.append(t)
                    continue
                reset()
                update(db)
                update(blob)
                update(t.encode())
                if digest() != stored:
                    changed.append(t)
                    continue
                ts, bs = good.setdefault(dim, ([], []))
                ts.append(t)
                bs.append(blob)
        out: dict[str, np.ndarray] = {}
        for dim, (ts, bs) in good.items():  # one buffer per dimension; each vector a (read-only) row of it
            out.update(zip(ts, np.frombuffer(b"".join(bs), dtype=np.float32).reshape(len(ts), dim)))
        if changed:
            warnings.warn(f"text embedding cache {self.path}: {len(changed)} cached embedding(s) do not match their "
                          f"checksum (changed after they were written; e.g. of {changed[0][:60]!r}); they are "
                          "encoded again and replaced", stacklevel=3)
        if unverified:
            warnings.warn(f"text embedding cache {self.path}: {unverified} cached embedding(s) were written without a "
                          "checksum (by an older zsar-bench); they are encoded again, once", stacklevel=3)
        return out

    def put_many(self, texts: list[str], vectors: np.ndarray) -> None:
        rows, h = [], self._hasher()
        for t, v in zip(texts, vectors):
            blob = np.ascontiguousarray(v, dtype=np.float32).tobytes()
            dim = int(v.shape[0])
            rows.append((t, dim, blob, self._checksum(h, t.encode(), dim, blob)))
        try:
            with self._conn:
                self._conn.executemany("INSERT OR REPLACE INTO emb (text, dim, vec, sum) VALUES (?, ?, ?, ?)", rows)
        except sqlite3.DatabaseError as e:
            self._fall_back(e)
            with self._conn:
                self._conn.executemany("INSERT OR REPLACE INTO emb (text, dim, vec, sum) VALUES (?, ?, ?, ?)", rows)

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0]

    def close(self) -> None:
        self._conn.close()
