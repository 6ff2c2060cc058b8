"""What the driver knows of a method: data, computed where plugin code runs, never in the driver itself.

The driver plans runs, derives labels and computes every metric. A plugin's module, ``__init__``,
``validate_params``, ``get_params`` and ``text_encodings`` are method code; run in the driver, they could change
what the driver computes for every other method (rebind a metric function, fill a cache with other labels).
So for each method the driver asks a fresh worker process (the local executor's, forked from the warm fork
server, serving that method only) and reads its answer as JSON (``wire``, never unpickled):

- ``describe``: the registry's data of the method (parameters and defaults, modes, feature model), or that the
  name is unknown and the names that are known;
- ``facts``: per configuration, its checked parameters, ``get_params``, the parameters of its config hash, its
  revision and whether it needs concept detections, or the one-line error that refuses it;
- ``text_requests``: per configuration and data side, the texts it will embed (``Method.text_encodings``).

Every answer is checked here (types, lengths) before it is used. ``in_process=True`` (``--executor inline``,
``isolate=False``, a method defined in a notebook) computes the same answers in this process, through the same
JSON round trip, so both paths give identical config hashes and record keys.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

from ..errors import ZsarBenchError
from ..hashing import config_hash_of
from ..method import METHODS, Method, ParamError, build_method, coerce_value, describe_class_inputs
from ..paths import data_root
from ..plugin_index import describe as index_entry
from ..plugin_index import fingerprint
from ..plugins import ensure_method, load_plugins
from .wire import decode_json, encode_json


class MethodFactsError(ZsarBenchError, ValueError):
    """A method's worker answered with something that is not the harness's data."""


@dataclass(frozen=True)
class MethodFacts:
    """One configuration of a method, as data (``facts``)."""
    name: str
    args: dict  # the configuration's arguments, checked and typed (``_checked_args``)
    params: dict  # ``get_params``
    hash_params: dict  # ``hash_params``: what enters the config hash
    revision: int
    needs_concepts: bool

    def config_hash(self, extra: Optional[dict] = None) -> str:
        return config_hash_of(self.name, self.hash_params, self.revision, extra)


# -- what runs where the plugins are loaded (a worker, or this process when in_process) --------------------------

def _describe(name: str) -> dict:
    if name not in METHODS:
        load_plugins()  # every plugin, for the list of known names
        return {"known": False, "names": METHODS.names(), "message": METHODS.unknown_message(name)}
    cls = METHODS.get(name)
    return {"known": True, "info": {**index_entry(name), "feature_model": cls.feature_model}}


def _facts(name: str, configs: list, available: bool) -> list:
    """Per configuration: {"facts": ...} or {"error": one line}. ``available``: refuse weights not on this
    machine (``Method.check_available``), as planning does."""
    out: list = []
    for args in configs:
        try:
            checked = _checked_args(name, args)
            m = build_method(name, checked, available=available)
            out.append({"facts": {"name": m.name or name, "args": checked, "params": m.get_params(),
                                  "hash_params": m.hash_params(), "revision": int(m.revision),
                                  "needs_concepts": bool(m.needs_concepts)}})
        except (ValueError, TypeError) as e:
            out.append({"error": str(e)})
    return out


def _checked_args(name: str, args: Mapping[str, Any], where: str = "method_args") -> dict[str, Any]:
    """``args`` of registered method ``name``, each known and typed (``method.coerce_value``); command-line strings
    are kept as given (``build_method`` parses them). ParamError naming ``where`` otherwise."""
    defaults = METHODS.get(name).param_defaults()
    out = {}
    for k, v in args.items():
        if k not in defaults:
            raise ParamError(f"method {name!r} has no parameter {k!r}; its parameters: {', '.join(defaults)}")
        if isinstance(v, str):
            out[k] = v
            continue
        try:
            out[k] = coerce_value(v, defaults[k])
        except ValueError as e:
            raise ParamError(f"{where} {name}.{k}={v!r}: {e}") from None
    return out


def _text_requests(name: str, items: list) -> list:
    """Per (arguments, side) item, side = (classes, concepts, concept ids): [[encoder, max_length, texts], ...].
    A configuration is built once however many sides it is asked about."""
    built: dict[str, Any] = {}
    out = []
    for args, side in items:
        key = json.dumps(args, sort_keys=True, default=str)
        if key not in built:
            built[key] = build_method(name, args)
        out.append([[e.encoder, int(e.max_length), list(e.texts)] for e in built[key].text_encodings(*side)])
    return out


def _answer(kind: str, name: str, *args: Any) -> Any:
    """The job a method's worker runs (its plugins loaded): one of the questions above about ``name``."""
    if kind == "cards":
        return _cards()
    ensure_method(name)  # built-in methods first: a built-in method's answers never involve a third-party plugin
    if kind == "class_inputs":
        return {"label": METHODS.get(name).class_inputs(*args)}
    described = _describe(name)
    if kind == "describe" or not described["known"]:
        return described
    if kind == "facts":
        return {**described, "configs": _facts(name, *args)}
    return {**described, "texts": _text_requests(name, *args)}


