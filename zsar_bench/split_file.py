"""The split-file format, declared: ``SplitFile`` documents every key a split file may have and checks its shape.

A split file (``splits/<dataset>/<protocol>.json``, a dataset folder's ``splits/<protocol>.json``, or any file
passed with ``--split-file``) is one JSON object::

    {"dataset": "hmdb51", "protocol": "e2e10", "version": 1, "description": "...",
     "counts": {"seen": 26, "val": 0, "unseen": 25},
     "folds": [{"fold": 0, "seen": ["brush_hair", ...], "val": [], "unseen": [...]}, ...]}

Cross-dataset protocols (train on one dataset, test on another) add ``train_dataset``, ``train_partition``
and ``excluded``; protocols on the official test videos (``k400-official``) add ``test_videos``,
``test_videos_sha256`` and a fold's ``official_split``. ``SplitFile.model_json_schema()`` is the same documentation as JSON Schema. Class
identifiers are checked against the datasets by the loader (``splits.load_split_file``), which turns the first
problem found here into a one-line ``SplitError`` (``error_line``).
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, model_validator
from pydantic_core import PydanticCustomError

Count = Annotated[StrictInt, Field(ge=0)]
Classes = list[StrictStr]


class Counts(BaseModel):
    """Class counts every fold must have (a check against hand edits); each key optional."""

    model_config = ConfigDict(extra="forbid")
    seen: Optional[Count] = Field(None, description="seen (training) classes per fold")
    val: Optional[Count] = Field(None, description="validation classes per fold")
    unseen: Optional[Count] = Field(None, description="unseen (test) classes per fold")


class Excluded(BaseModel):
    """A training class a cross-dataset protocol dropped because it overlaps the test classes; any further keys
    (``matches``: which test classes, by which criterion) are kept and shown beside the leaderboard."""

    model_config = ConfigDict(extra="allow")
    class_: StrictStr = Field(alias="class", description="the dropped class (an identifier of train_dataset)")


class FoldEntry(BaseModel):
    """One fold: three disjoint lists of class identifiers."""

    model_config = ConfigDict(extra="forbid")
    fold: Optional[Count] = Field(None, description=(
        "the fold's number (0 or more, unique in the file; --folds selects by it); absent: its position"))
    seen: Classes = Field(description=(
        "the seen (training) classes: identifiers of train_dataset when set, else of dataset"))
    val: Classes = Field([], description=(
        "validation classes (may be empty): the only classes model selection may look at; identifiers of "
        "train_dataset when set"))
    unseen: Classes = Field(description="the unseen (test) classes, at least two: identifiers of dataset")
    official_split: Optional[Annotated[StrictInt, Field(ge=1, le=3)]] = Field(None, description=(
        "with test_videos \"official\": the official train/test split (1-3) whose test videos this fold tests"))


class SplitFile(BaseModel):
    """A protocol: named folds of seen, validation and unseen classes of one dataset."""

    model_config = ConfigDict(extra="forbid")
    dataset: StrictStr = Field(description="the dataset whose clips are tested (and trained on, unless "
                                           "train_dataset says otherwise)")
    protocol: StrictStr = Field(description="the protocol's name (records and leaderboards key on it)")
    version: StrictInt = Field(description="the protocol's version: raise it when the folds change")
    description: StrictStr = Field("", description="what the protocol is and where its folds come from")
    counts: Optional[Counts] = None
    train_dataset: Optional[StrictStr] = Field(None, description=(
        "cross-dataset protocols: the dataset whose feature set supplies the seen and val classes (e.g. kinetics "
        "for k400-full); absent: dataset itself. seen and unseen may then share names: they are classes of two "
        "datasets"))
    train_partition: Optional[Literal["train"]] = Field(None, description=(
        "\"train\": fit on the training feature set's train partition only (the protocol's own training "
        "videos); absent: every clip of the seen classes"))
    excluded: list[Excluded] = Field([], description=(
        "cross-dataset protocols: training classes removed because they overlap the test classes (logged beside "
        "the leaderboard)"))
    test_videos: Optional[Literal["official"]] = Field(None, description=(
        "\"official\": a fold tests only the videos of the official test list its official_split names (UCF101 "
        "and HMDB51, zsar_bench/official_splits.py); needs video ids that are the official names. Absent: every "
        "clip of the unseen classes"))
    test_videos_sha256: Optional[StrictStr] = Field(None, description=(
        "with test_videos: the sha256 of the packaged test lists the folds refer to (HMDB51's), checked on load"))
    folds: list[FoldEntry] = Field(min_length=1, description="the folds, at least one")

    @model_validator(mode="after")
    def _folds_consistent(self) -> "SplitFile":
        same_dataset = self.train_dataset in (None, self.dataset)
        pairs = (("seen", "unseen"), ("seen", "val"), ("val", "unseen")) if same_dataset else (("seen", "val"),)
        numbers: set[int] = set()
        for i, f in enumerate(self.folds):
            tag = f"fold #{i}"
            fid = i if f.fold is None else f.fold
            if fid in numbers:
                raise _problem(f"{tag}: duplicate fold number {fid}")
            numbers.add(fid)
            if (f.official_split is None) != (self.test_videos is None):
                raise _problem(f"{tag}: 'official_split' (1-3) goes with test_videos \"official\": give both or "
                               "neither")
            parts = {"seen": f.seen, "val": f.val, "unseen": f.unseen}
            for k, lst in parts.items():
                dup = {c for c in lst if lst.count(c) > 1}
                if dup:
                    raise _problem(f"{tag}: {k!r} lists a class twice: {sorted(dup)}")
            for a, b in pairs:
                both = set(parts[a]) & set(parts[b])
                if both:
                    raise _problem(f"{tag}: classes in both {a!r} and {b!r}: {sorted(both)[:10]}")
            if not f.seen or not f.unseen:
                raise _problem(f"{tag}: 'seen' and 'unseen' must both be non-empty")
            if len(f.unseen) < 2:
                raise _problem(f"{tag}: 'unseen' has {len(f.unseen)} class; zero-shot accuracy over fewer than two "
                               "test classes is always 100%, so list at least two unseen classes")
            for k, n in (self.counts.model_dump(exclude_none=True) if self.counts else {}).items():
                if len(parts[k]) != n:
                    raise _problem(f"{tag}: {k!r} has {len(parts[k])} classes, the file's counts say {n}")
        return self

    def fold_numbers(self) -> list[int]:
        return [i if f.fold is None else f.fold for i, f in enumerate(self.folds)]


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("split_file", "{message}", {"message": message})


REQUIRED = "dataset, protocol, version, folds"
KEYS = ", ".join(SplitFile.model_fields)
FOLD_KEYS = ", ".join(FoldEntry.model_fields)
CLASS_HINT = "write each class as one string, e.g. \"brush_hair\""
# what each top-level key must be, for the one-line messages (the fields' descriptions say what they mean)
MUST = {
    "dataset": "a dataset name, e.g. \"hmdb51\"",
    "protocol": "a name, e.g. \"random-50-50\"",
    "version": "an integer",
    "description": "text",
    "train_dataset": "a dataset name, e.g. \"kinetics\", or absent",
    "train_partition": "\"train\" or absent",
    "test_videos": "\"official\" or absent",
    "test_videos_sha256": "the sha256 (hex) of the packaged test lists, or absent",
    "folds": "a non-empty list",
}


def error_line(e: ValidationError) -> str:
    """The first problem of a ``SplitFile`` validation as one line (without the file name): what is wrong, where,
    and what to write instead."""
    errors = e.errors(include_url=False)
    err = errors[0]
    loc, kind, got = err["loc"], err["type"], err.get("input")
    if kind == "split_file":
        return err["msg"]
    if not loc:
        return f"top level must be an object with keys {REQUIRED}"
    key = loc[0]
    if kind == "extra_forbidden" and len(loc) == 1:
        return f"unknown key {key!r} (a typo?); a split file's keys are {KEYS}"
    if kind == "missing" and len(loc) == 1:
        return f"missing key {key!r} (needs {REQUIRED})"
    if key == "counts":
        if len(loc) == 1:
            return "counts must be an object such as {\"seen\": 26, \"val\": 0, \"unseen\": 25}"
        if kind == "extra_forbidden":
            bad = [x["loc"][1] for x in errors if x["loc"][:1] == ("counts",) and x["type"] == "extra_forbidden"]
            return f"counts has unknown key(s) {', '.join(map(repr, bad))}; its keys are 'seen', 'val', 'unseen'"
        return f"counts[{loc[1]!r}] must be a whole number of classes, got {got!r}"
    if key == "excluded":
        return "'excluded' must be a list of objects with a 'class' key (and why it was dropped)"
    if key == "folds" and len(loc) >= 2:
        tag = f"fold #{loc[1]}"
        if len(loc) == 2 or (kind == "missing" and loc[2] in ("seen", "unseen")):
            return f"{tag}: each fold needs 'seen' and 'unseen' lists (and optionally 'val')"
        part = loc[2]
        if kind == "extra_forbidden":
            return f"{tag}: unknown key {part!r} (a typo?); a fold's keys are {FOLD_KEYS}"
        if part == "official_split":
            return f"{tag}: 'official_split' must be 1, 2 or 3 (written without quotes), got {got!r}"
        if part == "fold":
            return f"{tag}: 'fold' must be a whole number 0 or more (written without quotes), got {got!r}"
        if len(loc) == 3:
            return f"{tag}: {part!r} must be a list of class identifiers"
        return f"{tag}: {part!r} must list class identifiers as strings, got {got!r}; {CLASS_HINT}"
    if key in MUST:
        return f"{key} must be {MUST[key]}, got {got!r}"
    return f"{'.'.join(map(str, loc))}: {err['msg']}"
