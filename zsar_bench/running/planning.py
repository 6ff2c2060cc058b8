"""Run planning: what to run (methods and their arguments, datasets, protocols, folds, seeds, modes) to the
list of ``RunSpec`` that ``sweep.run_specs`` executes.

One function, ``plan_runs``, is shared by the command line (``cli.cmd_run``), the Python API
(``zsar_bench.evaluate``) and config-file sweeps (``run_bench.py --config FILE.yaml``, ``load_config``),
so a run planned by any of them has the same record key (method, config hash, dataset, ..., seed, mode).
Everything is checked before any run and before any feature set is generated or loaded: each method
configuration is built (and validated) once, in a worker process that serves that method (``method_facts``: no
plugin code runs in the driver), seeds and modes are parsed once, and the device is resolved once and written
into every spec.

User mistakes are ``PlanError`` (a ``ValueError``) with the command line's one-line messages; a config
file's mistakes are ``ConfigError`` (a ``PlanError``) naming the file and the key.
"""
from __future__ import annotations

import difflib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterable, Mapping, Optional, Sequence, Union

from ..errors import ZsarBenchError
from ..method import coerce_value
from ..runtime import DEVICE_RE

if TYPE_CHECKING:  # imported lazily: the command line imports this module for every command
    from .method_facts import MethodFacts
    from .runner import RunSpec


class PlanError(ZsarBenchError, ValueError):
    """A run that cannot be planned as asked (unknown method, bad seeds, ...): a one-line message and its fix."""


class ConfigError(PlanError):
    """A config file that cannot be used: the message names the file and the key."""


MethodEntry = Union[str, tuple]  # "name" or ("name", {param: value})


# -- parsing (the command line's syntax; the API also accepts the parsed forms) --------------------------

def split_csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


MAX_SEED = 2**63 - 1  # torch.manual_seed takes up to 2**64 - 1, but records, tables and parquet hold an int64


def parse_seeds(raw: Union[str, int, Iterable[int]]) -> list[int]:
    """``"0,1"`` (command line), an int or an iterable of ints -> list of seeds (whole numbers 0 .. 2**63 - 1)."""
    if isinstance(raw, str):
        seeds = []
        for part in raw.split(","):
            part = part.strip()
            if not re.fullmatch(r"\d+", part):
                what = "an empty seed" if not part else f"{_short(part)} is not a seed"
                raise PlanError(f"--seeds {_short(raw)}: {what}; give whole numbers 0 or more, comma-separated, e.g. "
                                "--seeds 0 or --seeds 0,1,2")
            # the length first: int() of a string of 4300+ digits raises
            if len(part.lstrip("0")) > 19 or int(part) > MAX_SEED:
                raise PlanError(f"--seeds {_short(raw)}: seed {_short(part)} is too large; seeds go from 0 to "
                                f"2**63-1 ({MAX_SEED}), e.g. --seeds 0,1,2")
            seeds.append(int(part))
        return seeds
    items = [raw] if _is_int(raw) or isinstance(raw, (float, bool)) else list(raw)
    if not items:
        raise PlanError("seeds: none given; give whole numbers 0 or more, e.g. seeds=(0,) or seeds=(0, 1, 2)")
    for s in items:
        if not _is_int(s) or s < 0:
            raise PlanError(f"seeds {_short(items)}: {_short(s)} is not a seed; give whole numbers 0 or more, e.g. "
                            "seeds=(0,) or seeds=(0, 1, 2)")
        if int(s) > MAX_SEED:
            raise PlanError(f"seeds {_short(items)}: seed {_short(s)} is too large; seeds go from 0 to 2**63-1 "
                            f"({MAX_SEED}), e.g. seeds=(0,) or seeds=(0, 1, 2)")
    return [int(s) for s in items]


def _short(x: Any, limit: int = 60) -> str:
    """``repr(x)`` cut to ``limit`` characters, so that a huge value cannot make a message huge."""
    try:
        r = repr(x)
    except ValueError:  # an int of more than 4300 digits has no repr
        return f"<a whole number of {x.bit_length()} bits>" if isinstance(x, int) else f"<{type(x).__name__}>"
    return r if len(r) <= limit else r[:limit - 3] + "..."