_sandbox = {"on": False}  # ``sandboxed``: the questions go to sandboxed workers too


@contextmanager
def sandboxed(on: bool = True) -> Iterator[None]:
    """Ask every question of this block in a bubblewrap sandbox (``--executor sandbox``): a plugin you do not trust
    runs nowhere else."""
    before, _sandbox["on"] = _sandbox["on"], on
    try:
        yield
    finally:
        _sandbox["on"] = before


def ask(kind: str, name: str, *args: Any, in_process: bool = False) -> dict:
    """``_answer`` in a fresh worker that serves ``name`` only (``in_process``: here), through JSON either way."""
    if in_process:
        return decode_json(encode_json(_answer(kind, name, *args)))
    from .executors.local import LocalExecutor

    executor = LocalExecutor
    if _sandbox["on"]:
        from .executors.sandbox import SandboxExecutor as executor  # noqa: N813
    with executor(str(data_root()), threads=1, jobs=1) as ex:
        job = ex.submit(_answer, kind, name, *args, group=name)
        ex.wait([job])
        return job.result()


# -- checked answers ------------------------------------------------------------------------------------------

def describe(name: str, in_process: bool = False) -> dict:
    """{"known": True, "info": {...}} or {"known": False, "message": ...}, checked."""
    return _checked_description(ask("describe", name, in_process=in_process), name)


def _checked_description(ans: Any, name: str) -> dict:
    if not isinstance(ans, dict) or not isinstance(ans.get("known"), bool):
        raise MethodFactsError(f"method {name!r}: its worker's description is not the harness's data")
    if not ans["known"]:
        return {"known": False, "message": str(ans.get("message") or f"unknown method {name!r}")}
    info = ans.get("info")
    ok = isinstance(info, dict) and isinstance(info.get("params"), dict) and isinstance(info.get("modes"), list) \
        and all(isinstance(m, str) for m in info["modes"]) \
        and (info.get("feature_model") is None or isinstance(info.get("feature_model"), str))
    if not ok:
        raise MethodFactsError(f"method {name!r}: its worker's description is not the harness's data")
    return ans


def facts(name: str, configs: Sequence[Mapping[str, Any]], available: bool = False,
          in_process: bool = False) -> tuple[dict, list]:
    """(description, per configuration a ``MethodFacts`` or an error message), checked."""
    ans = ask("facts", name, [dict(c) for c in configs], available, in_process=in_process)
    described = _checked_description(ans, name)
    if not described["known"]:
        return described, []
    items = ans.get("configs")
    if not isinstance(items, list) or len(items) != len(configs):
        raise MethodFactsError(f"method {name!r}: its worker answered for another number of configurations")
    return described, [_checked_facts(name, item) for item in items]


def _checked_facts(name: str, item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("error"), str):
        return item["error"][:2000]
    f = item.get("facts") if isinstance(item, dict) else None
    ok = isinstance(f, dict) and f.get("name") == name and all(isinstance(f.get(k), dict) for k in
                                                               ("args", "params", "hash_params")) \
        and isinstance(f.get("revision"), int) and not isinstance(f.get("revision"), bool) \
        and isinstance(f.get("needs_concepts"), bool)
    if not ok:
        raise MethodFactsError(f"method {name!r}: its worker's facts are not the harness's data (a configuration "
                               "must describe the method it was asked about)")
    return MethodFacts(name, f["args"], f["params"], f["hash_params"], f["revision"], f["needs_concepts"])


def text_requests(name: str, items: Sequence[tuple[Mapping[str, Any], tuple]],
                  in_process: bool = False) -> list[list[tuple[str, int, list[str]]]]:
    """Per (arguments, side) item (side = classes, concepts, concept ids): the (encoder, max_length, texts) that
    configuration embeds for that side, checked."""
    ans = ask("texts", name, [(dict(a), side) for a, side in items], in_process=in_process)
    got = ans.get("texts") if isinstance(ans, dict) else None
    bad = MethodFactsError(f"method {name!r}: its worker's text encodings are not the harness's data")
    if not isinstance(got, list) or len(got) != len(items):
        raise bad
    return [[_checked_request(r, bad) for r in per_item] if isinstance(per_item, list) else _raise(bad)
            for per_item in got]


