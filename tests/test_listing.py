"""The library's public face (zsar_bench.list_methods, create_method, list_datasets, list_protocols) and the
command line printing what it returns."""
import json

import pytest

import zsar_bench as zb
from conftest import ROOT


def test_list_methods_names_parameters_and_defaults(plugins):
    rows = {r["name"]: r for r in zb.list_methods()}
    assert {"er", "eszsl", "chance", "w2v"} <= set(rows)
    assert rows["eszsl"]["params"]["alpha"] == 3.0 and rows["eszsl"]["learns"] is True
    assert rows["chance"]["learns"] is False and "zsl" in rows["er"]["modes"]
    assert rows["er-paper"]["variant_of"] == "er" and rows["er"]["variant_of"] is None  # register_variant
    assert rows["er-paper"]["params"]["text_encoder"] == "bert-base-uncased"


def test_create_method_types_and_validates(plugins):
    m = zb.create_method("eszsl", alpha=2.0, gamma="0.5")
    assert m.alpha == 2.0 and m.gamma == 0.5 and m.name == "eszsl"
    m = zb.create_method("eszsl", alpha=2)  # an int for a float parameter: typed as the command line's "2"
    assert isinstance(m.alpha, float) and m.config_hash() == zb.create_method("eszsl", alpha="2").config_hash()
    with pytest.raises(ValueError, match="has no parameter 'alhpa'.*alpha"):
        zb.create_method("eszsl", alhpa=2.0)


def test_list_protocols_against_the_split_files():
    rows = {r["protocol"]: r for r in zb.list_protocols("hmdb51")}
    doc = json.loads((ROOT / "splits" / "hmdb51" / "random-50-50.json").read_text())
    r = rows["random-50-50"]
    assert r["folds"] == len(doc["folds"]) == 50 and r["unseen"] == len(doc["folds"][0]["unseen"])
    assert {x["dataset"] for x in zb.list_protocols("hmdb51")} == {"hmdb51"}
    assert {x["dataset"] for x in zb.list_protocols()} >= {"olympics", "hmdb51", "ucf101", "kinetics"}


def test_list_datasets():
    rows = {r["name"]: r for r in zb.list_datasets()}
    assert rows["hmdb51"]["n_classes"] == 51 and rows["ucf101"]["n_classes"] == 101
    assert rows["olympics"]["n_classes"] == 16


@pytest.mark.parametrize("what, fn", [("methods", "list_methods"), ("datasets", "list_datasets"),
                                      ("protocols", "list_protocols")])
def test_the_cli_prints_what_the_api_returns(what, fn, capsys, plugins):
    from zsar_bench.cli import main

    assert main(["list", what, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)[what]
    api = getattr(zb, fn)()
    if what == "methods":
        api = [{k: r[k] for k in ("name", "summary", "origin", "params")} for r in api]
    assert printed == json.loads(json.dumps(api, default=str))


def _list_methods_elsewhere(env_extra: dict, tmp_path) -> dict:
    """``list_methods`` in a fresh process: its rows, and whether torch or a plugin was imported there."""
    import os
    import subprocess
    import sys

    code = ("import json, sys, zsar_bench as zb; rows = zb.list_methods(); "
            "print(json.dumps({'rows': rows, 'torch': 'torch' in sys.modules, "
            "'plugins': sorted(m for m in sys.modules if m.startswith('zsar_bench_methods'))}))")
    env = {**os.environ, "ZSAR_BENCH_DATA": str(tmp_path / "data"), **env_extra}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return json.loads(out.stdout)


def test_list_methods_imports_no_plugin_and_follows_plugin_edits(tmp_path, plugins):
    plugin = tmp_path / "plug" / "toy_listed.py"
    plugin.parent.mkdir()
    src = ('from zsar_bench import Method, register_method\n\n@register_method("toy-listed")\n'
           'class Toy(Method):\n    summary = "{s}"\n    learns = False\n\n'
           '    def fit(self, data, ctx):\n        pass\n\n    def score(self, videos, classes):\n'
           '        raise NotImplementedError\n')
    plugin.write_text(src.format(s="first summary"))
    env = {"ZSAR_BENCH_PLUGINS": "toy_listed", "PYTHONPATH": str(plugin.parent)}
    cold = _list_methods_elsewhere(env, tmp_path)  # makes the index in a separate process
    warm = _list_methods_elsewhere(env, tmp_path)  # reads it
    for got in (cold, warm):
        assert not got["torch"] and not got["plugins"]
        assert {r["name"]: r["summary"] for r in got["rows"]}["toy-listed"] == "first summary"
    here = {r["name"]: r for r in zb.list_methods()}  # plugins loaded in this process: described here
    assert {r["name"]: r for r in warm["rows"] if r["name"] != "toy-listed"} == here
    plugin.write_text(src.format(s="edited summary"))  # an edited plugin is a new index
    edited = _list_methods_elsewhere(env, tmp_path)
    assert {r["name"]: r["summary"] for r in edited["rows"]}["toy-listed"] == "edited summary"
