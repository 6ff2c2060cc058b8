"""Undo what method code changed in the driver's own process (``HarnessSnapshot``).

Method code that runs in the driver (a method defined in a notebook or script, ``--executor inline``, and the
plugin calls the driver makes while planning: ``__init__``, ``get_params``, ``text_encodings``) could patch the
code that computes and records metrics: rebind ``zsar_bench.measure.metrics.zsl_metrics``, replace a function's
``__code__``, set a class attribute, replace a numpy or builtin function. A snapshot taken before such code runs records every
module's namespace and, for the harness's own modules (``zsar_bench``, the built-in methods), the attributes of
their classes and the code of their functions; ``restore`` puts back whatever changed before the driver computes
a metric, and at the end of the sweep, so a later ``evaluate()`` in the same process is not affected.

What it cannot undo: changes inside objects (a dict or array mutated in place), C-level state, other processes,
files. Modules imported after the snapshot are kept as they are (a method may import what it needs).
"""
from __future__ import annotations

import sys
import types
from typing import Any

HARNESS_PREFIXES = ("zsar_bench", "zsar_bench_methods")
_MISSING = object()


def _is_harness(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in HARNESS_PREFIXES)


def _function_state(fn: types.FunctionType) -> tuple:
    return fn.__code__, fn.__defaults__, fn.__kwdefaults__


class HarnessSnapshot:
    """Every loaded module's namespace (shallow), plus the classes and functions of the harness's modules."""

    def __init__(self) -> None:
        self.modules: dict[str, tuple[types.ModuleType, dict]] = {}
        self.classes: dict[type, dict] = {}
        self.functions: dict[types.FunctionType, tuple] = {}
        for name, mod in list(sys.modules.items()):
            ns = getattr(mod, "__dict__", None)
            if not isinstance(mod, types.ModuleType) or not isinstance(ns, dict):
                continue
            self.modules[name] = (mod, dict(ns))
            if _is_harness(name):
                self._own_objects(mod, ns)

    def _own_objects(self, mod: types.ModuleType, ns: dict) -> None:
        for v in list(ns.values()):
            if isinstance(v, type) and v.__module__ == mod.__name__ and v not in self.classes:
                self.classes[v] = dict(v.__dict__)
                for attr in v.__dict__.values():
                    fn = getattr(attr, "__func__", attr)
                    if isinstance(fn, types.FunctionType):
                        self.functions[fn] = _function_state(fn)
            elif isinstance(v, types.FunctionType) and v.__module__ == mod.__name__:
                self.functions[v] = _function_state(v)

    def restore(self) -> list[str]:
        """Put back what changed since the snapshot; returns what was restored (``module.name``), sorted."""
        changed: list[str] = []
        for name, (mod, before) in self.modules.items():
            changed += _restore_namespace(name, mod, before, exact=_is_harness(name))
        for cls, before in self.classes.items():
            changed += _restore_class(cls, before)
        for fn, state in self.functions.items():
            if _function_state(fn) != state:
                fn.__code__, fn.__defaults__, fn.__kwdefaults__ = state
                changed.append(f"{fn.__module__}.{fn.__qualname__} (its code)")
        return sorted(set(changed))


# module globals Python itself sets: a warning the harness gives (a removed leftover, a re-encoded cache entry) while
# a method runs in this process adds the module's __warningregistry__; that is no change a method made
_PYTHON_STATE = ("__warningregistry__",)


def _library_own(module: str, value: object) -> bool:
    """``value`` comes from the same top-level package as ``module`` (a library's own lazy rebinding)."""
    own = str(getattr(value, "__module__", "") or "")
    return own.split(".")[0] == module.split(".")[0]


def _restore_namespace(name: str, mod: types.ModuleType, before: dict, exact: bool) -> list[str]:
    """Names of ``mod`` rebound or removed put back. ``exact`` (the harness): every name, and names added since are
    removed too, except submodules (imported meanwhile); other modules (numpy, torch, builtins): functions and
    classes only (their own lazy caches and flags change legitimately)."""
    ns = mod.__dict__
    out = []
    for k, v in before.items():
        if (not exact and not callable(v)) or k in _PYTHON_STATE:
            continue
        now = ns.get(k, _MISSING)
        if not exact and now is not _MISSING and _library_own(name, now):
            continue  # a library rebinding its own function (importing transformers wraps torch.manual_seed)
        if now is not v:
            ns[k] = v
            out.append(f"{name}.{k}")
    if exact:
        for k in [k for k in ns if k not in before and not isinstance(ns[k], types.ModuleType)
                  and k not in _PYTHON_STATE]:
            del ns[k]
            out.append(f"{name}.{k} (added)")
    return out


# class attributes Python and its libraries set themselves (pickling caches them, pydantic builds lazily)
_OWN_STATE = ("__dict__", "__weakref__", "__slotnames__", "__pydantic", "_abc_")


def _restore_class(cls: type, before: dict) -> list[str]:
    out = []
    now: dict[str, Any] = {k: v for k, v in cls.__dict__.items() if not k.startswith(_OWN_STATE)}
    for k, v in before.items():
        if k.startswith(_OWN_STATE):
            continue
        if now.get(k, _MISSING) is not v:
            try:
                setattr(cls, k, v)
                out.append(f"{cls.__module__}.{cls.__qualname__}.{k}")
            except (AttributeError, TypeError):
                pass
    for k in [k for k in now if k not in before]:
        try:
            delattr(cls, k)
            out.append(f"{cls.__module__}.{cls.__qualname__}.{k} (added)")
        except (AttributeError, TypeError):
            pass
    return out


def restored_warning(names: list[str], when: str) -> str:
    """The one-line warning for names ``restore`` put back."""
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return (f"warning: method code run in this process changed the harness ({shown}); restored {when}. Records of "
            "methods run in this process are marked in-process; register the method as a plugin to isolate it")
