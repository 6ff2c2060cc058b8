"""The method interface (scikit-learn style) and the method registry.

A method:
- ``__init__`` takes keyword arguments with defaults and only stores them: they are its whole config
  (``--method-args NAME.key=value``, a config file or the API override them; every path types the value by
  the default's type through one function, ``coerce_params``);
- ``fit(data, ctx)`` sees only ``FitData``: seen classes and their training clips. It returns ``self``;
  learned state ends in ``_``. Iterative methods train through ``ctx.trainer`` (the common trainer);
- ``score(videos, classes)`` returns a finite [N, C] array, higher = more likely, for any list of
  candidate classes. The harness computes every metric from it.

A registered variant (``register_variant``) is an existing method under another name with other defaults: a
configuration, not new code (``er-paper``, ER's ablations).
"""
from __future__ import annotations

import difflib
import inspect
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence

import numpy as np

from .errors import ZsarBenchError
from .hashing import config_hash_of
from .registry import Registry, RegistryError
from .runtime import seed_everything
from .text.styles import check_style
from .text.wordvectors import check_vectors_spec
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
    # The RNG state ``seed_run`` made from ``seed`` (python, numpy, torch CPU, and CUDA when initialised).
    _rng_state: Optional[dict] = field(default=None, init=False, repr=False, compare=False)

    def seed_run(self) -> None:
        """Seed python, numpy and torch from ``seed`` and keep the resulting state: the one place a run's seed
        becomes RNG state. The harness calls it right before ``fit`` (``running.runner.execute_run``)."""
        import random

        import torch

        seed_everything(self.seed)
        self._rng_state = {"python": random.getstate(), "numpy": np.random.get_state(),
                           "torch": torch.get_rng_state(),
                           "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None}

    def rewind_rng(self) -> None:
        """Put python, numpy and torch back to the state ``seed_run`` left (calling ``seed_run`` first when nothing
        has, as in a ``fit`` called outside the harness). A built-in ``fit`` starts with it, and the trainer starts
        its loop from it, so the draws a method makes while building its modules do not shift its batch order or
        dropout masks."""
        import random

        import torch

        if self._rng_state is None:
            self.seed_run()
        st = self._rng_state
        random.setstate(st["python"])
        np.random.set_state(st["numpy"])
        torch.set_rng_state(st["torch"])
        if st["cuda"] is not None:
            torch.cuda.set_rng_state_all(st["cuda"])
        elif torch.cuda.is_available():  # CUDA started after seed_run: the state seed_run's queued (lazy) CUDA
            torch.cuda.manual_seed_all(self.seed)  # seeding gave it on start

    def seed_everything(self) -> None:
        """An alias of ``rewind_rng``, kept for third-party plugins written when every ``fit`` seeded itself. The
        harness already seeds each run right before ``fit`` (``seed_run``), so a plugin need not call it."""
        self.rewind_rng()

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
    # Parameters added after records exist, each with the value that reproduces the behaviour before it: while a
    # parameter equals that value it is left out of the config hash, so adding it keeps every existing record's
    # identity (w2v: {"name_prep": "none"}). Subclasses add to their bases' entries (merged along the MRO).
    hash_omit_if_default: ClassVar[Mapping[str, Any]] = {}
    # A cheaper configuration for the conformance suite (tests/test_conformance.py): {parameter: value}, values
    # as on the command line ("5") or as Python values; checked against the parameters at registration.
    test_params: ClassVar[Mapping[str, Any]] = {}
    # The registered name of the method this one is a configuration of (``register_variant``), else None.
    variant_of: ClassVar[Optional[str]] = None

    def __init__(self):
        pass

    # -- configuration -------------------------------------------------------------------------
    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        sig = inspect.signature(cls.__init__)
        return {k: p.default for k, p in sig.parameters.items() if k != "self"}

    @classmethod
    def hash_omitted(cls) -> dict[str, Any]:
        """Every ``hash_omit_if_default`` entry of this class and its bases (a subclass's entry wins)."""
        out: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            out.update(vars(klass).get("hash_omit_if_default") or {})
        return out

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.param_defaults()}

    def hash_params(self) -> dict[str, Any]:
        """The parameters that enter the config hash: ``get_params`` less each ``hash_omit_if_default``
        parameter while it holds its declared value."""
        omit = self.hash_omitted()
        return {k: v for k, v in self.get_params().items() if not (k in omit and same_value(v, omit[k]))}

    def config_hash(self, extra: Optional[dict] = None) -> str:
        return config_hash_of(self.name, self.hash_params(), self.revision, extra)

    @classmethod
    def class_inputs(cls, params: Optional[Mapping[str, Any]], descriptions: Optional[str] = None) -> str:
        """What a configuration reads for its classes, for the leaderboards' "inputs" column: the text tower
        (encoder, frozen or fine-tuned layers) or the word vectors, the class-text style, and the descriptions'
        source when the text uses them. ``params``: a record's parameters (possibly of an older version, so
        some may be missing); ``descriptions``: the record's descriptions source. The default reads the
        conventional parameter names (``describe_class_inputs``); override it when yours differ."""
        return describe_class_inputs(params, descriptions)

    @classmethod
    def check_available(cls, params: Mapping[str, Any]) -> Optional[str]:
        """None when what the configuration ``params`` (every parameter, typed) loads is on this machine or can
        be downloaded; else one line saying what is missing and how to get it. Planning calls it (through
        ``build_method(..., available=True)``) and refuses the run before anything starts. The default checks a
        ``text_encoder`` parameter and a ``semantic=text:ENCODER`` one (``weights_unavailable``); override it for
        other weights, calling ``super().check_available(params)`` first."""
        for key in ("text_encoder", "semantic"):
            value = params.get(key)
            if not isinstance(value, str) or (key == "semantic" and not value.startswith("text:")):
                continue
            why = weights_unavailable(value[len("text:"):] if key == "semantic" else value, "text")
            if why:
                return unavailable_message(cls.name, key, value, why)
        return None

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
    defaults = cls.param_defaults()
    for attr, entries in (("hash_omit_if_default", cls.hash_omitted()), ("test_params", cls.test_params)):
        if not isinstance(entries, Mapping):
            raise PluginError(f"{where}: {attr} must be a mapping {{parameter: value}}, got {entries!r}")
        unknown = [k for k in entries if k not in defaults]
        if unknown:
            raise PluginError(f"{where}: {attr} names {', '.join(map(repr, unknown))}, not parameters of __init__ "
                              f"({', '.join(defaults) or 'none'})")
    try:
        coerce_params(cls, cls.test_params, where=f"{where}: test_params", name=name)
    except ValueError as e:
        raise PluginError(str(e)) from None


