"""Records with a schema: the versioned ``Record`` type, its committed JSON Schema, migration on read."""
import json
import math
import warnings

import pytest
from pydantic import ValidationError

from zsar_bench.results import records as records_mod
from zsar_bench.results.record_schema import (RECORD_VERSION, SCHEMA_PATH, Record, load_schema, migrate, record_json_schema,
                                              validate_row)
from zsar_bench.results.records import KEY_FIELDS, RecordStore, dedupe, record_key

# a row as results/records.jsonl held them before versions existed (no mode, revision, train_dataset)
V1 = {"best_epoch": 10, "config_hash": "12709a184b", "dataset": "hmdb51", "descriptions": "builtin", "device": "cpu",
      "epochs": 10, "eval_s": 1.5725, "features": "synthetic", "features_id": "synthetic-v1", "fold": 0,
      "git_sha": "408357ee-dirty", "gzsl_h": 0.43, "gzsl_seen": 0.99, "gzsl_unseen": 0.27, "mean_class_acc": 0.52,
      "method": "er", "n_folds": 50, "n_gzsl_videos": 4031, "n_seen": 26, "n_test_videos": 3346,
      "n_train_videos": 2735, "n_unseen": 25, "n_val": 0, "n_val_videos": 0, "params": {"dim": 512},
      "protocol": "random-50-50", "protocol_version": 1, "seed": 0, "selected_on": "final epoch (fixed schedule)",
      "split_hash": "128a305003c9", "synthetic": True, "texts_hash": "b324f83386",
      "time": "2026-11-25T17:14:26+0000", "top1": 0.54, "top5": 0.91, "train_s": 191.78,
      "versions": {"numpy": "2.4.6", "python": "3.11.7", "torch": "2.13.0+cpu", "zsar_bench": "0.1.0"}}


def _v2(**kw):
    r = migrate(V1)
    r.pop("n_gzsl_videos")
    r.update(kw)
    return r


def _write(path, rows):
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def test_committed_schema_is_the_generated_one():
    assert SCHEMA_PATH.name == "record.schema.json" and SCHEMA_PATH.parent.name == "data"
    assert load_schema() == record_json_schema(), (
        "zsar_bench/data/record.schema.json is stale: run `python -m zsar_bench.results.record_schema --write`")


def test_schema_names_the_key_and_bounds_the_metrics():
    s = load_schema()
    assert set(KEY_FIELDS) | {"record_version", "revision", "train_dataset"} <= set(s["required"])
    assert s["additionalProperties"] is True  # plugins and newer versions may add fields
    for m in Record.METRIC_FIELDS:
        assert s["properties"][m] == {**s["properties"][m], "type": "number", "minimum": 0, "maximum": 1}
        assert m not in s["required"]  # which ones a record needs depends on its mode (allOf if/then/else)
    cond = s["allOf"][0]
    assert cond["then"]["required"] == list(Record.GZSL_METRIC_FIELDS)
    assert cond["else"]["required"] == list(Record.ZSL_METRIC_FIELDS)


def test_key_fields_come_from_the_type_and_record_key_is_unchanged():
    assert KEY_FIELDS is Record.KEY_FIELDS
    assert KEY_FIELDS == ("method", "config_hash", "dataset", "features_id", "protocol", "split_hash", "fold",
                          "seed", "mode")
    assert record_key({"method": "a"}) == ("a", None, None, None, None, None, None, None, "zsl")
    assert record_key({"method": "a", "mode": None})[-1] is None  # an explicit null is not filled in
    assert record_key(V1) == record_key(migrate(V1))


def test_migrate_a_version_1_row():
    before = dict(V1)
    m = migrate(V1)
    assert V1 == before  # the row given is not changed
    assert m == {**V1, "mode": "zsl", "revision": 1, "train_dataset": "hmdb51", "record_version": 2}
    assert m["n_gzsl_videos"] == 4031  # fields the type does not name are kept
    Record.model_validate(m)
    # values a version-1 row has are kept; record_version 1 spelled out is version 1 too
    kept = migrate({**V1, "mode": "gzsl", "revision": 3, "train_dataset": "kinetics", "record_version": 1})
    assert (kept["mode"], kept["revision"], kept["train_dataset"], kept["record_version"]) == ("gzsl", 3, "kinetics", 2)
    # odd rows (no dataset) migrate without failing
    assert migrate({"method": "x"}) == {"method": "x", "mode": "zsl", "revision": 1, "record_version": 2}


def test_current_and_newer_rows_are_not_migrated():
    cur = _v2()
    assert migrate(cur) is cur
    newer = {"record_version": RECORD_VERSION + 1, "method": "x", "brand_new": [1]}
    assert migrate(newer) is newer
    odd = {"record_version": "two", "method": "x"}
    assert migrate(odd) is odd


