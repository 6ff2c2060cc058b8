"""Method discovery: every module in the repository's ``methods/`` folder, then the entry-point
group ``zsar_bench.methods`` (third-party packages), then the modules named in
``$ZSAR_BENCH_PLUGINS`` (comma-separated import names, for plugins not packaged yet; worker processes
inherit it). A plugin that fails to import is a warning naming it; the rest still load.
``ZSAR_BENCH_DISABLE_PLUGINS=1`` turns third-party plugins off.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path
from typing import Optional

from .method import METHODS
from .paths import CHECKOUT

ENTRY_POINT_GROUP = "zsar_bench.methods"
DISABLE_ENV = "ZSAR_BENCH_DISABLE_PLUGINS"
MODULES_ENV = "ZSAR_BENCH_PLUGINS"  # extra plugin modules to import, comma-separated (found on sys.path)
# methods/ of the checkout; None in a wheel install (the package zsar_bench_methods then holds those modules)
BUILTIN_DIR: Optional[Path] = CHECKOUT / "methods" if CHECKOUT else None
BUILTIN_PACKAGE = "zsar_bench_methods"  # the import name of methods/ (also in pyproject)

_loaded = False
failures: dict[str, str] = {}


class PluginWarning(UserWarning):
    pass


def _import_builtin(path: Path) -> None:
    modname = f"{BUILTIN_PACKAGE}.{path.stem}"
    if modname in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[modname]
        raise


def _builtin_files() -> list[Path]:
    if BUILTIN_DIR is not None and BUILTIN_DIR.is_dir():
        return sorted(p for p in BUILTIN_DIR.glob("*.py") if not p.name.startswith("_"))
    try:  # installed as a wheel: methods/ ships as the package zsar_bench_methods
        pkg = importlib.import_module(BUILTIN_PACKAGE)
        return sorted(p for d in pkg.__path__ for p in Path(d).glob("*.py") if not p.name.startswith("_"))
    except ImportError:
        return []


def plugins_loaded() -> bool:
    """Whether ``load_plugins`` ran in this process."""
    return _loaded


def ensure_method(name: str) -> None:
    """Make method ``name`` known in this process, importing as little as it takes: the built-in methods first,
    and the third-party plugins only when ``name`` is not one of them. So the worker of a built-in method never
    imports a third-party plugin (which could change that method's code there)."""
    if name in METHODS:
        return
    load_builtin_methods()
    if name not in METHODS:
        load_plugins()
    if name not in METHODS and os.environ.get(DISABLE_ENV, "").lower() not in ("1", "true", "yes"):
        _load_third_party()  # a plugin named since this process first loaded them (modules imported are skipped)


def load_builtin_methods() -> None:
    """Import the modules of the harness's own ``methods/`` (once; a broken one is a warning)."""
    # a checkout: methods/ as the package
    if BUILTIN_PACKAGE not in sys.modules and BUILTIN_DIR is not None and BUILTIN_DIR.is_dir():
        pkg_spec = importlib.machinery.ModuleSpec(BUILTIN_PACKAGE, None, is_package=True)
        pkg = importlib.util.module_from_spec(pkg_spec)
        pkg.__path__ = [str(BUILTIN_DIR)]
        sys.modules.setdefault(BUILTIN_PACKAGE, pkg)
    for path in _builtin_files():
        try:
            _import_builtin(path)
        except Exception as e:  # noqa: BLE001 - one broken plugin must not stop the others
            failures[f"methods/{path.name}"] = f"{type(e).__name__}: {e}"
            warnings.warn(f"method plugin methods/{path.name} failed to load and is skipped: {type(e).__name__}: {e}",
                          PluginWarning, stacklevel=2)


def load_plugins(force: bool = False) -> list[str]:
    """Import built-in and third-party methods once; returns the registered method names."""
    global _loaded
    if _loaded and not force:
        return METHODS.names()
    load_builtin_methods()
    if os.environ.get(DISABLE_ENV, "").lower() not in ("1", "true", "yes"):
        _load_third_party()
    _loaded = True
    return METHODS.names()


def _load_third_party() -> None:
    """The entry points and ``$ZSAR_BENCH_PLUGINS`` modules, each import's changes to the harness put back
    (``running.guard``): a plugin registers methods; rebinding the harness's functions at import is undone, with a
    warning, in whatever process imports it."""
    from .running.guard import HarnessSnapshot

    snapshot = HarnessSnapshot()
    try:
        _import_third_party()
    finally:
        changed = snapshot.restore()
        if changed:
            shown = ", ".join(changed[:6]) + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")
            warnings.warn(f"a third-party method plugin changed the harness when it was imported ({shown}); put back",
                          PluginWarning, stacklevel=3)


def _import_third_party() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as e:  # noqa: BLE001
            dist = getattr(ep.dist, "name", "?")
            failures[f"{ep.name} ({dist})"] = f"{type(e).__name__}: {e}"
            warnings.warn(f"third-party method plugin {ep.name!r} from package {dist!r} failed to load and is "
                          f"skipped: {type(e).__name__}: {e}", PluginWarning, stacklevel=2)
    for modname in [m.strip() for m in os.environ.get(MODULES_ENV, "").split(",") if m.strip()]:
        if modname in sys.modules:
            continue
        try:
            importlib.import_module(modname)
        except Exception as e:  # noqa: BLE001
            failures[f"{modname} (${MODULES_ENV})"] = f"{type(e).__name__}: {e}"
            warnings.warn(f"method plugin module {modname!r} named in ${MODULES_ENV} failed to load and is "
                          f"skipped: {type(e).__name__}: {e}", PluginWarning, stacklevel=2)
