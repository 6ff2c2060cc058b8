"""zsar-bench: a benchmark harness for zero-shot action recognition."""
__version__ = "0.1.0"

from .method import FitContext, Method, register_method  # noqa: E402,F401
from .types import ClassInfo, ConceptVocabulary, FitData, LabelledVideos, Videos  # noqa: E402,F401

# The Python API (zsar_bench/api.py) and run planning (zsar_bench/running/planning.py), imported on first use so
# that `import zsar_bench` (and every worker process) stays light.
_LAZY = {"evaluate": "api", "load_results": "api", "Results": "api", "plan_runs": "running.planning",
         "PlanError": "running.planning", "ConfigError": "running.planning", "load_config": "running.planning",
         "list_methods": "listing", "create_method": "listing", "list_datasets": "listing",
         "list_protocols": "listing"}
__all__ = ["ClassInfo", "ConceptVocabulary", "FitContext", "FitData", "LabelledVideos", "Method", "Videos",
           "register_method", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