def test_read_migrates_in_memory_and_never_rewrites_the_file(tmp_path):
    path = tmp_path / "r.jsonl"
    v2 = _v2(fold=1, mode="gzsl", scores_file="s.parquet", plugin_field={"a": 1})
    _write(path, [V1, v2])
    data = path.read_bytes()
    store = RecordStore(path)
    rows = store.read()
    assert path.read_bytes() == data
    assert [r["record_version"] for r in rows] == [2, 2]
    assert rows[0] == migrate(V1) and rows[1] == v2  # the extra fields of the current row are kept
    assert store.keys() == {record_key(V1), record_key(v2)}
    assert store.read_unique() == (rows, 0)
    assert store.append_if_absent(V1) is False  # the same run as the migrated row
    assert path.read_bytes() == data


def test_a_newer_row_is_read_with_one_warning(tmp_path):
    path = tmp_path / "newer.jsonl"
    newer = _v2(fold=2, record_version=RECORD_VERSION + 1, unknown_metric=0.5)
    _write(path, [V1, newer, {**newer, "fold": 3}])
    store = RecordStore(path)
    with pytest.warns(UserWarning, match=rf"2 record\(s\) of record_version {RECORD_VERSION + 1}, newer"):
        rows = store.read()
    assert len(rows) == 3 and rows[1] == newer and rows[2]["unknown_metric"] == 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # only once per file and version
        assert len(store.read()) == 3 and len(dedupe(store.read())[0]) == 3


def test_record_validation():
    ok = _v2()
    rec = Record.model_validate(ok)
    assert rec.to_row() == ok  # absent optional fields stay absent, extra fields stay
    assert "scores_file" not in rec.to_row()
    gzsl = {k: v for k, v in ok.items() if k not in Record.ZSL_METRIC_FIELDS}
    Record.model_validate({**gzsl, "mode": "gzsl", "gzsl_seen": math.nan})  # a GZSL metric over no clips is NaN
    bad = [{**ok, "top1": 54.0},  # a percentage
           {**ok, "gzsl_h": -0.1},
           {**ok, "top5": None},  # present means a number
           {k: v for k, v in ok.items() if k != "top1"},  # a zsl record needs its metrics
           {**ok, "mode": "gzsl", "gzsl_h": None},
           {k: v for k, v in ok.items() if k != "record_version"},
           {k: v for k, v in ok.items() if k != "split_hash"},
           {**ok, "mode": "fewshot-0"},
           {**ok, "fold": -1},
           {**ok, "revision": 0}]
    for row in bad:
        with pytest.raises(ValidationError):
            Record.model_validate(row)
    assert Record.model_validate({**ok, "mode": "fewshot-5"}).mode == "fewshot-5"


def test_every_row_of_a_version_1_file_migrates_to_a_valid_record(tmp_path):
    path = tmp_path / "r.jsonl"
    written = [V1, {**V1, "fold": 1, "mode": "gzsl", "train_dataset": "kinetics"},
               {**V1, "fold": 2, "method": "eszsl", "dataset": "ucf101", "top1": 0.31, "revision": 3}]
    _write(path, written)
    rows = RecordStore(path).read()
    assert len(rows) == len(written) == 3
    # version 1 rules, spelled out here: every value of the row kept; mode "zsl", revision 1 and
    # train_dataset = dataset only where the row has none; record_version 2 (the current version)
    defaults = [{"mode": "zsl", "revision": 1, "train_dataset": "hmdb51"},
                {"revision": 1},
                {"mode": "zsl", "train_dataset": "ucf101"}]
    assert RECORD_VERSION == 2
    for row, v1, added in zip(rows, written, defaults):
        assert "record_version" not in v1 and not set(added) & set(v1)
        assert row == {**v1, **added, "record_version": 2}
        validate_row(row)
    assert [(r["method"], r["fold"], r["mode"], r["train_dataset"], r["revision"], r["top1"]) for r in rows] == [
        ("er", 0, "zsl", "hmdb51", 1, 0.54), ("er", 1, "gzsl", "kinetics", 1, 0.54),
        ("eszsl", 2, "zsl", "ucf101", 3, 0.31)]


@pytest.mark.slow
def test_the_runner_writes_a_valid_versioned_record(tmp_path, plugins, olympics_features):
    from zsar_bench.running.runner import RunSpec
    from zsar_bench.running.sweep import run_specs
    from zsar_bench.splits import load_protocol

    proto = load_protocol("olympics", "random-50-50")
    specs = [RunSpec("eszsl", {}, "olympics", "synthetic", proto, proto.folds[0], 0, mode=mode)
             for mode in ("zsl", "gzsl")]
    store = RecordStore(tmp_path / "r.jsonl")
    recs, _ = run_specs(specs, store, isolate=False, log=lambda m: None)
    assert len(recs) == 2
    written = [json.loads(line) for line in store.path.read_text().splitlines()]
    assert {r["mode"] for r in written} == {"zsl", "gzsl"}
    for row in written:
        assert row["record_version"] == RECORD_VERSION
        validate_row(row)  # jsonschema against the committed file when installed, else the Record type
        Record.model_validate(row)
        assert row["train_dataset"] == "olympics" and row["revision"] >= 1
    assert store.read() == written  # a current row reads back as written
    assert records_mod.RecordStore(store.path).keys() == {record_key(r) for r in recs}