def _is_int(x: Any) -> bool:
    import numpy as np

    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def parse_fewshot(raw: Union[None, str, int, Iterable[int]], gzsl: bool = False) -> list[str]:
    """The evaluation modes asked for: ["zsl"], ["gzsl"] or one "fewshot-K" per K of ``--fewshot``
    (``"1,2,5"``, an int or an iterable of ints)."""
    if raw is None:
        return ["gzsl" if gzsl else "zsl"]
    if gzsl:
        raise PlanError("--fewshot and --gzsl are two different evaluation modes; pass one of them (run the command "
                        "twice for both)")
    shown = raw if isinstance(raw, str) else ",".join(map(str, [raw] if not isinstance(raw, Iterable) else raw))
    parts = raw.split(",") if isinstance(raw, str) else [str(raw)] if not isinstance(raw, Iterable) else \
        [str(x) if _is_int(x) else repr(x) for x in raw]
    ks: list[int] = []
    for part in parts:
        part = part.strip()
        if not re.fullmatch(r"[0-9]+", part) or int(part) < 1:
            what = "an empty K" if not part else f"{part!r} is not a positive whole number"
            raise PlanError(f"--fewshot {shown!r}: {what}; give clips per class, comma-separated, e.g. --fewshot 1,2,5")
        if int(part) not in ks:
            ks.append(int(part))
    return [f"fewshot-{k}" for k in ks]


# a comma separates two overrides only where METHOD.KEY= follows it: values may contain commas
_ARG_SEP = re.compile(r",(?=\s*[A-Za-z0-9][\w+-]*\.[A-Za-z_]\w*\s*=)")


def parse_method_args(items: Sequence[str], methods: Sequence[str]) -> dict[str, dict[str, str]]:
    """``["label.lr=1e-3,er.epochs=5"]`` -> {method: {key: raw value}}. Items split on commas followed by
    ``METHOD.KEY=`` only, so ``label.text_style=a video of {name}, outdoors`` keeps its comma."""
    out: dict[str, dict[str, str]] = {m: {} for m in methods}
    for item in items:
        for part in (x.strip() for x in _ARG_SEP.split(item)):
            if not part:
                continue
            if "=" not in part or "." not in part.split("=", 1)[0]:
                raise PlanError(f"--method-args {part!r}: expected METHOD.KEY=VALUE, e.g. label.lr=1e-3")
            lhs, value = part.split("=", 1)
            m, key = (x.strip() for x in lhs.split(".", 1))
            if m not in out:
                raise PlanError(f"--method-args {part!r}: method {m!r} is not among --methods ({', '.join(methods)})")
            out[m][key] = value
    return out


def check_device(device: str, option: str = "--device") -> str:
    """``device`` if it is auto, cpu, cuda or cuda:N; a PlanError listing them otherwise."""
    if not isinstance(device, str) or not DEVICE_RE.match(device or ""):
        raise PlanError(f"{option} {device!r} is not a device; use auto (CUDA when present), cpu, cuda or cuda:N "
                        "(N = GPU index, e.g. cuda:0)")
    return device


# -- method parameters ---------------------------------------------------------------------------------

def _method_entries(methods: Union[str, Sequence[MethodEntry]]) -> list[tuple[str, dict]]:
    if isinstance(methods, str):
        return [(m, {}) for m in split_csv(methods)]
    out = []
    for entry in methods:
        if isinstance(entry, str):
            out.append((entry, {}))
        elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str) \
                and isinstance(entry[1], Mapping):
            out.append((entry[0], dict(entry[1])))
        else:
            raise PlanError(f"methods: {entry!r} is not a method name or a (name, {{parameter: value}}) pair")
    return out


# -- planning ------------------------------------------------------------------------------------------

