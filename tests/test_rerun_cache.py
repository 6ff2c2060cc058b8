"""What a rerun that recorded nothing new may skip: regenerating reports and rendering the printed table."""
import json

import pytest

from zsar_bench.paths import set_data_root
from zsar_bench.reports import stamp


@pytest.fixture
def committed(monkeypatch, tmp_path):
    set_data_root(tmp_path / "data")
    code = {"v": "0.1@abc"}
    monkeypatch.setattr(stamp, "_code", lambda: code["v"])
    yield code
    set_data_root(None)


def test_reports_stamp_follows_records_and_code(committed, tmp_path):
    records = tmp_path / "r.jsonl"
    records.write_text(json.dumps({"a": 1}) + "\n")
    out = tmp_path / "reports"
    assert not stamp.reports_up_to_date(str(records), out)
    out.mkdir()
    (out / "README.md").write_text("x")
    stamp.write_stamp(str(records), out)
    assert stamp.reports_up_to_date(str(records), out)
    with records.open("a") as f:  # a new record: stale
        f.write(json.dumps({"a": 2}) + "\n")
    assert not stamp.reports_up_to_date(str(records), out)
    stamp.write_stamp(str(records), out)
    committed["v"] = "0.1@def"  # other code: stale
    assert not stamp.reports_up_to_date(str(records), out)
    stamp.write_stamp(str(records), out)
    (out / "README.md").unlink()  # the folder was emptied: stale
    assert not stamp.reports_up_to_date(str(records), out)
    assert not list(out.glob(".*"))  # the stamp never lands in the reports folder


def test_table_cache_renders_once_per_content(committed):
    calls = []

    def render():
        calls.append(1)
        return f"table {len(calls)}"

    recs = [{"method": "a", "top1": 0.5}]
    assert stamp.cached_text(recs, render) == "table 1"
    assert stamp.cached_text(recs, render) == "table 1" and len(calls) == 1
    assert stamp.cached_text(recs + [{"method": "b"}], render) == "table 2"
    committed["v"] = None  # uncommitted code: never cached
    assert stamp.cached_text(recs, render) == "table 3"
    assert stamp.cached_text(recs, render) == "table 4"