METHODS: Registry[type[Method]] = Registry("method", validator=_validate_method)


def register_method(name: str):
    """Class decorator: ``@register_method("my-method")``."""

    def deco(cls):
        _validate_method(name, cls)
        cls.name = name
        return METHODS.register(name)(cls)

    return deco


def register_variant(name: str, base: type[Method], summary: str, *, defaults: Optional[Mapping[str, Any]] = None,
                     fidelity: Optional[tuple[Ingredient, ...]] = None, test_params: Optional[Mapping[str, Any]] = None,
                     doc: Optional[str] = None, class_name: Optional[str] = None, **class_attrs: Any) -> type[Method]:
    """Register ``name`` as a configuration of method ``base``: the same code with other parameter ``defaults``,
    its own ``summary`` (and optionally its own ``fidelity`` record, ``test_params`` and other class attributes,
    e.g. ``feature_model="clip"``). Returns the new class (a subclass of ``base``), which a module may keep under
    ``class_name`` (default: ``name`` in CamelCase).

    Its parameters, their order and the config hash are those of ``base`` built with the same values under the
    name ``name``; ``--method-args name.key=value`` overrides a variant's default as any method's. Defaults are
    typed as the command line types values (``coerce_params``); a default or class attribute ``base`` lacks is a
    PluginError, before anything is registered::

        register_variant("er-noer", ER, "ER ablation: full model without the ER loss", defaults={"er_loss": False})
    """
    where = f"method variant {name!r}"
    if not (inspect.isclass(base) and issubclass(base, Method)):
        raise PluginError(f"{where}: base must be a Method subclass, got {base!r}")
    try:
        fixed = coerce_params(base, defaults or {}, where=f"{where}: defaults", name=name)
    except ValueError as e:
        raise PluginError(f"{where}: {e}" if "has no parameter" in str(e) else str(e)) from None
    for attr in class_attrs:
        if attr in base.param_defaults() or not hasattr(base, attr) or attr.startswith("_"):
            raise PluginError(f"{where}: {attr!r} is not a class attribute of {base.__qualname__} (parameters go in "
                              "defaults={...})")
    init = base.__init__
    sig = inspect.signature(init)
    vsig = sig.replace(parameters=[p.replace(default=fixed[k]) if k in fixed else p for k, p in sig.parameters.items()])

    def __init__(self, *args, **kwargs):
        bound = vsig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(*bound.args, **bound.kwargs)

    __init__.__signature__ = vsig  # type: ignore[attr-defined]  (param_defaults reads the variant's defaults)
    cls_name = class_name or "".join(w[:1].upper() + w[1:] for w in re.split(r"[^0-9A-Za-z]+", name) if w)
    caller = inspect.currentframe().f_back  # type: ignore[union-attr]
    module = caller.f_globals.get("__name__", base.__module__) if caller is not None else base.__module__
    attrs: dict[str, Any] = {"__init__": __init__, "summary": summary, "__doc__": doc or summary,
                             "__module__": module, "__qualname__": cls_name, "variant_of": base.name or None,
                             **class_attrs}
    if fidelity is not None:
        attrs["fidelity"] = tuple(fidelity)
    if test_params is not None:
        attrs["test_params"] = dict(test_params)
    __init__.__qualname__ = f"{cls_name}.__init__"
    cls = type(cls_name, (base,), attrs)
    return register_method(name)(cls)


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