def plan_runs(methods: Union[str, Sequence[MethodEntry]], datasets: Union[str, Sequence[str]], *,
              protocol: Union[None, str, Sequence[str]] = None, split_file: Optional[str] = None,
              folds: Union[None, str, int, Iterable[int]] = None, seeds: Union[str, int, Iterable[int]] = (0,),
              features: str = "synthetic", method_args: Union[None, Mapping, Sequence[str]] = None,
              mode: Union[None, str, Sequence[str]] = None, gzsl: bool = False,
              fewshot: Union[None, str, int, Iterable[int]] = None,
              descriptions: Union[None, str, Path] = None, exclude_overlap: Optional[str] = None,
              pretrain_names: Union[None, str, Path] = None, device: str = "auto", progress: bool = False,
              save_scores: Optional[str] = None, in_process: Union[bool, Collection[str]] = False) -> list[RunSpec]:
    """Every run asked for, as ``RunSpec``s in the command line's order (dataset, protocol, mode, fold, seed,
    method); raises ``PlanError`` (the command line's messages) before anything runs.

    ``methods``: registered names (a comma-separated string, or a list), or ``(name, {parameter: value})``
    pairs; one method may appear several times with different parameters (a sweep). ``method_args``:
    ``{method: {parameter: value}}`` applied to every entry of that method (an entry's own pair wins), or
    the command line's ``["label.lr=1e-3", ...]``. Values are typed as the command line types the same
    text, so every way of asking for a configuration gives the same config hash. ``folds``: ``"0-9"``,
    ``"0,3"``, an int or ints (None: all folds). ``seeds``: ``"0,1"``, an int or ints. ``mode``: ``zsl``,
    ``gzsl``, ``fewshot-K`` or a list of them; or the command line's ``gzsl``/``fewshot`` (``"1,2,5"`` or
    ints). ``protocol``: a name or a list of names (None: each dataset's default). ``device`` is resolved
    once (auto = CUDA when present) and written into every spec.

    Methods are known here by what a worker process that loaded their plugin says of them (``method_facts``): no
    plugin code runs in this process, except for the methods named in ``in_process`` (True: every method), which
    run here anyway (``--executor inline``, a method defined in a notebook)."""
    from .runner import RunSpec

    entries = _method_entries(methods)
    datasets = split_csv(datasets) if isinstance(datasets, str) else list(datasets)
    names = list(dict.fromkeys(n for n, _ in entries))
    _check_known(entries, names, datasets)
    here = set(names) if in_process is True else set(in_process or ())
    variants, infos = _build_variants(entries, _method_args_by_name(method_args, names), here)
    # every usage error before any run (and before any feature set is generated or loaded)
    seed_list = parse_seeds(seeds)
    modes = _plan_modes(mode, gzsl, fewshot)
    _check_method_modes(names, modes, infos)
    check_device(device)
    protocols = [protocol] if isinstance(protocol, str) else list(protocol or [])
    if protocols and split_file:
        raise PlanError(f"--protocol {','.join(protocols)} and --split-file {split_file} both choose the folds; pass "
                        "one of them (a split file names its own protocol)")
    folds = _folds_spec(folds)
    _check_feature_store(features)
    for name in names:
        _check_feature_model(name, infos[name].get("feature_model"), datasets, features)
    desc, desc_source = _plan_descriptions(descriptions, datasets)
    chosen = _choose_splits(datasets, protocols, split_file, exclude_overlap, pretrain_names, modes, folds)
    _check_official_videos(chosen, features)
    resolved = _resolved_device(device)
    specs = []
    for d, pr, fold_list in chosen:
        for md in modes:
            for fold in fold_list:
                for seed in seed_list:
                    for facts in variants:
                        specs.append(RunSpec(facts.name, dict(facts.args), d, features, pr, fold, seed,
                                             device=resolved, descriptions=desc, descriptions_source=desc_source,
                                             progress=progress, mode=md, save_scores=save_scores,
                                             method_facts=facts, in_process=facts.name in here))
    return specs


def _check_known(entries: list[tuple[str, dict]], names: list[str], datasets: list) -> None:
    """At least one method and one dataset; each dataset registered (methods: ``_build_variants``)."""
    from ..datasets import DATASETS, dataset_names

    if not entries:
        raise PlanError("no methods given; name at least one (see `run_bench.py list methods`)")
    if not datasets:
        raise PlanError(f"no datasets given; name at least one: {dataset_names()}")
    for d in datasets:
        if not isinstance(d, str) or d not in DATASETS:
            raise PlanError(DATASETS.unknown_message(str(d)))


def _method_args_by_name(method_args: Union[None, Mapping, Sequence[str]], names: list[str]) -> dict[str, dict]:
    """``method_args`` (None, ``{method: {parameter: value}}`` or the command line's strings) per method name."""
    if method_args is None:
        return {m: {} for m in names}
    if not isinstance(method_args, Mapping):
        return parse_method_args(list(method_args), names)
    margs: dict[str, dict] = {m: {} for m in names}
    for m, a in method_args.items():
        if m not in margs:
            raise PlanError(f"method_args: method {m!r} is not among the methods ({', '.join(names)})")
        if not isinstance(a, Mapping):
            raise PlanError(f"method_args[{m!r}]: expected {{parameter: value}}, got {a!r}")
        margs[m] = dict(a)
    return margs


