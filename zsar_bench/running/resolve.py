"""A run resolved once, in the driver: its method configuration's facts (asked of a worker that serves the method,
``method_facts``) and from them its ``RunFacts`` (record key, config hash, feature-set id, parameters), read by every
later stage. No plugin code runs here."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Callable, Sequence

from ..datasets import get_dataset
from ..features import FeatureSet
from . import method_facts
from .method_facts import MethodFacts
from .runner import (RunFacts, RunSpec, _all_classes, _key, execute_run, finish_record, run_config_hash,
                     spec_cross_dataset, spec_features_id, texts_hash, with_rows)


def resolve_run(spec: RunSpec, fs: FeatureSet, facts: MethodFacts) -> RunFacts:
    """The run's facts (``RunFacts``), from its method configuration's ``facts`` (``method_facts``)."""
    features_id = spec_features_id(spec, fs)
    config_hash = run_config_hash(facts, _all_classes(spec))
    return RunFacts(key=_key(spec, config_hash, features_id), config_hash=config_hash,
                    texts_hash=texts_hash(get_dataset(spec.dataset).classes(spec.descriptions)),
                    features_id=features_id, train_dataset=spec_cross_dataset(spec) or spec.dataset,
                    params=facts.params, revision=facts.revision)


def resolve_runs(specs: Sequence[RunSpec], fs_for: Callable[[RunSpec], FeatureSet],
                 in_process: bool = False) -> list[RunSpec]:
    """Each run with its facts (``RunSpec.facts``). A configuration's method facts come from planning
    (``RunSpec.method_facts``), else from one question per method to a worker that serves it (``method_facts``;
    asked in this process for runs marked ``in_process``, or all with ``in_process``)."""
    missing: dict[tuple[str, bool], dict[str, dict]] = {}
    for s in specs:
        if s.facts is None and s.method_facts is None:
            ck = method_config_key(s)[1]
            missing.setdefault((s.method, in_process or s.in_process), {}).setdefault(ck, s.method_args)
    got: dict[tuple[str, str], MethodFacts] = {}
    for (name, here), configs in missing.items():
        described, answers = method_facts.facts(name, list(configs.values()), in_process=here)
        if not described["known"]:
            raise ValueError(described["message"])
        for ck, f in zip(configs, answers):
            if isinstance(f, str):
                raise ValueError(f)
            got[(name, ck)] = f
    out = []
    for s in specs:
        if s.facts is None:
            f = s.method_facts or got[method_config_key(s)]
            s = replace(s, method_facts=f, facts=resolve_run(s, fs_for(s), f))
        out.append(s)
    return out


def method_config_key(spec: RunSpec) -> tuple[str, str]:
    """(method, its arguments): runs with equal keys share one method configuration."""
    return spec.method, json.dumps(spec.method_args, sort_keys=True, default=str)


def spec_key(spec: RunSpec, features_id: str) -> tuple:
    """The record key of ``spec`` under ``features_id``, without loading its feature set (for comparing plans, as
    the tests do); a sweep uses the key its driver resolved (``resolve_runs``)."""
    (f,) = method_facts.facts(spec.method, [spec.method_args], in_process=True)[1]
    return _key(spec, run_config_hash(f, _all_classes(spec)), features_id)


def run_fold(spec: RunSpec, fs: FeatureSet) -> dict:
    """One run in this process (tests, benchmarks): resolved here if it was not, ``execute_run``, then
    ``finish_record``."""
    if spec.facts is None:
        spec = resolve_runs([spec], lambda s: fs, in_process=True)[0]
    return finish_record(spec, fs, execute_run(with_rows(spec, fs), fs))
