"""A method's configuration, declared once (zsar_bench/method.py): one typing of parameters for every path
(command line, config file, API, test_params), registered variants, parameters that keep the config hash
while they hold the value that reproduces the behaviour before them, the class-inputs label, weights checked
at planning, and no plugin importing another."""
import ast
import json
from collections import Counter

import pytest

from conftest import ROOT
from zsar_bench import Method, register_method
from zsar_bench.method import (METHODS, ParamError, PluginError, build_method, coerce_params, coerce_value,
                               describe_class_inputs, register_variant, weights_unavailable)


class _Toy(Method):
    """A method to register under test names (unregistered again by ``toy_names``)."""

    summary = "toy"

    def __init__(self, lr: float = 1e-3, epochs: int = 10, flag: bool = False, style: str = "name",
                 anything=None):
        self.lr, self.epochs, self.flag, self.style, self.anything = lr, epochs, flag, style, anything

    def fit(self, data, ctx):
        return self

    def score(self, videos, classes):
        return None


@pytest.fixture
def toy_names():
    names = []
    yield names
    for n in names:
        METHODS.unregister(n)


def _register(names, name, cls):
    names.append(name)
    return register_method(name)(cls)


# -- one typing for every path ------------------------------------------------------------------------------
@pytest.mark.parametrize("key, cli, python", [("lr", "3e-3", 0.003), ("lr", "4", 4), ("epochs", "4", 4),
                                               ("epochs", "4.0", 4.0), ("flag", "true", True), ("flag", "off", False),
                                               ("style", "name: description", "name: description")])
def test_a_command_line_string_and_a_python_value_type_alike(key, cli, python):
    a, b = coerce_params(_Toy, {key: cli}, name="toy"), coerce_params(_Toy, {key: python}, name="toy")
    assert a == b and type(a[key]) is type(b[key]) is type(_Toy.param_defaults()[key])


def test_coercion_is_idempotent_and_types_by_the_default():
    for raw, default in [("7", 1.0), (7, 1.0), ("1e3", 1), (2.0, 1), ("yes", False), ("none", None), ("3", None),
                         ("x", "y")]:
        once = coerce_value(raw, default)
        assert coerce_value(once, default) == once and type(coerce_value(once, default)) is type(once)
    assert coerce_value(7, 1.0) == 7.0 and isinstance(coerce_value(7, 1.0), float)
    assert coerce_value("1e3", 1) == 1000 and isinstance(coerce_value(2.0, 1), int)
    assert coerce_value("none", None) is None and coerce_value("3", None) == 3


@pytest.mark.parametrize("raw, match", [({"lr": "abc"}, r"--method-args toy\.lr=abc: expected a number"),
                                        ({"epochs": 2.5}, r"toy\.epochs=2\.5: expected an integer"),
                                        ({"epochs": True}, "expected an integer"),
                                        ({"flag": 1}, "expected a boolean"),
                                        ({"style": 5}, "expected a string"),
                                        ({"lr": [1e-3]}, "expected a single value"),
                                        ({"epoch": 3}, "has no parameter 'epoch'.*Did you mean: epochs")])
def test_a_wrong_value_is_one_param_error_naming_it(raw, match):
    with pytest.raises(ParamError, match=match):
        coerce_params(_Toy, raw, name="toy")


def test_cli_config_and_api_give_one_config_hash(plugins):
    """The command line's strings, a config file's YAML values and the API's Python values: one configuration."""
    import yaml

    cli = build_method("eszsl", {"alpha": "2", "gamma": "0"})
    yml = build_method("eszsl", yaml.safe_load("{alpha: 2, gamma: 0}"))
    api = build_method("eszsl", {"alpha": 2.0, "gamma": 0.0})
    assert cli.get_params() == yml.get_params() == api.get_params()
    assert cli.config_hash() == yml.config_hash() == api.config_hash()
    assert isinstance(yml.alpha, float)  # an int from YAML for a float parameter is a float, as on the command line


# -- registered variants ------------------------------------------------------------------------------------
def test_er_variants_are_er_with_other_defaults(plugins):
    er = METHODS.get("er")
    for name in ("er-paper", "er-ed", "er-obj", "er-noer", "er-name", "er-clip"):
        cls = METHODS.get(name)
        assert issubclass(cls, er) and cls.variant_of == "er" and cls.name == name
        assert METHODS.origin(name).endswith(".er") and cls.fit is er.fit and cls.score is er.score
        assert list(cls.param_defaults()) == list(er.param_defaults())  # the same parameters, in the same order
        m = build_method(name)
        base = build_method("er", m.get_params())  # er built with the variant's values: the same parameters
        assert m.get_params() == base.get_params() and m.name == name
    assert METHODS.get("er").variant_of is None and METHODS.get("er-clip").feature_model == "clip"
    assert build_method("er-paper").lr == 1e-4 and build_method("er-paper", {"lr": "1e-3"}).lr == 1e-3