def _build_variants(entries: list[tuple[str, dict]], margs: dict[str, dict],
                    here: set[str]) -> tuple[list["MethodFacts"], dict[str, dict]]:
    """Per entry, its configuration's facts (an entry's own parameters over ``margs``), each distinct configuration
    built and validated once, in a worker that serves that method (``method_facts``; in this process for the
    names in ``here``); and per method, its registry data. PlanError for an unknown method or a configuration
    that cannot train (weights not on this machine included: ``check_available``)."""
    from . import method_facts

    wanted: dict[str, dict[str, dict]] = {}  # name -> {configuration's key: its arguments}
    keys = []
    for name, own in entries:
        args = {**margs.get(name, {}), **own}
        key = json.dumps(args, sort_keys=True, default=repr)
        wanted.setdefault(name, {}).setdefault(key, args)
        keys.append((name, key))
    facts: dict[tuple[str, str], Any] = {}
    infos: dict[str, dict] = {}
    for name, configs in wanted.items():
        described, got = method_facts.facts(name, list(configs.values()), available=True, in_process=name in here)
        if not described["known"]:
            raise PlanError(described["message"])
        infos[name] = described["info"]
        for key, f in zip(configs, got):
            if isinstance(f, str):
                raise PlanError(f)
            facts[(name, key)] = f
    return [facts[k] for k in keys], infos


def _plan_modes(mode: Union[None, str, Sequence[str]], gzsl: bool,
                fewshot: Union[None, str, int, Iterable[int]]) -> list[str]:
    """The evaluation modes: ``mode`` as given (checked, duplicates dropped), or from ``gzsl``/``fewshot``."""
    from ..measure.folds import mode_kind

    if mode is None:
        return parse_fewshot(fewshot, gzsl)
    if gzsl or fewshot is not None:
        raise PlanError("mode and gzsl/fewshot both choose the evaluation mode; pass one of them")
    modes = [mode] if isinstance(mode, str) else list(mode)
    if not modes:
        raise PlanError("mode: none given; choose zsl, gzsl or fewshot-K")
    for md in modes:
        try:
            mode_kind(md)
        except ValueError as e:
            raise PlanError(str(e)) from None
    return list(dict.fromkeys(modes))


def _check_method_modes(names: list[str], modes: list[str], infos: dict[str, dict]) -> None:
    """Method.modes: a few-shot-only method cannot run zsl, and so on (one check per kind of mode)."""
    from ..measure.folds import check_method_mode, mode_kind

    for m in names:
        for kind in dict.fromkeys(mode_kind(md) for md in modes):
            try:
                check_method_mode(m, next(md for md in modes if mode_kind(md) == kind), infos[m]["modes"])
            except ValueError as e:
                raise PlanError(str(e)) from None


def _folds_spec(folds: Union[None, str, int, Iterable[int]]) -> Optional[str]:
    """``folds`` as the command line's checked spec (``"0,3"``; None: all folds)."""
    from ..splits import SplitError, check_folds_spec

    if folds is not None and not isinstance(folds, str):
        items = [folds] if not isinstance(folds, Iterable) else list(folds)
        bad = [f for f in items if not _is_int(f) or f < 0]
        if bad or not items:
            raise PlanError(f"folds {items!r}: {bad[0]!r} is not a fold number; give fold numbers 0 or more, e.g. "
                            "folds='0-9', folds=[0, 3] or folds=2" if bad else
                            "folds: an empty list selects nothing; pass None for all folds")
        folds = ",".join(str(int(f)) for f in items)
    try:
        check_folds_spec(folds)
    except SplitError as e:
        raise PlanError(str(e)) from None
    return folds


def _check_feature_store(features: str) -> None:
    """A valid feature set name, and a usable data root."""
    from ..paths import DataRootError, InvalidNameError, check_data_root, check_name

    try:
        check_name(features, "feature set")
    except InvalidNameError as e:
        raise PlanError(str(e)) from None
    try:
        check_data_root()
    except DataRootError as e:
        raise PlanError(str(e)) from None


def _plan_descriptions(descriptions: Union[None, str, Path], datasets: list[str]) -> tuple[Any, str]:
    """(class descriptions or None, their source) for ``--descriptions``."""
    if not descriptions:
        return None, "builtin"
    from ..text.descriptions import load_descriptions

    if len(datasets) != 1:
        raise PlanError("--descriptions applies to one dataset at a time; pass a single --datasets")
    return load_descriptions(descriptions, datasets[0]), str(descriptions)