class ParamError(ZsarBenchError, ValueError):
    """A method hyperparameter value that cannot train (a usage error before any run)."""


def same_value(a: Any, b: Any) -> bool:
    """``a == b`` without counting a bool as the number 1 or 0 (so ``True`` is not ``1``)."""
    try:
        return isinstance(a, (bool, np.bool_)) == isinstance(b, (bool, np.bool_)) and bool(a == b)
    except Exception:  # noqa: BLE001  (an object whose == does not give a truth value)
        return False


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def coerce_value(value: Any, default: Any) -> Any:
    """One parameter value, typed by its default as the command line types it: a string (command line, a
    config file's quoted value) through ``parse_value``; a Python or YAML value checked and converted
    (an int for an int parameter, a whole float accepted; any number for a float parameter; a real boolean
    for a bool one; a string for a string one; anything for a parameter whose default is None). So
    ``lr: 1e-3`` in a config, ``("label", {"lr": 0.001})``, ``create_method("label", lr=0.001)`` and
    ``--method-args label.lr=1e-3`` give the same parameters and the same config hash. Idempotent: a typed
    value comes back unchanged. ValueError saying what was expected otherwise."""
    if isinstance(value, str):
        return parse_value(value, default)
    if isinstance(value, (list, tuple, dict, set)):
        raise ValueError(f"expected a single value, got {value!r}")
    if isinstance(default, bool):
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ValueError(f"expected a boolean (true/false), got {value!r}")
    if isinstance(default, int):
        if _is_int(value):
            return int(value)
        if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
            return int(value)
        if isinstance(value, (float, np.floating)):
            raise ValueError(f"expected an integer, got {value!r} (not a whole number)")
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value  # default None (or another type): taken as given