def test_register_variant_declares_a_configuration(toy_names):
    base = _register(toy_names, "toy-base", type("ToyBase", (_Toy,), {}))
    toy_names.append("toy-fast")
    fast = register_variant("toy-fast", base, "toy with fewer epochs", defaults={"epochs": 2, "lr": "1e-2"},
                            test_params={"epochs": "1"}, learns=False)
    assert fast.__name__ == "ToyFast" and fast.__module__ == __name__ and fast.summary == "toy with fewer epochs"
    assert fast.param_defaults() == {**base.param_defaults(), "epochs": 2, "lr": 0.01}
    assert isinstance(fast.param_defaults()["lr"], float) and fast.variant_of == "toy-base" and not fast.learns
    m = build_method("toy-fast")
    assert (m.epochs, m.lr, m.name) == (2, 0.01, "toy-fast") and fast(0.5).lr == 0.5 and fast(epochs=3).lr == 0.01
    assert build_method("toy-fast", {"epochs": "5"}).epochs == 5
    # its config hash: the base's parameters with those values, under the variant's name
    b = build_method("toy-base", {"epochs": 2, "lr": 0.01})
    assert m.get_params() == b.get_params() and m.config_hash() != b.config_hash()
    b.name = "toy-fast"
    assert m.config_hash() == b.config_hash()


def test_register_variant_refuses_what_the_base_lacks(toy_names):
    base = _register(toy_names, "toy-base2", type("ToyBase2", (_Toy,), {}))
    with pytest.raises(PluginError, match="no parameter 'epoch'"):
        register_variant("toy-v1", base, "s", defaults={"epoch": 2})
    with pytest.raises(PluginError, match="expected an integer"):
        register_variant("toy-v2", base, "s", defaults={"epochs": "two"})
    with pytest.raises(PluginError, match="'feature_modl' is not a class attribute"):
        register_variant("toy-v3", base, "s", feature_modl="clip")
    with pytest.raises(PluginError, match="Method subclass"):
        register_variant("toy-v4", object, "s")
    assert not any(n in METHODS for n in ("toy-v1", "toy-v2", "toy-v3", "toy-v4"))