def _choose_splits(datasets: list[str], protocols: list[str], split_file: Optional[str],
                   exclude_overlap: Optional[str], pretrain_names: Union[None, str, Path], modes: list[str],
                   folds: Optional[str]) -> list[tuple]:
    """(dataset, protocol, folds) per dataset and protocol: every split checked before the device is resolved."""
    from ..measure.folds import mode_kind
    from ..splits import default_protocol, load_protocol, load_split_file, parse_folds

    chosen = []
    for d in datasets:
        for proto_name in protocols or [None]:
            if split_file:
                pr = load_split_file(split_file)
                if pr.dataset != d:
                    raise PlanError(f"--split-file {split_file} is for dataset {pr.dataset!r}, not {d!r}")
            else:
                pr = load_protocol(d, proto_name or default_protocol(d))
            if pretrain_names and not exclude_overlap:
                raise PlanError("--pretrain-names names the classes of --exclude-overlap PRETRAIN; pass both")
            if exclude_overlap:
                from ..overlap import exclude_overlap as _exclude

                pr = _exclude(pr, exclude_overlap, pretrain_names)
            if any(mode_kind(md) == "gzsl" for md in modes) and pr.train_dataset not in (None, d):
                raise PlanError(f"--gzsl needs seen and unseen classes from one dataset; {d}/{pr.protocol} trains "
                                f"on {pr.train_dataset}: drop --gzsl or choose another protocol")
            chosen.append((d, pr, parse_folds(folds, pr)))
    return chosen


def _check_official_videos(chosen: list[tuple], features: str) -> None:
    """A protocol on the official test videos (``test_videos``) refuses the synthetic world, whose video ids are
    opaque: no clip of it is in an official split (an imported set's ids are checked when its folds are made)."""
    for d, pr, _ in chosen:
        if pr.test_videos and (features == "synthetic" or features.startswith("synthetic-")):
            raise PlanError(f"{d}/{pr.protocol} tests the videos of the official test splits, found by their official "
                            f"names; the synthetic features' video ids are opaque, so no clip is in a split. Import "
                            f"real features whose ids are the official video names and pass --features NAME")


def _resolved_device(device: str) -> str:
    """``device`` resolved once (auto = CUDA when present), for every spec."""
    from ..runtime import resolve_device

    try:
        return resolve_device(device)
    except RuntimeError as e:
        raise PlanError(str(e)) from None


def _check_feature_model(method: str, kind: Optional[str], datasets: Sequence[str], features: str) -> None:
    """A method that needs features of a named model kind (``Method.feature_model``) refuses, before any run, a
    feature set whose manifest records another model or none (a set not installed fails later, as any)."""
    if kind is None:
        return
    from ..features.base import FeatureStoreError, feature_root, read_manifest

    for d in datasets:
        if features == "synthetic":
            why = "the synthetic set was made by no such model"
        else:
            try:
                man = read_manifest(feature_root(d, features), d, features)
            except FeatureStoreError:
                continue
            got = (man.get("model") or {}).get("kind")
            if got == kind:
                continue
            why = f"its manifest records {'a ' + repr(got) + ' model' if got else 'no model'}"
        raise PlanError(
            f"method {method!r} needs {kind.upper()} features (a feature set whose manifest records the {kind} model "
            f"they came from), and {d}/{features}: {why}. Extract them with `run_bench.py extract-features {d} NAME "
            f"--videos DIR --backbone {kind} --weights W` or import yours with `import-features {d} NAME --from ... "
            f"--{kind}-weights W`, then pass --features NAME")


# -- config files (run_bench.py --config FILE.yaml) -------------------------------------------------------

# keys of a config file besides run_parser's options (which it also takes: jobs, threads, device, records, ...)
CONFIG_KEYS = ("methods", "datasets", "protocol", "protocols", "folds", "seeds", "mode", "fewshot")
# run_parser options a config file cannot set: the file's own `methods` section replaces them
NOT_IN_CONFIG = ("help", "methods", "method_args", "config")


