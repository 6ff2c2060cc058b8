"""The registered methods as data, known without importing their plugins.

Importing the plugins means importing torch (about 2 s warm, 8 s cold), which ``list methods`` should not
pay for a table of names and defaults. The index is made once by a separate Python process that imports the
plugins and prints what it found (``python -m zsar_bench.plugin_index``), and cached under the data root,
named after a fingerprint of every source it could depend on: the harness's own files, each file of
``methods/``, each entry point of the ``zsar_bench.methods`` group (package and version) and each module of
``$ZSAR_BENCH_PLUGINS`` (its file). Edit any of them and the next call makes a new index.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .errors import ZsarBenchError
from .method import METHODS
from .paths import DataRootError, cache_dir
from .plugins import DISABLE_ENV, ENTRY_POINT_GROUP, MODULES_ENV, _builtin_files, failures, load_plugins

INDEX_VERSION = 1
PACKAGE_DIR = Path(__file__).resolve().parent


class PluginIndexError(ZsarBenchError, RuntimeError):
    pass


def describe(name: str) -> dict[str, Any]:
    """One registered method as ``list_methods`` shows it."""
    cls = METHODS.get(name)
    return {"name": name, "summary": cls.summary, "origin": METHODS.origin(name), "params": cls.param_defaults(),
            "learns": bool(cls.learns), "modes": list(cls.modes), "variant_of": cls.variant_of}


def describe_loaded() -> dict[str, Any]:
    """Import the plugins here and describe every registered method (what the index process prints)."""
    load_plugins()
    return {"version": INDEX_VERSION, "methods": [describe(n) for n in METHODS.names()],
            "failed_plugins": dict(failures)}


def _hash_file(h, path: Path) -> None:
    h.update(str(path).encode() + b"\0")
    try:
        h.update(path.read_bytes())
    except OSError as e:
        h.update(f"unreadable: {e}".encode())


def fingerprint() -> str:
    """sha256 over the sources the index depends on (see the module's docstring)."""
    h = hashlib.sha256(f"index v{INDEX_VERSION} python {sys.version}".encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        _hash_file(h, path)
    for path in _builtin_files():
        _hash_file(h, path)
    h.update(f"disabled={os.environ.get(DISABLE_ENV, '')}".encode())
    if os.environ.get(DISABLE_ENV, "").lower() not in ("1", "true", "yes"):
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist
            h.update(f"ep {ep.name}={ep.value} {getattr(dist, 'name', '?')} {getattr(dist, 'version', '?')}".encode())
        for mod in (m.strip() for m in os.environ.get(MODULES_ENV, "").split(",") if m.strip()):
            spec = importlib.util.find_spec(mod) if "." not in mod else None
            origin = getattr(spec, "origin", None)
            if origin and Path(origin).is_file():
                _hash_file(h, Path(origin))
            else:  # a dotted name or a module found only at import: never cached
                h.update(os.urandom(16))
    return h.hexdigest()


def _cache_file(fp: str) -> Path | None:
    try:
        return cache_dir("plugin-index") / f"{fp[:32]}.json"
    except DataRootError:
        return None


def _make_index() -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "zsar_bench.plugin_index"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise PluginIndexError(f"describing the method plugins failed in a separate process: {tail}; run "
                               f"`python -m zsar_bench.plugin_index` to see the whole error")
    return json.loads(proc.stdout)


def method_index() -> dict[str, Any]:
    """{"methods": [...], "failed_plugins": {...}} of the installed plugins, from the cache when it is current."""
    fp = fingerprint()
    path = _cache_file(fp)
    if path is not None and path.is_file():
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
            if index.get("version") == INDEX_VERSION and index.get("fingerprint") == fp:
                return index
        except (OSError, ValueError):
            pass  # unreadable or torn: made again below
    index = {**_make_index(), "fingerprint": fp}
    if path is not None:
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        try:
            tmp.write_text(json.dumps(index), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
    return index


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # failures are part of the output
    json.dump(describe_loaded(), sys.stdout)
