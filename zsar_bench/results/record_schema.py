"""The result record as a versioned type: ``Record`` (pydantic), its JSON Schema, and ``migrate``.

A record is one flat JSON object per line of ``results/records.jsonl`` (see ``records.py``). Its
``record_version`` says which shape it has; rows written before versions existed have none and are
version 1. This module is the one place that names the record's fields: the run key
(``Record.KEY_FIELDS``), the metric fields and the defaults old rows are read with.

Versions:

- **1** (no ``record_version``): ``mode``, ``revision`` and ``train_dataset`` may be missing (rows made
  before evaluation modes, method revisions and cross-dataset training existed).
- **2**: ``record_version`` 2; ``mode``, ``revision`` and ``train_dataset`` always present.

``migrate(row)`` turns a version-1 row into a version-2 one when reading (``RecordStore.read``): the
file itself is never rewritten for it. Fields the type does not name are kept as they are (plugins and
newer versions may add fields); a row of a newer version than this code knows is returned unchanged.

The JSON Schema (``zsar_bench/data/record.schema.json``) is generated from ``Record``; regenerate it
after changing the type with ``python -m zsar_bench.results.record_schema --write``.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any, ClassVar, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

RECORD_VERSION = 2
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "record.schema.json"
SCHEMA_ID = "https://github.com/zsar-bench/zsar-bench/blob/main/zsar_bench/data/record.schema.json"


def _unit_interval(v: float) -> float:
    # NaN is allowed: a GZSL metric over an empty side is NaN (json writes it as NaN, which JSON Schema's
    # minimum/maximum checks let through as they compare false)
    if not (math.isnan(v) or 0.0 <= v <= 1.0):
        raise ValueError(f"a metric is a fraction in [0, 1], not {v!r}")
    return v


Metric = Annotated[float, AfterValidator(_unit_interval),
                   WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1,
                                   "description": "a fraction in [0, 1] (not a percentage)"})]
Count = Annotated[int, Field(ge=0)]
Seconds = Annotated[float, Field(ge=0)]


def _tidy_schema(schema: dict[str, Any], cls: type) -> None:
    """Drop pydantic's generated titles and ``default: null`` of optional fields (an optional field is
    absent, never null, unless its type says so), and add the mode-dependent required metrics."""
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            del prop["default"]
    schema["allOf"] = [{
        "if": {"properties": {"mode": {"const": "gzsl"}}, "required": ["mode"]},
        "then": {"required": list(cls.GZSL_METRIC_FIELDS)},
        "else": {"required": list(cls.ZSL_METRIC_FIELDS)},
    }]


class Record(BaseModel):
    """One run: its key (``KEY_FIELDS``), what it ran, its metrics (fractions in [0, 1]) and its provenance.

    Extra fields are allowed and kept (``scores_file`` is named; plugins and newer versions may add
    others). ``to_row()`` is the dict the runner appends to the records file."""

    model_config = ConfigDict(extra="allow", title="zsar-bench record", json_schema_extra=_tidy_schema)

    # the run's identity (records.record_key); rows without ``mode`` are zero-shot runs
    KEY_FIELDS: ClassVar[tuple[str, ...]] = ("method", "config_hash", "dataset", "features_id", "protocol",
                                             "split_hash", "fold", "seed", "mode")
    # runs averaged into one leaderboard row (reports.summarise): the key without fold and seed
    GROUP_FIELDS: ClassVar[tuple[str, ...]] = ("dataset", "features_id", "protocol", "split_hash", "mode", "method",
                                               "config_hash")
    ZSL_METRIC_FIELDS: ClassVar[tuple[str, ...]] = ("top1", "top5", "mean_class_acc")  # zsl and fewshot-K runs
    GZSL_METRIC_FIELDS: ClassVar[tuple[str, ...]] = ("gzsl_seen", "gzsl_unseen", "gzsl_h")
    METRIC_FIELDS: ClassVar[tuple[str, ...]] = ZSL_METRIC_FIELDS + GZSL_METRIC_FIELDS
    DEFAULT_MODE: ClassVar[str] = "zsl"  # of version-1 rows without ``mode``
    DEFAULT_REVISION: ClassVar[int] = 1  # of version-1 rows without ``revision``

    record_version: int = Field(ge=2, description="shape of this record (RECORD_VERSION when written); rows "
                                "without it are version 1 and are migrated when read")
    # -- key --
    method: str = Field(min_length=1)
    config_hash: str = Field(min_length=1, description="hash of the method's configuration and classes")
    dataset: str = Field(min_length=1, description="the dataset tested on")
    features_id: str = Field(min_length=1, description="feature set identity (name and version)")
    protocol: str = Field(min_length=1)
    split_hash: str = Field(min_length=1, description="hash of the protocol's splits")
    fold: int = Field(ge=0)
    seed: int
    mode: str = Field(pattern=r"^(zsl|gzsl|fewshot-[1-9][0-9]*)$", description="evaluation mode")
    # -- what ran --
    revision: int = Field(ge=1, description="the method implementation's revision")
    train_dataset: str = Field(min_length=1, description="the dataset trained on (the tested one unless cross-dataset)")
    params: dict[str, Any]
    features: str
    synthetic: bool
    protocol_version: int = Field(ge=1)
    n_folds: int = Field(ge=1)
    # -- metrics (zsl and fewshot-K: top1, top5, mean_class_acc; gzsl: gzsl_seen, gzsl_unseen, gzsl_h) --
    top1: Metric = None  # type: ignore[assignment]
    top5: Metric = None  # type: ignore[assignment]
    mean_class_acc: Metric = None  # type: ignore[assignment]
    gzsl_seen: Metric = None  # type: ignore[assignment]
    gzsl_unseen: Metric = None  # type: ignore[assignment]
    gzsl_h: Metric = None  # type: ignore[assignment]
    # -- sizes and timings --
    n_seen: Count
    n_val: Count
    n_unseen: Count
    n_train_videos: Count
    n_val_videos: Count
    n_test_videos: Count
    train_s: Seconds
    eval_s: Seconds
    best_epoch: Optional[int]
    epochs: Optional[int]
    selected_on: str
    # -- provenance --
    descriptions: str
    texts_hash: str
    device: str
    versions: dict[str, str]
    git_sha: str
    time: str
    scores_file: str = Field(None, description="--save-scores: the Parquet file of this run's test scores")  # type: ignore[assignment]
    run_id: str = Field(None, min_length=1, description="the driver that wrote this row: a random token of its "  # type: ignore[assignment]
                        "sweep, @host:pid; absent in rows written before writers were recorded")
    in_process: bool = Field(None, description="true: fit and scored in the driver's own process (a method "  # type: ignore[assignment]
                             "defined in a notebook or script, --executor inline), without isolation")

    @model_validator(mode="after")
    def _metrics_of_its_mode(self) -> "Record":
        need = self.GZSL_METRIC_FIELDS if self.mode == "gzsl" else self.ZSL_METRIC_FIELDS
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.mode} record needs {', '.join(missing)}")
        return self

    def to_row(self) -> dict:
        """The dict the runner appends to the records file: every field given, extra fields included (an
        optional field not given stays absent rather than null)."""
        return self.model_dump(exclude_unset=True)


def row_version(row: dict) -> Optional[int]:
    """A row's ``record_version`` (1 when absent), or None when it is not a positive integer."""
    v = row.get("record_version", 1)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        return None
    return v


