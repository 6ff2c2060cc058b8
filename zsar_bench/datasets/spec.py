"""The declared shape of a dataset: one ``dataset.json`` per dataset, read into ``DatasetSpec``.

Everything the harness knows about a dataset is in its spec file and the files it names: the class table, the
descriptions, the default protocol, where its split files are, its place in the synthetic world, the Kinetics-400
pool inside Kinetics-ZSAR, and the published numbers the leaderboards show beside it. Paths in a spec are relative
to the spec file. The built-in specs are ``zsar_bench/data/datasets/<name>.json``; a dataset of your own is a
folder with a ``dataset.json`` (docs/adding_a_dataset.md). Every problem is a ``DatasetSpecError`` that names the
file, the key and what to write instead.
"""
from __future__ import annotations

import json
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..paths import NAME_RE
from ..registry import RegistryError

SPEC_FILE = "dataset.json"  # the spec's name inside a dataset folder


class DatasetSpecError(RegistryError):
    """A dataset spec (or a file it names) is malformed; the message names the file and the fix."""


MeanStd = tuple[float, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticSpec(_Model):
    """The dataset in the embedded synthetic feature set (``zsar_bench/features/synthetic.py``)."""

    clips: Optional[int] = Field(None, ge=1, description=(
        "clips the synthetic set draws for this dataset (the built-ins follow the real release); absent: 30 per "
        "class"))
    world: Literal["core", "joins"] = Field("joins", description=(
        "'joins' (the default, and the only choice for a new dataset): the dataset joins the synthetic world "
        "without changing it; a class whose name matches an action of the core world (same or near-identical "
        "name) is that action, every other class is an action of this dataset alone, and the features of every "
        "other dataset stay bit for bit the same. 'core': one of the datasets the world is built from "
        "(olympics, hmdb51, ucf101, kinetics); any other core membership builds a different world, whose "
        "feature identity is no longer synthetic-v2, so its records never mix with synthetic-v2's"))


class PretrainPool(_Model):
    """A pre-training class set that is a prefix of this dataset's class table (Kinetics-400 in Kinetics-ZSAR)."""

    name: str = Field(description="the name --exclude-overlap and the overlap command use, e.g. k400")
    first: int = Field(ge=1, description="the pool is the first this many classes of the class table")


class PublishedResult(_Model):
    """A published zero-shot result on one of this dataset's protocols (real features): a marked reference row."""

    method: str
    protocol: str = Field(description="the protocol (split file name) the result is on")
    top1: MeanStd = Field(description="[mean, std] in %")
    top5: Optional[MeanStd] = Field(None, description="[mean, std] in %")
    source: str = Field(description="the paper")
    note: str = Field(description="what the number is over (folds, features)")
    inputs: str = Field("", description="the class inputs of the published run (text model, descriptions)")


class FewshotResult(_Model):
    k: int = Field(ge=1, description="labelled clips per test class")
    top1: MeanStd
    top5: MeanStd


class PublishedFewshot(_Model):
    """Published supervised few-shot baselines on the test classes of one protocol."""

    protocol: str
    source: str
    results: list[FewshotResult]


class Published(_Model):
    """A dataset's own published numbers (a dataset of your own; the built-in datasets' zero-shot numbers are in
    ``zsar_bench/data/literature.yaml``, with their sources)."""

    zsl: list[PublishedResult] = []
    fewshot: Optional[PublishedFewshot] = None


class DatasetSpec(_Model):
    """One dataset, declared. Keys (paths relative to the spec file):"""

    name: str = Field(description="the name commands use (--datasets NAME): letters, digits and . _ + -")
    title: str = Field(description="the dataset's full name")
    source: str = Field(description="its citation")
    real_videos: str = Field("", description="how many clips the real release has, in words (for the docs)")
    classes: str = Field("classes.tsv", description=(
        "the class table: identifier<TAB>readable name[<TAB>description] per line in the dataset's canonical "
        "order ('#' lines are comments); identifiers are what split files list"))
    descriptions: Optional[str] = Field(None, description=(
        "a separate description table, identifier<TAB>name<TAB>description; absent: the class table's third "
        "column"))
    n_classes: Optional[int] = Field(None, ge=2, description="a check: the class table must have this many rows")
    default_protocol: str = Field("random-50-50", description="the protocol a run uses when none is named")
    splits: Optional[str] = Field(None, description=(
        "the folder of this dataset's split files (<protocol>.json); absent: splits/<name>/ of the harness, "
        "where the built-in datasets keep theirs"))
    synthetic: SyntheticSpec = SyntheticSpec()
    pretrain_pool: Optional[PretrainPool] = None
    published: Published = Published()

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not NAME_RE.match(v) or ".." in v:
            raise ValueError("must be a plain name (letters, digits and . _ + -, starting with a letter or digit): "
                             "it becomes a folder under the data root")
        return v


def _loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def spec_error_line(e: ValidationError, where: str) -> str:
    """The first problem of ``e`` as one line naming the key."""
    err = e.errors(include_url=False)[0]
    key, kind = _loc(err["loc"]), err["type"]
    if kind == "missing":
        return f"{where}: missing key {key!r}; see docs/adding_a_dataset.md for every key"
    if kind == "extra_forbidden":
        known = ", ".join(DatasetSpec.model_fields) if len(err["loc"]) == 1 else "see docs/adding_a_dataset.md"
        return f"{where}: unknown key {key!r} (a typo?); the keys are: {known}"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{where}: {key} {msg[0].lower() + msg[1:]}, got {err.get('input')!r}"


def parse_spec(text: str, where: str) -> DatasetSpec:
    """The spec in ``text`` (JSON), or a DatasetSpecError naming ``where``."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetSpecError(f"{where}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise DatasetSpecError(f"{where}: the top level must be an object such as "
                               '{"name": "toy", "title": "Toy", "source": "..."}')
    try:
        return DatasetSpec.model_validate(doc)
    except ValidationError as e:
        raise DatasetSpecError(spec_error_line(e, where)) from None
