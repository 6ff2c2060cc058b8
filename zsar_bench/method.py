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
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional, Sequence

import numpy as np

from .registry import Registry, RegistryError
from .types import ClassInfo, FitData, Videos


@dataclass(frozen=True)
class Ingredient:
    """One published ingredient of a method and how this harness treats it (``docs/fidelity.md``).

    ``published``: what the paper or release does; ``ours``: what the project does; ``same``: whether
    the two compute the same thing; ``why``: the reason for a difference (or a note); ``source``: the
    paper section or release file the published value comes from."""

    name: str
    published: str
    ours: str
    same: bool
    source: str
    why: str = ""


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
        from .runtime import seed_everything

        seed_everything(self.seed)

    def trainer(self, **config):
        from .trainer import TrainConfig, Trainer

        return Trainer(self, TrainConfig(**config))


@dataclass(frozen=True)
class TextEncoding:
    """Texts a method configuration will embed with a frozen, disk-cached text encoder (``text.encoders``):
    ``get_text_encoder(encoder, max_length=max_length).encode(texts)``."""

    encoder: str
    max_length: int
    texts: tuple[str, ...]


class Method:
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    needs_concepts: ClassVar[bool] = False  # True: uses object concept detections
    # The kind of model the features must come from (their manifest's "model": e.g. "clip" for methods that
    # read CLIP video embeddings with the matching text tower); None = any features. Checked at planning.
    feature_model: ClassVar[Optional[str]] = None
    learns: ClassVar[bool] = True  # False: a sanity row that learns nothing (chance, training-free probes)
    # Evaluation modes it supports: zsl, gzsl, fewshot (any K; fit on K clips of each test class). A zero-shot
    # method can run few-shot; a purely supervised one (fewshot-linear) declares ("fewshot",) and cannot run zsl.
    modes: ClassVar[tuple[str, ...]] = ("zsl", "gzsl", "fewshot")
    # Published ingredients vs this implementation, rendered into docs/fidelity.md (zsar_bench/fidelity.py).
    fidelity: ClassVar[tuple[Ingredient, ...]] = ()
    # Bumped when a method's computation changes under the same parameters: part of the config hash
    # (from 2 on), so records of the earlier implementation stay apart and the leaderboard drops them.
    revision: ClassVar[int] = 1

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
        rev = {"revision": self.revision} if self.revision != 1 else {}
        blob = json.dumps({"method": self.name, "params": self.get_params(), **rev, **(extra or {})}, sort_keys=True,
                          default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def validate_params(self) -> None:
        """Raise ValueError for a configuration that cannot train; ``build_method`` calls it before any run.

        The default checks parameters by name and type (``check_common_params``): ``epochs``/``batch_size``
        positive integers, ``lr`` finite and positive, ``text_style`` a known style or template, ``semantic``
        word vectors that exist and need no unpickling, and every float finite unless its default is not.
        Override it to add checks of your own, calling ``super().validate_params()`` first."""
        check_common_params(self)

    # -- the interface -------------------------------------------------------------------------
    def fit(self, data: FitData, ctx: FitContext) -> "Method":
        raise NotImplementedError

    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        raise NotImplementedError

    # -- optional ------------------------------------------------------------------------------
    def text_encodings(self, classes: Sequence[ClassInfo], concepts, concept_ids: Optional[np.ndarray]
                       ) -> list[TextEncoding]:
        """The texts this configuration will embed with a frozen, cached encoder over a whole feature set
        (``classes``: every class of the dataset; ``concepts``, ``concept_ids``: its concept vocabulary and each
        clip's top concepts, or None). The driver encodes them once into the disk cache with every core before
        any job starts, so workers (one thread each) find them there instead of each encoding them again. A
        plan, not a fit: the method object is discarded and sees no embedding here. Default: nothing."""
        return []


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
    """Convert a command-line string to the type of the parameter's default.

    Integers must be whole numbers (``10``, ``1e3``; ``2.7`` is an error, never truncated); floats may
    be any number Python reads (non-finite ones are refused later by ``validate_params``)."""
    if isinstance(default, bool):
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a boolean (true/false), got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            pass
        try:
            x = float(raw)
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
        if not math.isfinite(x) or not x.is_integer():
            raise ValueError(f"expected an integer, got {raw!r} (not a whole number)")
        return int(x)
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
    if default is None:
        for conv in (int, float):
            try:
                return conv(raw)
            except ValueError:
                pass
        return None if raw.lower() == "none" else raw
    return raw


class ParamError(ValueError):
    """A method hyperparameter value that cannot train (a usage error before any run)."""


POSITIVE_INTS = ("epochs", "batch_size")  # checked by name in every method, plugins included
POSITIVE_FLOATS = ("lr", "temperature")
NON_NEGATIVE_FLOATS = ("weight_decay",)


def check_common_params(method: "Method") -> None:
    """The checks of ``Method.validate_params``, keyed by parameter name and default type."""
    name = getattr(method, "name", "") or type(method).__name__
    defaults = type(method).param_defaults()

    def bad(k: str, v: Any, why: str) -> ParamError:
        return ParamError(f"--method-args {name}.{k}={v}: {why}")

    for k, default in defaults.items():
        v = getattr(method, k, default)
        if isinstance(default, int) and not isinstance(default, bool):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                if isinstance(v, (float, np.floating)) and float(v).is_integer():
                    continue  # 3.0 for an int parameter: harmless
                raise bad(k, v, "expected an integer")
        if isinstance(default, float) and isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            if not math.isfinite(float(v)) and math.isfinite(default):
                raise bad(k, v, "must be a finite number")
        if k in POSITIVE_INTS and isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and v < 1:
            raise bad(k, v, f"must be at least 1 ({k}={v} cannot train)")
        if k in POSITIVE_FLOATS and isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            if not math.isfinite(float(v)) or v <= 0:
                raise bad(k, v, "must be a finite number above 0")
        if k in NON_NEGATIVE_FLOATS and isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            if not math.isfinite(float(v)) or v < 0:
                raise bad(k, v, "must be a finite number, 0 or more")
        if k == "text_style" and isinstance(default, str):
            from .text.styles import check_style

            try:
                check_style(v)
            except ValueError as e:
                raise bad(k, v, str(e)) from None
        if k == "semantic" and isinstance(default, str) and isinstance(v, str):
            from .text.wordvectors import check_vectors_spec

            if not v.startswith("text:"):
                try:
                    check_vectors_spec(v, for_method=True)
                except Exception as e:  # noqa: BLE001  (WordVectorError, with its fix)
                    raise bad(k, v, str(e)) from None


def build_method(name: str, overrides: Optional[dict[str, str]] = None) -> Method:
    """Construct method ``name`` with command-line ``overrides`` (strings typed by the defaults) and
    validate it (``Method.validate_params``); a value that cannot train is a ValueError here, before any run."""
    cls = METHODS.get(name)
    defaults = cls.param_defaults()
    kwargs = {}
    for k, raw in (overrides or {}).items():
        if k not in defaults:
            raise ValueError(f"method {name!r} has no parameter {k!r}; its parameters: {', '.join(defaults)}")
        try:
            kwargs[k] = parse_value(raw, defaults[k]) if isinstance(raw, str) else raw
        except ValueError as e:
            raise ParamError(f"--method-args {name}.{k}={raw}: {e}") from None
    m = cls(**kwargs)
    m.validate_params()
    return m
