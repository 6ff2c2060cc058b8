"""Where the harness keeps data: one data root for features, caches and downloaded models.

Precedence: ``--data-root`` > ``$ZSAR_BENCH_DATA`` > ``~/.cache/zsar-bench``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

ENV_DATA_ROOT = "ZSAR_BENCH_DATA"
DEFAULT_DATA_ROOT = Path.home() / ".cache" / "zsar-bench"
REPO_ROOT = Path(__file__).resolve().parent.parent

_override: Optional[Path] = None


def set_data_root(path: Optional[str | Path]) -> None:
    global _override
    _override = Path(path).expanduser().resolve() if path else None


def data_root() -> Path:
    if _override is not None:
        return _override
    env = os.environ.get(ENV_DATA_ROOT)
    return Path(env).expanduser().resolve() if env else DEFAULT_DATA_ROOT


def cache_dir(kind: str) -> Path:
    p = data_root() / "cache" / kind
    p.mkdir(parents=True, exist_ok=True)
    return p
