"""On-disk embedding cache: one SQLite file per (model identity, pooling), keyed by text.

SQLite gives atomic, concurrent-safe writes for free (several --jobs workers may share a cache).
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Iterable

import numpy as np


class EmbeddingCache:
    def __init__(self, directory: Path, namespace: str):
        directory.mkdir(parents=True, exist_ok=True)
        fname = hashlib.sha256(namespace.encode()).hexdigest()[:24] + ".sqlite"
        self.path = directory / fname
        self.namespace = namespace
        self._conn = sqlite3.connect(self.path, timeout=60)
        self._conn.execute("CREATE TABLE IF NOT EXISTS emb (text TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('namespace', ?)", (namespace,))
        self._conn.commit()

    def get_many(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        texts = list(dict.fromkeys(texts))
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(texts), 500):
            chunk = texts[i:i + 500]
            q = "SELECT text, dim, vec FROM emb WHERE text IN (%s)" % ",".join("?" * len(chunk))
            for t, dim, blob in self._conn.execute(q, chunk):
                out[t] = np.frombuffer(blob, dtype=np.float32).reshape(dim)
        return out

    def put_many(self, texts: list[str], vectors: np.ndarray) -> None:
        rows = [(t, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        with self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)", rows)

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0]

    def close(self) -> None:
        self._conn.close()