@dataclass
class Config:
    """A validated config file: ``methods`` as (name, {parameter: typed value}) entries, one per grid point,
    and ``options``: run_parser destinations -> values in the command line's form (``folds``, ``seeds``,
    ``fewshot``, ``datasets`` as comma-separated strings; ``protocol`` a list when several), plus ``mode``
    when the file names modes directly."""

    path: Path
    methods: list[tuple[str, dict]]
    options: dict[str, Any] = field(default_factory=dict)
    mode: Optional[list[str]] = None


def expand_grid(grid: Mapping[str, Any]) -> list[dict]:
    """``{lr: [1e-3, 3e-4], epochs: 5}`` -> the cartesian product, in the file's key and value order:
    ``[{lr: 1e-3, epochs: 5}, {lr: 3e-4, epochs: 5}]``. A scalar is a one-value axis."""
    keys = list(grid)
    axes = [v if isinstance(v, list) else [v] for v in grid.values()]
    return [dict(zip(keys, point)) for point in itertools.product(*axes)]


def _run_parser_actions(parser) -> dict[str, Any]:
    out = {}
    for a in parser._actions:  # noqa: SLF001 (argparse has no public list of actions)
        if a.dest in NOT_IN_CONFIG or not a.option_strings:
            continue
        out[a.dest] = a
    return out


def _closest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""


def load_config(path: Union[str, Path], parser) -> Config:
    """Read and validate a sweep config (YAML) against ``parser``, the run command's options
    (``zsar_bench.cli.run_parser()``: a config may set any of them under its name). ``ConfigError`` naming
    the file and key for an unknown key, an unknown method or dataset, a parameter a method lacks, or a value
    of the wrong type.

    Format (every key but ``methods`` and ``datasets`` optional)::

        methods:                       # method -> parameter grid (lists are swept, cartesian product)
          er: {lr: [1e-3, 3e-4], epochs: 5}
          label: {}                    # defaults (or list the method under `methods: [label, er]`)
          w2v: [{text_style: name}, {text_style: description}]   # a list of grids: their union
        datasets: [hmdb51]             # or "hmdb51,ucf101"
        protocol: random-50-50         # or a list; `protocols:` is the same key
        folds: 0-4                     # or [0, 1, 2] or 3
        seeds: [0, 1]
        mode: zsl                      # zsl, gzsl, fewshot-K or a list; or gzsl: true / fewshot: [1, 2, 5]
        jobs: 2                        # ... and any other run_bench.py option, under its name
                                       # (threads, device, features, records, reports_dir, overwrite, ...)
    """

    path = Path(path)
    where = str(path)
    doc = _read_config_doc(path)
    actions = _run_parser_actions(parser)
    by_name = {**{k: k for k in actions}, **{k.replace("_", "-"): k for k in actions}}
    _check_config_keys(doc, where, by_name, actions)

    def err(key: str, msg: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {msg}")

    entries = _config_methods(doc["methods"], err)
    options: dict[str, Any] = {"datasets": _config_datasets(doc["datasets"], err)}
    protocol = _config_protocol(doc, where, err)
    if protocol is not None:
        options["protocol"] = protocol
    if "folds" in doc and doc["folds"] is not None:
        options["folds"] = _config_folds(doc["folds"], err)
    if "seeds" in doc:
        options["seeds"] = _config_seeds(doc["seeds"], err)
    if "fewshot" in doc and doc["fewshot"] is not None:
        options["fewshot"] = _config_fewshot(doc["fewshot"], err)
    mode = _config_mode(doc, err) if "mode" in doc else None

    for key, v in doc.items():  # run_parser's own options, checked as argparse would check them
        if key in CONFIG_KEYS:
            continue
        dest = by_name[key]
        options[dest] = _option_value(actions[dest], key, v, err)
    return Config(path=path, methods=entries, options=options, mode=mode)


def _read_config_doc(path: Path) -> dict:
    """The config file's top-level mapping; ConfigError for a missing file, bad YAML (a key given twice, an
    anchor bomb included: ``safe_yaml``) or another top level."""
    import yaml

    from .. import safe_yaml

    where = str(path)
    if not path.is_file():
        raise ConfigError(f"config file {where} not found; pass --config a YAML file such as configs/baselines.yaml")
    try:
        doc = safe_yaml.load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML: {' '.join(str(e).split())}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not a UTF-8 text file") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping of keys (methods:, datasets:, ...) at the top, got "
                          f"{type(doc).__name__}")
    return doc