def test_no_plugin_module_calls_type_to_build_a_class():
    for path in sorted((ROOT / "methods").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type":
                assert len(node.args) != 3, f"{path.name}:{node.lineno}: a class built with type(); use register_variant"


# -- test_params: declared on the class, checked at registration -------------------------------------------
def test_test_params_are_declared_and_checked(plugins, toy_names):
    assert Method.test_params == {} and METHODS.get("w2v").test_params == {"epochs": "5"}
    for n in METHODS.names():  # every registered method's cheaper configuration builds
        build_method(n, METHODS.get(n).test_params)
    bad = type("BadTest", (_Toy,), {"test_params": {"epoch": "1"}})
    with pytest.raises(PluginError, match="test_params names 'epoch'"):
        register_method("toy-bad-test")(bad)
    worse = type("WorseTest", (_Toy,), {"test_params": {"epochs": "1.5"}})
    with pytest.raises(PluginError, match=r"test_params toy-worse\.epochs=1\.5: expected an integer"):
        register_method("toy-worse")(worse)
    assert "toy-bad-test" not in METHODS and "toy-worse" not in METHODS


# -- no plugin imports another --------------------------------------------------------------------------------
def test_no_plugin_imports_another():
    plugins = {p.stem for p in (ROOT / "methods").glob("*.py")}
    for path in sorted((ROOT / "methods").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if isinstance(node, ast.ImportFrom) and node.level:
                mods = [f".{node.module or ''}"]
            for mod in mods:
                top = mod.split(".")[0]
                assert top not in ("methods", "zsar_bench_methods") and not mod.startswith(".") and top not in plugins, (
                    f"methods/{path.name}:{node.lineno} imports {mod}: shared code belongs in zsar_bench/models/")


# -- stable record identity ---------------------------------------------------------------------------------------
def test_a_declared_added_parameter_keeps_the_config_hash(toy_names):
    class Old(_Toy):
        pass

    class Declared(_Toy):
        hash_omit_if_default = {"prep": "none"}

        def __init__(self, lr: float = 1e-3, epochs: int = 10, flag: bool = False, style: str = "name",
                     anything=None, prep: str = "none"):
            super().__init__(lr, epochs, flag, style, anything)
            self.prep = prep

    class Undeclared(Declared):
        hash_omit_if_default = {}  # adds nothing; the base's entry still applies...

        def __init__(self, lr: float = 1e-3, epochs: int = 10, flag: bool = False, style: str = "name",
                     anything=None, prep: str = "none", extra: int = 0):
            super().__init__(lr, epochs, flag, style, anything, prep)
            self.extra = extra  # ...but this one is not declared

    hashes = {}
    for cls in (Old, Declared, Undeclared):
        _register(toy_names, f"toy-{cls.__name__.lower()}", cls)
        cls.name = "toy-same"  # one method name, three versions of its code
        hashes[cls.__name__] = cls().config_hash({"texts": "t"})
    assert hashes["Declared"] == hashes["Old"]  # the new parameter at its old behaviour: the same records
    assert hashes["Undeclared"] != hashes["Old"]  # an undeclared new parameter: a new configuration
    assert Declared(prep="e2e").config_hash({"texts": "t"}) != hashes["Old"]  # another value: another configuration
    assert Declared(prep="e2e").get_params()["prep"] == "e2e" and "prep" in Declared().get_params()  # still recorded
    assert Undeclared.hash_omitted() == {"prep": "none"}


def test_a_declared_parameter_must_be_a_parameter(toy_names):
    bad = type("BadOmit", (_Toy,), {"hash_omit_if_default": {"nope": 1}})
    with pytest.raises(PluginError, match="hash_omit_if_default names 'nope'"):
        register_method("toy-bad-omit")(bad)


def test_hash_omission_does_not_confuse_a_bool_with_a_number():
    class Flagged(_Toy):
        hash_omit_if_default = {"anything": 0}

    assert "anything" not in Flagged(anything=0).hash_params()
    assert "anything" in Flagged(anything=False).hash_params() and "anything" in Flagged(anything=None).hash_params()


def _committed_rows():
    with open(ROOT / "results" / "records.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_the_committed_records_keep_their_config_hash(plugins):
    """Every committed row of a method's current revision has the config hash the code computes for its
    parameters and class texts (the runner's run_config_hash), w2v included since name_prep is declared."""
    from zsar_bench.datasets import get_dataset
    from zsar_bench.running.runner import texts_hash

    seen: dict[tuple, bool] = {}
    checked = Counter()
    for r in _committed_rows():
        cls = METHODS.get(r["method"])
        if (r.get("revision") or 1) != cls.revision:
            continue  # records of an earlier implementation stay apart by design
        tds = r.get("train_dataset") or r["dataset"]
        texts = r["texts_hash"] if tds == r["dataset"] else texts_hash(
            get_dataset(tds).classes() + get_dataset(r["dataset"]).classes())
        key = (r["method"], json.dumps(r["params"], sort_keys=True), texts, r["config_hash"])
        if key not in seen:
            seen[key] = build_method(r["method"], r["params"]).config_hash({"texts": texts}) == r["config_hash"]
        assert seen[key], f"{r['method']} {r['params']}: the code computes another config hash than the records"
        checked[r["method"]] += 1
    assert checked["w2v"] >= 300 and checked["er"] > 0 and checked["er-noer"] > 0


# -- what a configuration reads for its classes ----------------------------------------------------------------
def test_class_inputs_default_and_override(plugins, toy_names):
    paper = build_method("er-paper").get_params()
    assert METHODS.get("er-paper").class_inputs(paper, "builtin") == (
        "bert-base-uncased, top 2 layers fine-tuned; 'name: description', descriptions project")
    assert METHODS.get("w2v").class_inputs({"semantic": "/v/glove.42B.300d.txt", "name_prep": "e2e",
                                             "text_style": "name"}) == (
        "word vectors glove.42B.300d.txt, names prepared e2e; 'name'")
    assert METHODS.get("chance").class_inputs(build_method("chance").get_params()) == "-"
    assert Method.class_inputs(None) == describe_class_inputs(None) == "-"

    class Own(_Toy):
        @classmethod
        def class_inputs(cls, params, descriptions=None):
            return f"style {params.get('style')}"

    _register(toy_names, "toy-own-inputs", Own)
    assert METHODS.get("toy-own-inputs").class_inputs({"style": "name"}) == "style name"


def test_the_reports_label_rows_with_the_methods_own_class_inputs(plugins, toy_names):
    """A leaderboard row's "Class inputs" is its registered method's ``class_inputs``; a method unknown here gets
    the default description of its recorded parameters."""
    from zsar_bench.reports.tables import inputs_label

    class Own(_Toy):
        @classmethod
        def class_inputs(cls, params, descriptions=None):
            return f"own text {params.get('style')}"

    _register(toy_names, "toy-own-label", Own)
    assert inputs_label("toy-own-label", {"style": "name"}) == "own text name"
    params = {"semantic": "glove", "text_style": "name"}
    assert inputs_label("not-registered-here", params) == describe_class_inputs(params) == "word vectors glove; 'name'"
    for r in _committed_rows()[::7]:  # the committed rows: each method's own description
        assert inputs_label(r["method"], r["params"], r.get("descriptions")) == \
            METHODS.get(r["method"]).class_inputs(r["params"], r.get("descriptions"))


# -- weights checked at planning ------------------------------------------------------------------------------------
@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import zsar_bench.method as method

    monkeypatch.setattr(method, "_hub_cached", lambda repo: repo == "cached-org/cached-model")


def test_weights_unavailable(offline, tmp_path):
    assert weights_unavailable("minilm") is None and weights_unavailable("clip") is None
    assert weights_unavailable(str(tmp_path)) is None and weights_unavailable(f"hf:{tmp_path}") is None
    assert weights_unavailable("cached-org/cached-model") is None
    assert weights_unavailable(f"st:{tmp_path}/missing") == "is no model folder on this machine"
    why = weights_unavailable("bert-base-uncased")
    assert "not in the local Hugging Face cache and HF_HUB_OFFLINE is set" in why and "hf download bert-base-uncased" in why


def test_the_hub_is_asked_when_online(monkeypatch):
    import zsar_bench.method as method

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(method, "_hub_cached", lambda repo: False)
    monkeypatch.setattr(method, "_hub_answers", {})

    class NotFound(Exception):
        pass

    NotFound.__name__ = "RepositoryNotFoundError"
    answers = {"org/served": None, "org/none": NotFound("404"), "org/down": ConnectionError("no route")}

    class Api:
        def model_info(self, repo, timeout=None):
            if answers[repo] is not None:
                raise answers[repo]

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", Api)
    assert weights_unavailable("org/served") is None
    assert "no model id on the Hugging Face hub" in weights_unavailable("org/none")
    assert "the hub cannot be reached" in weights_unavailable("org/down")


def test_a_method_whose_weights_are_missing_is_refused_at_planning(plugins, offline, tmp_path):
    from zsar_bench.running.planning import PlanError, plan_runs

    with pytest.raises(PlanError) as e:
        plan_runs("er-paper", "olympics", folds="0", device="cpu")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("method 'er-paper': text_encoder=bert-base-uncased is not in the local")
    assert "--method-args er-paper.text_encoder=/path/to/bert-base-uncased" in msg
    assert plan_runs("er-paper", "olympics", folds="0", device="cpu", method_args=["er-paper.text_encoder=minilm"])
    with pytest.raises(PlanError, match=r"method 'clip': weights=/no/such/clip is no model folder.*own CLIP model"):
        plan_runs("clip", "olympics", folds="0", device="cpu", method_args={"clip": {"weights": "/no/such/clip"}})
    with pytest.raises(PlanError, match=r"semantic=text:hf:/no/such/enc is no model folder"):
        plan_runs("w2v", "olympics", folds="0", device="cpu", method_args={"w2v": {"semantic": "text:hf:/no/such/enc"}})
    build_method("er-paper")  # building alone (workers, tests) does not ask
    with pytest.raises(ParamError, match="HF_HUB_OFFLINE"):
        build_method("er-paper", available=True)


def test_a_plugin_declares_its_own_weights_check(plugins, toy_names):
    class Needs(_Toy):
        @classmethod
        def check_available(cls, params):
            return super().check_available(params) or (None if params["style"] != "big" else
                                                       f"method {cls.name!r}: the big style needs big.bin")

    _register(toy_names, "toy-needs", Needs)
    build_method("toy-needs", {"style": "big"})
    with pytest.raises(ParamError, match="the big style needs big.bin"):
        build_method("toy-needs", {"style": "big"}, available=True)
    assert build_method("toy-needs", available=True).style == "name"
