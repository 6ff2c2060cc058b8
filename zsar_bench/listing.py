"""What the harness offers, as data: the library's public face beside ``evaluate`` and ``load_results`` (as timm's
``list_models`` / ``create_model`` and MTEB's ``get_tasks``). ``run_bench.py list ...`` prints what these return.

    >>> import zsar_bench as zb
    >>> [m["name"] for m in zb.list_methods()][:3]
    >>> m = zb.create_method("eszsl", alpha=2.0)
    >>> zb.list_protocols("hmdb51")
"""
from __future__ import annotations

from typing import Any, Optional

from .datasets import DATASETS
from .method import METHODS, build_method
from .plugin_index import describe, method_index
from .plugins import failures, load_plugins, plugins_loaded
from .splits import available_protocols, load_protocol


def list_methods() -> list[dict[str, Any]]:
    """Every registered method (built in and plugins): name, summary, where it comes from, its parameters with
    their defaults, whether it learns, the evaluation modes it supports, and the method it is a configuration
    of (``variant_of``: e.g. ``er`` for ``er-paper``; None for a method of its own). Read from the plugin index
    (``plugin_index``: no plugin, and so no torch, is imported here) unless the plugins are already loaded in
    this process; methods registered in this process (a notebook, a script) are listed too."""
    rows = {} if plugins_loaded() else {r["name"]: r for r in method_index()["methods"]}
    rows.update({n: describe(n) for n in METHODS.names()})
    return [rows[n] for n in sorted(rows)]


def failed_plugins() -> dict[str, str]:
    """Plugins that failed to load, by name, with their error (from the plugin index or this process)."""
    return dict(failures) if plugins_loaded() else dict(method_index().get("failed_plugins", {}))


def create_method(name: str, **params: Any):
    """Method ``name`` with ``params`` (Python values, or command-line strings), typed as every other path types
    them (``method.coerce_params``) and validated: an unknown parameter or a value that cannot train is a
    ValueError naming it."""
    load_plugins()
    return build_method(name, params)


def list_datasets() -> list[dict[str, Any]]:
    """Every registered dataset: name, title, class count, source, whether its real release is available, and
    how many classes have a built-in description."""
    return [{"name": n, "title": d.title, "n_classes": d.n_classes, "source": d.source,
             "real_release": d.real_videos, "n_described": len(d.builtin_descriptions)}
            for n, d in ((n, DATASETS.get(n)) for n in DATASETS.names())]


def list_protocols(dataset: Optional[str] = None) -> list[dict[str, Any]]:
    """Every split file (of ``dataset``, or of all datasets): dataset, protocol, version, number of folds, the
    first fold's seen / validation / unseen class counts, its content hash and description."""
    rows = []
    for ds, protos in available_protocols(dataset).items():
        for p in protos:
            pr = load_protocol(ds, p)
            f0 = pr.folds[0]
            rows.append({"dataset": ds, "protocol": p, "version": pr.version, "folds": len(pr.folds),
                         "seen": len(f0.seen), "val": len(f0.val), "unseen": len(f0.unseen),
                         "sha256": pr.short_hash, "description": pr.description})
    return rows