def _raise(e: Exception):
    raise e


def _checked_request(r: Any, bad: Exception) -> tuple[str, int, list[str]]:
    if not (isinstance(r, list) and len(r) == 3 and isinstance(r[0], str) and isinstance(r[1], int)
            and isinstance(r[2], list) and all(isinstance(t, str) for t in r[2])):
        raise bad
    return r[0], r[1], r[2]


# -- what the reports need of every registered method ----------------------------------------------------------

def _cannot_run(cls: type) -> Optional[str]:
    """Why ``cls`` cannot run on the default synthetic features with its defaults (the leaderboards' "not run:"
    rows), None when it can: other features (CLIP), few-shot only, or weights not on this machine (offline)."""
    import os
    import re

    if cls.feature_model:
        return f"needs {str(cls.feature_model).upper()} features"
    if "zsl" not in cls.modes:
        return "few-shot only"
    before = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        why = cls.check_available(cls.param_defaults())
    except Exception as e:  # noqa: BLE001  (a check that fails says why)
        why = f"{type(e).__name__}: {e}"
    finally:
        if before is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = before
    if why:
        m = re.search(r"\w+=([^\s,;:]+)", why)
        return "weights not available offline" + (f" ({m.group(1)})" if m else "")
    return None


def _cards() -> dict:
    """Every registered method's card (what a worker that loaded the plugins answers for ``cards``)."""
    load_plugins()
    out = {}
    for name in METHODS.names():
        cls = METHODS.get(name)
        out[name] = {**index_entry(name), "revision": int(cls.revision), "hash_omitted": cls.hash_omitted(),
                     "feature_model": cls.feature_model, "cannot_run": _cannot_run(cls),
                     "own_class_inputs": cls.class_inputs.__func__ is not Method.class_inputs.__func__}
    return out


class MethodCard:
    """A registered method as the reports read it: the class's data (defaults, revision, modes, ...) without its
    code. ``class_inputs`` is the harness's default description unless the method declares its own, which is then
    asked of a worker once per configuration."""

    def __init__(self, card: dict):
        ok = isinstance(card.get("revision"), int) and isinstance(card.get("learns"), bool) \
            and isinstance(card.get("modes"), list) and all(isinstance(m, str) for m in card["modes"]) \
            and isinstance(card.get("params"), dict) and isinstance(card.get("hash_omitted"), dict) \
            and isinstance(card.get("own_class_inputs"), bool) \
            and all(card.get(k) is None or isinstance(card.get(k), str) for k in ("feature_model", "cannot_run",
                                                                                  "origin"))
        if not ok:
            raise MethodFactsError(f"method {card.get('name')!r}: its card is not the harness's data")
        self.card = card
        self.origin = card.get("origin") or ""
        self.name = card["name"]
        self.revision = card["revision"]
        self.learns = card["learns"]
        self.modes = tuple(card["modes"])
        self.feature_model = card["feature_model"]
        self.cannot_run = card["cannot_run"]
        self._labels: dict[str, str] = {}

    def param_defaults(self) -> dict:
        return dict(self.card["params"])

    def hash_omitted(self) -> dict:
        return dict(self.card["hash_omitted"])

    def class_inputs(self, params: Any, descriptions: Optional[str] = None) -> str:
    
        if not self.card["own_class_inputs"]:
            return describe_class_inputs(params, descriptions)
        key = json.dumps([params, descriptions], sort_keys=True, default=str)
        if key not in self._labels:
            ans = ask("class_inputs", self.name, params, descriptions)
            label = ans.get("label") if isinstance(ans, dict) else None
            self._labels[key] = label[:200] if isinstance(label, str) else describe_class_inputs(params, descriptions)
        return self._labels[key]


_cards_cache: dict[str, dict[str, MethodCard]] = {}


def method_cards() -> dict[str, MethodCard]:
    """Every registered method's card, asked of one worker once per state of the plugins' sources (the plugin
    index's fingerprint); {} when no worker can answer (the reports then describe rows from their records)."""
    fp = fingerprint()
    if fp not in _cards_cache:
        try:
            got = ask("cards", "")
            ok = isinstance(got, dict) and all(isinstance(v, dict) and v.get("name") == k for k, v in got.items())
            _cards_cache[fp] = {k: MethodCard(v) for k, v in got.items()} if ok else {}
        except Exception:  # noqa: BLE001 - the reports stay readable without the cards
            _cards_cache[fp] = {}
    return _cards_cache[fp]
