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