def _check_config_keys(doc: dict, where: str, by_name: dict[str, str], actions: dict[str, Any]) -> None:
    """Every key known (CONFIG_KEYS or a run_parser option, with - or _), and methods and datasets given."""
    valid = list(dict.fromkeys([*CONFIG_KEYS, *(k.replace("_", "-") for k in actions)]))
    for key in doc:
        if not isinstance(key, str) or (key not in CONFIG_KEYS and key not in by_name):
            hint = (" (a config names methods and their parameters under `methods:`)"
                    if key in ("method_args", "method-args") else _closest(str(key), valid))
            raise ConfigError(f"{where}: unknown key {key!r}.{hint} Valid keys: {', '.join(sorted(valid))}")
    for key in ("methods", "datasets"):
        if doc.get(key) in (None, [], {}, ""):
            raise ConfigError(f"{where}: {key}: missing or empty; a config names at least one of them")


def _config_methods(raw_methods: Any, err) -> list[tuple[str, dict]]:
    """``methods:`` (a mapping of method -> grid(s), a list of names or "a,b") -> (name, typed args) per grid
    point. Each method's parameters and each grid point's validation are asked of a worker that serves the method
    (``method_facts``): no plugin code runs here."""
    from . import method_facts

    if isinstance(raw_methods, str):
        raw_methods = {m: None for m in split_csv(raw_methods)}
    elif isinstance(raw_methods, list):
        if not all(isinstance(m, str) for m in raw_methods):
            raise err("methods", "a list of methods holds names only; give parameters as a mapping, "
                                 "e.g. methods: {er: {lr: [1e-3, 3e-4]}, label: {}}")
        raw_methods = {m: None for m in raw_methods}
    elif not isinstance(raw_methods, dict):
        raise err("methods", f"expected a mapping of method -> parameter grid, got {raw_methods!r}")
    entries: list[tuple[str, dict]] = []
    for name, grids in raw_methods.items():
        key = f"methods.{name}"
        described = method_facts.describe(name) if isinstance(name, str) else {"known": False}
        if not described["known"]:
            raise err(key, described.get("message") or f"unknown method {name!r}")
        defaults = described["info"]["params"]
        if grids is None:
            grids = [{}]
        elif isinstance(grids, dict):
            grids = [grids]
        elif not (isinstance(grids, list) and grids and all(isinstance(g, dict) for g in grids)):
            raise err(key, f"expected a mapping of parameter -> value or list of values (or a list of such "
                           f"mappings), got {grids!r}")
        for grid in grids:
            entries += _grid_entries(name, grid, defaults, key, err)
    return entries


def _grid_entries(name: str, grid: Mapping[str, Any], defaults: Mapping[str, Any], key: str,
                  err) -> list[tuple[str, dict]]:
    """(name, typed args) for each point of one parameter grid of method ``name`` (parameter ``defaults``):
    every value checked first, then every point built (so validated, in the method's worker) before any run."""
    for p, values in grid.items():
        pkey = f"{key}.{p}"
        if p not in defaults:
            raise err(pkey, f"method {name!r} has no parameter {p!r}.{_closest(str(p), defaults)} Its "
                            f"parameters: {', '.join(defaults)}")
        if isinstance(values, list) and not values:
            raise err(pkey, "an empty list of values; give one value or a list of them")
        for v in values if isinstance(values, list) else [values]:
            try:
                coerce_value(v, defaults[p])
            except ValueError as e:
                raise err(pkey, f"{e} (the default is {defaults[p]!r})") from None
    from . import method_facts

    points = list(expand_grid(grid))
    typed = [{p: coerce_value(v, defaults[p]) for p, v in point.items()} for point in points]
    _, answers = method_facts.facts(name, typed)
    for point, answer in zip(points, answers):
        if isinstance(answer, str):
            shown = ", ".join(f"{p}={v!r}" for p, v in point.items()) or "defaults"
            raise err(key, f"the grid point {shown} cannot train: {answer}")
    return [(name, t) for t in typed]


def _config_datasets(ds: Any, err) -> str:
    """``datasets:`` (a list or "a,b") -> the command line's "a,b", every name registered."""
    from ..datasets import DATASETS

    ds_list = split_csv(ds) if isinstance(ds, str) else ds if isinstance(ds, list) else None
    if ds_list is None or not all(isinstance(d, str) for d in ds_list):
        raise err("datasets", f"expected a list of dataset names (or 'a,b'), got {ds!r}")
    for d in ds_list:
        if d not in DATASETS:
            raise err("datasets", DATASETS.unknown_message(d))
    return ",".join(ds_list)