def migrate(row: dict) -> dict:
    """``row`` as a current (version ``RECORD_VERSION``) record, for reading; ``row`` itself is not changed.

    Version 1 (no ``record_version``): ``mode`` "zsl", ``revision`` 1 and ``train_dataset`` = ``dataset``
    where missing, then ``record_version`` 2. Current rows, rows of a newer version and rows whose
    ``record_version`` is not a positive integer are returned as they are. Other fields are always kept."""
    if row_version(row) != 1:
        return row
    new = dict(row)
    if "mode" not in new:
        new["mode"] = Record.DEFAULT_MODE
    if "revision" not in new:
        new["revision"] = Record.DEFAULT_REVISION
    if "train_dataset" not in new and "dataset" in new:
        new["train_dataset"] = new["dataset"]
    new["record_version"] = RECORD_VERSION
    return new


def is_newer(row: dict) -> bool:
    """True for a row this code cannot fully understand: a newer ``record_version``, or one that is not a
    positive integer."""
    v = row_version(row)
    return v is None or v > RECORD_VERSION


def record_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a current record, generated from ``Record``."""
    schema = Record.model_json_schema()
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    out["description"] = (f"One result record (one line of results/records.jsonl), record_version {RECORD_VERSION}: "
                          "metrics are fractions in [0, 1]; fields not named here are allowed and kept. Generated "
                          "from zsar_bench.results.record_schema.Record by `python -m zsar_bench.results.record_schema --write`; "
                          "do not edit by hand.")
    return out


def schema_text() -> str:
    return json.dumps(record_json_schema(), indent=2, sort_keys=False) + "\n"


def load_schema() -> dict:
    """The committed schema file (package data)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_row(row: dict) -> None:
    """Raise (``jsonschema.ValidationError`` or ``pydantic.ValidationError``) unless ``row`` is a valid current
    record: checked against the committed JSON Schema when ``jsonschema`` is installed, else by ``Record``."""
    try:
        import jsonschema
    except ImportError:
        Record.model_validate(row)
        return
    jsonschema.validate(row, load_schema())


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m zsar_bench.results.record_schema [--write]``: print the generated schema, or write it to the
    package data file."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--write"]:
        SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
        return 0
    if argv:
        print("usage: python -m zsar_bench.results.record_schema [--write]", file=sys.stderr)
        return 2
    sys.stdout.write(schema_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