def coerce_params(method: Any, raw: Optional[Mapping[str, Any]], where: str = "--method-args",
                  name: Optional[str] = None) -> dict[str, Any]:
    """``raw`` parameters of ``method`` (a registered name or a Method class), each known and typed by its
    default (``coerce_value``): the one typing of the command line, config files, the API and ``test_params``.
    An unknown parameter is a ParamError listing the parameters (and the closest); a value of the wrong
    type is a ParamError reading ``WHERE NAME.KEY=VALUE: what was expected``."""
    cls = METHODS.get(method) if isinstance(method, str) else method
    name = name or (method if isinstance(method, str) else getattr(cls, "name", "") or cls.__name__)
    defaults = cls.param_defaults()
    out: dict[str, Any] = {}
    for k, v in (raw or {}).items():
        if k not in defaults:
            close = difflib.get_close_matches(str(k), list(defaults), n=3, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ParamError(f"method {name!r} has no parameter {k!r}; its parameters: {', '.join(defaults)}.{hint}")
        try:
            out[k] = coerce_value(v, defaults[k])
        except ValueError as e:
            shown = v if isinstance(v, str) else repr(v)
            raise ParamError(f"{where} {name}.{k}={shown}: {e}") from None
    return out


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
            try:
                check_style(v)
            except ValueError as e:
                raise bad(k, v, str(e)) from None
        if k == "semantic" and isinstance(default, str) and isinstance(v, str):
            if not v.startswith("text:"):
                try:
                    check_vectors_spec(v, for_method=True)
                except Exception as e:  # noqa: BLE001  (WordVectorError, with its fix)
                    raise bad(k, v, str(e)) from None


def build_method(name: str, overrides: Optional[Mapping[str, Any]] = None, available: bool = False) -> Method:
    """Construct method ``name`` with ``overrides`` (command-line strings or Python values, typed by the defaults:
    ``coerce_params``) and validate it (``Method.validate_params``); a value that cannot train is a ValueError
    here, before any run. ``available=True`` (planning) also refuses a configuration whose weights are not on
    this machine (``Method.check_available``), with a ParamError saying how to get them."""
    cls = METHODS.get(name)
    m = cls(**coerce_params(cls, overrides, name=name))
    m.validate_params()
    if available:
        why = cls.check_available(m.get_params())
        if why:
            raise ParamError(why)
    return m


# -- what a configuration reads for its classes (the leaderboards' "inputs" column) -----------------------
def describe_class_inputs(params: Optional[Mapping[str, Any]], descriptions: Optional[str] = None) -> str:
    """``Method.class_inputs``'s default, from conventional parameter names: the text tower (``text_encoder``,
    ``tower``, ``trainable_layers``; CLIP's with ``weights``/``templates``) or the word vectors (``semantic``,
    ``name_prep``), the class-text style (``text_style``) and the descriptions' source when it uses them."""
    p = params if isinstance(params, Mapping) else {}
    parts = []
    sem = p.get("semantic")
    if isinstance(sem, str):
        if sem.startswith("text:"):
            parts.append(f"text encoder {sem[5:] or 'minilm'} (frozen)")
        else:
            prep = p.get("name_prep")
            vecs = Path(sem).name if ("/" in sem or "\\" in sem) else sem
            parts.append(f"word vectors {vecs}" + (f", names prepared {prep}" if prep and prep != "none" else ""))
    enc = p.get("text_encoder")
    own = "the features' own model"
    if "templates" in p:  # clip, clip-adapter: CLIP's text tower with prompt templates
        w = p.get("weights") or ""
        parts.append(f"CLIP text tower ({Path(w).name if w else own}), templates {p['templates']}")
    elif isinstance(enc, str) and (enc == "clip" or enc.startswith("clip:")):
        parts.append(f"CLIP text tower ({Path(enc[5:]).name if enc[5:] else own}; frozen, cached)")
    elif isinstance(enc, str):
        if p.get("tower") == "partial":
            parts.append(f"{Path(enc).name if '/' in enc else enc}, top {p.get('trainable_layers')} layers fine-tuned")
        else:
            parts.append(f"{Path(enc).name if '/' in enc else enc} (frozen, cached)")
    style = p.get("text_style")
    if isinstance(style, str) and parts:
        uses_desc = "description" in style
        src = descriptions if isinstance(descriptions, str) and descriptions else "builtin"
        parts.append(f"'{style}'" + (f", descriptions {'project' if src == 'builtin' else Path(src).name}"
                                     if uses_desc else ""))
    return "; ".join(parts) or "-"


# -- whether a configuration's weights are on this machine (planning refuses one whose are not) -----------
_TRUE = ("1", "true", "yes", "on")


def hub_offline() -> bool:
    """True when Hugging Face is told to stay offline (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` set)."""
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _hub_cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # noqa: BLE001  (a malformed id, no huggingface_hub: not cached)
        return False


_hub_answers: dict[str, Optional[str]] = {}


def _hub_lookup(repo_id: str) -> Optional[str]:
    """None when the hub serves ``repo_id`` (it will download at fit); else why not (offline, no such model,
    gated), asked once per process with a short timeout."""
    if repo_id not in _hub_answers:
        try:
            from huggingface_hub import HfApi

            HfApi().model_info(repo_id, timeout=10)
            _hub_answers[repo_id] = None
        except Exception as e:  # noqa: BLE001  (connection errors differ between huggingface_hub versions)
            status = getattr(getattr(e, "response", None), "status_code", None)
            if type(e).__name__ == "RepositoryNotFoundError" or status == 404:
                _hub_answers[repo_id] = "is no model id on the Hugging Face hub: check the name"
            elif status in (401, 403) or type(e).__name__ == "GatedRepoError":
                _hub_answers[repo_id] = "is gated or private on the hub: log in first (hf auth login)"
            elif status is not None:
                _hub_answers[repo_id] = f"could not be looked up: the hub answered HTTP {status}"
            else:
                _hub_answers[repo_id] = "is not in the local Hugging Face cache and the hub cannot be reached"
    return _hub_answers[repo_id]


def unavailable_message(method: str, key: str, value: str, why: str) -> str:
    """The one line planning prints for weights that are not here: the parameter, what is wrong, the fixes."""
    prefix = value[:value.index(":") + 1] if value.startswith(("text:", "clip:", "hf:", "st:")) else ""
    name = Path(value[len(prefix):]).name or "model"
    return (f"method {method!r}: {key}={value} {why}; or pass a local folder: --method-args "
            f"{method}.{key}={prefix}/path/to/{name}")


def weights_unavailable(spec: str, kind: str = "text") -> Optional[str]:
    """None when the model ``spec`` names can be loaded here; else what is wrong and how to fix it, to follow
    the parameter (``text_encoder=bert-base-uncased`` + `` is not in the local Hugging Face cache ...``).
    ``kind="text"``: a text encoder spec (``minilm``, ``hf:ID``, ``st:ID``, ``clip:WEIGHTS``, a bare id or folder;
    ``clip`` alone is the feature set's own CLIP model, checked with the features); ``kind="clip"``: CLIP weights
    (a folder or hub id). A folder must exist; a hub id must be in the local Hugging Face cache, or the hub must
    serve it (asked only when not offline: ``HF_HUB_OFFLINE``)."""
    target = spec
    if kind == "text":
        if spec in (None, "", "minilm", "clip"):
            return None
        for prefix in ("clip:", "hf:", "st:"):
            if spec.startswith(prefix):
                target = spec[len(prefix):]
                break
    if not target:
        return None  # an empty name is the parameter's own error (validate_params, or the encoder's)
    local = Path(target).expanduser()
    if local.is_dir():
        return None
    if local.exists() or target.startswith(("/", ".", "~")) or target.count("/") > 1 or "\\" in target:
        return "is no model folder on this machine"
    if _hub_cached(target):
        return None
    fix = f"download it where there is network (hf download {target}) and copy ~/.cache/huggingface/hub here"
    if hub_offline():
        return f"is not in the local Hugging Face cache and HF_HUB_OFFLINE is set: {fix}"
    why = _hub_lookup(target)
    if why is None:
        return None
    return f"{why}: {fix}" if why.startswith("is not in the local") else why