def _config_protocol(doc: dict, where: str, err) -> Union[None, str, list[str]]:
    """``protocol:`` or ``protocols:`` (one key): a name, or a list when several; None when not given."""
    if "protocol" in doc and "protocols" in doc:
        raise ConfigError(f"{where}: protocol and protocols are one key; give one of them")
    out = None
    for key in ("protocol", "protocols"):
        if key in doc:
            v = doc[key]
            ps = [v] if isinstance(v, str) else v if isinstance(v, list) else None
            if not ps or not all(isinstance(p, str) and p for p in ps):
                raise err(key, f"expected a protocol name or a list of them, got {v!r}")
            out = ps[0] if len(ps) == 1 else ps
    return out


def _config_folds(v: Any, err) -> str:
    """``folds:`` (2, [0, 1, 2] or '0-4') -> the command line's checked spec."""
    from ..splits import SplitError, check_folds_spec

    if _is_int(v) and v >= 0:
        spec = str(v)
    elif isinstance(v, list) and v and all(_is_int(f) and f >= 0 for f in v):
        spec = ",".join(map(str, v))
    elif isinstance(v, str):
        spec = v
    else:
        raise err("folds", f"expected fold numbers: '0-4', '0,3', 2 or [0, 1, 2]; got {v!r}")
    try:
        check_folds_spec(spec)
    except SplitError as e:
        raise err("folds", str(e)) from None
    return spec


def _config_seeds(v: Any, err) -> str:
    """``seeds:`` (0, [0, 1] or '0,1') -> the command line's "0,1"."""
    try:
        return ",".join(map(str, parse_seeds(v if isinstance(v, (str, list)) or _is_int(v) else [v])))
    except (PlanError, TypeError) as e:
        raise err("seeds", f"expected whole numbers 0 or more, e.g. [0, 1, 2]; got {v!r}"
                  if isinstance(e, TypeError) else str(e)) from None


def _config_fewshot(v: Any, err) -> str:
    """``fewshot:`` (5, [1, 2, 5] or '1,2,5') -> the command line's "1,2,5"."""
    if not (isinstance(v, (str, list)) or _is_int(v)):
        raise err("fewshot", f"expected clips per class: 5, [1, 2, 5] or '1,2,5'; got {v!r}")
    try:
        ks = parse_fewshot(v)
    except PlanError as e:
        raise err("fewshot", str(e)) from None
    return ",".join(k.split("-", 1)[1] for k in ks)


def _config_mode(doc: dict, err) -> list[str]:
    """``mode:`` (a mode or a list of them), checked; not with ``gzsl:`` or ``fewshot:``."""
    from ..measure.folds import mode_kind

    v = doc["mode"]
    modes = [v] if isinstance(v, str) else v if isinstance(v, list) and v else None
    if modes is None or not all(isinstance(m, str) for m in modes):
        raise err("mode", f"expected zsl, gzsl, fewshot-K or a list of them; got {v!r}")
    for m in modes:
        try:
            mode_kind(m)
        except ValueError as e:
            raise err("mode", str(e)) from None
    if doc.get("gzsl") or doc.get("fewshot") is not None:
        raise err("mode", "mode and gzsl/fewshot both choose the evaluation mode; give one of them")
    return modes


def _option_value(action, key: str, v: Any, err) -> Any:
    import argparse

    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):  # noqa: SLF001
        if not isinstance(v, bool):
            raise err(key, f"expected true or false, got {v!r}")
        return v
    if v is None:
        return action.default
    if isinstance(v, (list, dict)):
        raise err(key, f"expected a single value, got {v!r}")
    typ = action.type
    if typ is int:
        if not _is_int(v):
            raise err(key, f"expected a whole number, got {v!r}")
    elif typ is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise err(key, f"expected a number, got {v!r}")
        v = float(v)
    elif typ is None:
        if isinstance(v, bool):
            raise err(key, f"expected a value such as {action.default!r}, got {v!r}")
        v = str(v)
    else:
        try:
            v = typ(str(v)) if not isinstance(v, str) else typ(v)
        except (TypeError, ValueError) as e:
            raise err(key, f"{v!r}: {e}") from None
    if action.choices is not None and v not in action.choices:
        raise err(key, f"{v!r} is not one of {', '.join(map(str, action.choices))}")
    return v
