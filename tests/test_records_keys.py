"""Run keys, de-duplication, line parsing and migration of the records (zsar_bench/results/records.py), each against rows
and expectations written here."""
import warnings

import pytest

from zsar_bench.results.records import (KEY_FIELDS, RECORD_VERSION, dedupe, migrate_rows, parse_record_line, record_key)


def _row(**kw):
    r = {"method": "m", "config_hash": "c", "dataset": "hmdb51", "features_id": "synthetic-v2", "protocol": "p",
         "split_hash": "s", "fold": 0, "seed": 0, "mode": "zsl", "top1": 0.5, "record_version": RECORD_VERSION}
    r.update(kw)
    return r


def test_key_is_the_key_fields_in_order_and_nothing_else():
    r = _row(top1=0.1, train_s=3.0)
    assert KEY_FIELDS[0] == "method" and "fold" in KEY_FIELDS and "top1" not in KEY_FIELDS
    assert record_key(r) == tuple(r.get(k) for k in KEY_FIELDS)
    assert record_key(r) == record_key(_row(top1=0.9, train_s=1.0))  # metrics and timings are not identity
    for field, other in [("method", "x"), ("config_hash", "d"), ("dataset", "ucf101"), ("fold", 1), ("seed", 1),
                         ("mode", "gzsl"), ("split_hash", "t"), ("features_id", "tsm-v1"), ("protocol", "q")]:
        assert record_key(r) != record_key(_row(**{field: other})), field


def test_a_row_without_mode_is_a_zero_shot_run():
    r = _row()
    del r["mode"]
    assert record_key(r) == record_key(_row(mode="zsl")) != record_key(_row(mode="gzsl"))


def test_dedupe_keeps_the_last_row_of_each_key_and_counts_the_rest():
    rows = [_row(fold=0, top1=0.1), _row(fold=1, top1=0.2), _row(fold=0, top1=0.3), _row(fold=0, top1=0.4),
            _row(fold=2, top1=0.5)]
    uniq, n = dedupe(rows)
    assert n == 2
    assert [(r["fold"], r["top1"]) for r in uniq] == [(0, 0.4), (1, 0.2), (2, 0.5)]
    assert dedupe([]) == ([], 0)
    assert dedupe(rows[:2]) == (rows[:2], 0)


def test_parse_record_line():
    assert parse_record_line('{"method": "m", "fold": 0}\n', "f:1") == {"method": "m", "fold": 0}
    assert parse_record_line("   \n", "f:2") is None
    with pytest.warns(UserWarning, match="f:3: skipping a torn or malformed record line"):
        assert parse_record_line('{"method": "m", "fo', "f:3") is None
    with pytest.warns(UserWarning, match=r"f:4: .*not a JSON object \(list\)"):
        assert parse_record_line("[1, 2]", "f:4") is None
    with pytest.warns(UserWarning, match="f:5: .*not plain values"):
        assert parse_record_line('{"method": "m", "fold": [0]}', "f:5") is None
    with pytest.warns(UserWarning, match="f:6: .*not plain values"):
        assert parse_record_line('{"method": {"a": 1}}', "f:6") is None


def test_migrate_rows_reads_version_1_as_current_without_touching_the_input():
    v1 = {k: v for k, v in _row().items() if k not in ("record_version", "mode")}
    out = migrate_rows([v1, _row(fold=3)])
    assert "record_version" not in v1 and "mode" not in v1  # the rows given are not changed
    assert out[0]["record_version"] == RECORD_VERSION and out[0]["mode"] == "zsl" and out[0]["revision"] == 1
    assert out[0]["train_dataset"] == "hmdb51" and out[0]["top1"] == 0.5
    assert out[1] == _row(fold=3)


def test_newer_rows_are_kept_with_one_warning_per_file_and_version():
    newer = [_row(record_version=RECORD_VERSION + 1, fold=f) for f in range(3)]
    with pytest.warns(UserWarning, match=rf"file-a: 3 record\(s\) of record_version {RECORD_VERSION + 1}, newer"):
        assert migrate_rows(newer, "file-a") == newer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        migrate_rows(newer, "file-a")  # said once for this file and version
    with pytest.warns(UserWarning, match="file-b: 1 record"):
        migrate_rows(newer[:1], "file-b")


def test_migration_warnings_name_the_records_by_default():
    with pytest.warns(UserWarning, match=r"^records: 1 record\(s\) of record_version 99"):
        migrate_rows([_row(record_version=99, method="default-source")])


def test_only_objects_have_a_plain_key():
    from zsar_bench.results.records import _plain_key

    assert _plain_key(_row()) and not _plain_key(42) and not _plain_key([1]) and not _plain_key(None)
    assert not _plain_key(_row(fold=[0])) and not _plain_key(_row(method={"a": 1}))


def test_missing_key_fields_are_none_except_mode():
    r = _row()
    del r["seed"], r["mode"]
    key = dict(zip(KEY_FIELDS, record_key(r)))
    assert key["seed"] is None and key["mode"] == "zsl" and key["method"] == "m"
