"""The method interface (scikit-learn style) and the method registry.

A method:
- ``__init__`` takes keyword arguments with defaults and only stores them: they are its whole config
  (``--method-args NAME.key=value`` overrides them, typed by the default's type);
- ``fit(data, ctx)`` sees only ``FitData``: seen classes and their training clips. It returns ``self``;
  learned state ends in ``_``. Iterative methods train through ``ctx.trainer`` (the common trainer);
- ``score(videos, classes)`` returns a finite [N, C] array, higher = more likely, for any list of
  candidate classes. The harness computes every metric from it.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional, Sequence

import numpy as np

from .registry import Registry, RegistryError
from .types import ClassInfo, FitData, Videos


class PluginError(RegistryError):
    """A method plugin does not follow the interface."""


@dataclass
class FitContext:
    """What the harness lends a method during fit: device, seed, the trainer, validation."""

    device: str = "cpu"
    seed: int = 0
    progress: bool = False
    # Harness-owned validation on validation classes (never test classes); None = fixed schedule.
    validate: Optional[Callable[["Method"], float]] = None
    info: dict = field(default_factory=dict)  # what fit reports back (best epoch, history, ...)

    def seed_everything(self) -> None:
        """Seed python, numpy and torch from ``seed``; call before creating modules."""
        from .trainer import seed_everything

        seed_everything(self.seed)

    def trainer(self, **config):
        from .trainer import TrainConfig, Trainer

        return Trainer(self, TrainConfig(**config))


class Method:
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    needs_concepts: ClassVar[bool] = False  # True: uses object concept detections

    def __init__(self):
        pass

    # -- configuration -------------------------------------------------------------------------
    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        sig = inspect.signature(cls.__init__)
        return {k: p.default for k, p in sig.parameters.items() if k != "self"}

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.param_defaults()}

    def config_hash(self, extra: Optional[dict] = None) -> str:
        blob = json.dumps({"method": self.name, "params": self.get_params(), **(extra or {})}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- the interface -------------------------------------------------------------------------
    def fit(self, data: FitData, ctx: FitContext) -> "Method":
        raise NotImplementedError

    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        raise NotImplementedError


def _validate_method(name: str, cls: Any) -> None:
    where = f"method plugin {name!r} ({getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', cls)})"
    if not (inspect.isclass(cls) and issubclass(cls, Method)):
        raise PluginError(f"{where}: register a subclass of zsar_bench.Method, got {cls!r}")
    for fn in ("fit", "score"):
        if getattr(cls, fn) is getattr(Method, fn):
            raise PluginError(f"{where}: must implement {fn}()")
    sig = inspect.signature(cls.__init__)
    for k, p in sig.parameters.items():
        if k == "self":
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is p.empty:
            raise PluginError(
                f"{where}: __init__ parameter {k!r} needs a default value (hyperparameters are keyword "
                "arguments with defaults, stored as given)"
            )
    try:
        obj = cls()
        missing = [k for k in sig.parameters if k != "self" and not hasattr(obj, k)]
    except Exception as e:  # noqa: BLE001
        raise PluginError(f"{where}: constructing with defaults failed: {e}") from e
    if missing:
        raise PluginError(f"{where}: __init__ must store its arguments as attributes; missing {missing}")


METHODS: Registry[type[Method]] = Registry("method", validator=_validate_method)


def register_method(name: str):
    """Class decorator: ``@register_method("my-method")``."""

    def deco(cls):
        _validate_method(name, cls)
        cls.name = name
        return METHODS.register(name)(cls)

    return deco


def parse_value(raw: str, default: Any) -> Any:
    """Convert a command-line string to the type of the parameter's default."""
    if isinstance(default, bool):
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a boolean (true/false), got {raw!r}")
    if isinstance(default, int):
        return int(float(raw)) if raw.replace("e", "").replace(".", "").lstrip("-").isdigit() else int(raw)
    if isinstance(default, float):
        return float(raw)
    if default is None:
        for conv in (int, float):
            try:
                return conv(raw)
            except ValueError:
                pass
        return None if raw.lower() == "none" else raw
    return raw


def build_method(name: str, overrides: Optional[dict[str, str]] = None) -> Method:
    cls = METHODS.get(name)
    defaults = cls.param_defaults()
    kwargs = {}
    for k, raw in (overrides or {}).items():
        if k not in defaults:
            raise ValueError(f"method {name!r} has no parameter {k!r}; its parameters: {', '.join(defaults)}")
        try:
            kwargs[k] = parse_value(raw, defaults[k]) if isinstance(raw, str) else raw
        except ValueError as e:
            raise ValueError(f"--method-args {name}.{k}={raw}: {e}") from None
    return cls(**kwargs)
