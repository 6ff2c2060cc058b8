"""Published zero-shot action recognition results with their sources: ``zsar_bench/data/literature.yaml``, read
into a declared schema.

The file has four parts:

- ``tags``: the protocol vocabulary, per kind (``class_split``, ``backbone``, ``pretraining``, ``class_text``,
  ``overlap_removed``), each tag with what it means. A class split may name the harness protocol it equals
  (``harness_protocol``: its rows become marked † rows of that protocol's tables) or the protocol whose page
  section shows them in a reference table of their own (``reference_table``: §, never ranked with runs here).
- ``sources``: the documents numbers were read in: a paper (``cite``) or a file of a repository at a commit.
- ``rows``: one per (method, dataset, protocol): top-1 (and top-5) as ``[mean]`` or ``[mean, std]`` in %, the
  protocol tags, and one or more places the number can be checked (``ref`` a source, ``at`` where in it: a
  table of a paper, lines of a file; ``quotes``: the paper whose number a comparison table repeats).
- ``left_out``: results that could not be checked in a source, and why.

A row without a source, a source without its table or lines, a tag that ``tags`` does not declare or a source
that ``sources`` does not have is a ``LiteratureError`` naming the row and the fix.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import safe_yaml
from .errors import ZsarBenchError

LITERATURE_FILE = Path(__file__).resolve().parent / "data" / "literature.yaml"
TAG_KINDS = ("class_split", "backbone", "pretraining", "class_text", "overlap_removed")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_LINES = re.compile(r"lines? \d+(-\d+)?(, \d+(-\d+)?)*")
_IMAGE = (".png", ".jpg", ".jpeg", ".pdf")


class LiteratureError(ZsarBenchError, ValueError):
    """The literature file is malformed; the message names the row or key and the fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tag(_Model):
    text: str = Field(min_length=1, description="what the tag means, in words")
    harness_protocol: Optional[str] = Field(None, description="the harness protocol this class split equals")
    reference_table: Optional[str] = Field(None, description=(
        "the harness protocol after whose tables a reference table of these rows goes on the dataset's page"))


class Source(_Model):
    kind: Literal["paper", "repository"]
    cite: str = Field(min_length=1, description="authors, title, venue year (or what the file is)")
    repository: Optional[str] = None
    commit: Optional[str] = None
    file: Optional[str] = None
    read_in: str = Field("", description="where the paper's text was read, when not from its publisher")

    @model_validator(mode="after")
    def _located(self) -> "Source":
        if self.kind == "repository":
            if not (self.repository and self.file and self.commit and _HEX40.fullmatch(self.commit)):
                raise ValueError("a repository source needs repository (owner/name), commit (40 hex digits) and file")
        elif self.repository or self.commit or self.file:
            raise ValueError("a paper source has no repository, commit or file (make it kind: repository)")
        return self

    @property
    def is_image(self) -> bool:
        return bool(self.file) and self.file.lower().endswith(_IMAGE)

    def place(self, at: str) -> str:
        """``at`` of this source as a citation: "Ni et al., ..., ECCV 2022, Table 3" or
        "owner/name@abc1234 README.md lines 5-9"."""
        if self.kind == "paper":
            return f"{self.cite}, {at}"
        return f"{self.repository}@{self.commit[:7]} {self.file} {at} ({self.cite})"


class SourceRef(_Model):
    ref: str = Field(description="a key of sources")
    at: str = Field(min_length=1, description="where in it: 'Table 3' (paper), 'lines 5-9' (file)")
    quotes: Optional[str] = Field(None, description="the paper source whose number this place repeats")


class Protocol(_Model):
    class_split: str
    folds: Optional[int] = Field(ge=1, description="the folds (draws) the mean is over; null: not stated")
    backbone: str
    pretraining: list[str] = Field(min_length=1)
    class_text: str
    overlap_removed: str

    def tags(self) -> list[tuple[str, str]]:
        """(kind, tag) of every tag the protocol uses."""
        return ([("class_split", self.class_split), ("backbone", self.backbone)]
                + [("pretraining", p) for p in self.pretraining]
                + [("class_text", self.class_text), ("overlap_removed", self.overlap_removed)])


class Row(_Model):
    method: str = Field(min_length=1)
    dataset: str = Field(min_length=1)
    top1: list[float] = Field(min_length=1, max_length=2, description="[mean] or [mean, std] in %")
    top5: Optional[list[float]] = Field(None, min_length=1, max_length=2)
    protocol: Protocol
    inputs: str = Field("", description="the class inputs, in words, for the leaderboards' Class inputs column")
    source: list[SourceRef] = Field(min_length=1, description="where the number can be checked")
    note: str = ""

    @field_validator("top1", "top5")
    @classmethod
    def _percent(cls, v):
        if v is not None and not all(0 <= x <= 100 for x in v):
            raise ValueError("must be in % (0-100)")
        return v

    def mean_std(self, metric: str) -> Optional[tuple[float, Optional[float]]]:
        """(mean, std or None) of ``top1``/``top5``; None where the row has none."""
        v = getattr(self, metric)
        return None if v is None else (v[0], v[1] if len(v) > 1 else None)


class LeftOut(_Model):
    what: str = Field(min_length=1)
    why: str = Field(min_length=1)


class Literature(_Model):
    tags: dict[str, dict[str, Tag]]
    sources: dict[str, Source]
    rows: list[Row]
    left_out: list[LeftOut] = []

    @model_validator(mode="after")
    def _consistent(self) -> "Literature":
        if sorted(self.tags) != sorted(TAG_KINDS):
            raise ValueError(f"tags must declare exactly the kinds {', '.join(TAG_KINDS)}")
        seen = set()
        for i, row in enumerate(self.rows):
            what = f"rows[{i}] ({row.method}, {row.dataset})"
            key = (row.method, row.dataset, row.protocol.class_split)
            if key in seen:
                raise ValueError(f"{what}: a second row for the same method, dataset and class split")
            seen.add(key)
            for kind, tag in row.protocol.tags():
                if tag not in self.tags[kind]:
                    raise ValueError(f"{what}: unknown {kind} tag {tag!r}; declare it under tags.{kind} "
                                     f"(known: {', '.join(self.tags[kind])})")
            for ref in row.source:
                self._check_ref(what, ref)
        return self

    def _check_ref(self, what: str, ref: SourceRef) -> None:
        src = self.sources.get(ref.ref)
        if src is None:
            raise ValueError(f"{what}: unknown source {ref.ref!r}; add it under sources")
        if src.kind == "paper" and not re.fullmatch(r"(Table|Sec\.) \S+.*", ref.at):
            raise ValueError(f"{what}: a paper source needs the table, e.g. at: 'Table 3', got {ref.at!r}")
        if src.kind == "repository" and not (src.is_image and ref.at.startswith("image")) \
                and not _LINES.fullmatch(ref.at):
            raise ValueError(f"{what}: a repository source needs the lines, e.g. at: 'lines 5-9', got {ref.at!r}")
        if ref.quotes is not None and (ref.quotes not in self.sources or self.sources[ref.quotes].kind != "paper"):
            raise ValueError(f"{what}: quotes {ref.quotes!r} must be a paper source under sources")

    # ---------------------------------------------------------------------------------------------------------
    def tag_text(self, kind: str, tag: str) -> str:
        return self.tags[kind][tag].text

    def cite(self, row: Row) -> str:
        """Every place ``row``'s number can be checked, as one line."""
        out = []
        for r in row.source:
            text = self.sources[r.ref].place(r.at)
            if r.quotes:
                text += f" (reporting {self.sources[r.quotes].cite})"
            out.append(text)
        return "; ".join(out)

    def harness_protocol(self, row: Row) -> Optional[str]:
        return self.tags["class_split"][row.protocol.class_split].harness_protocol

    def reference_table(self, row: Row) -> Optional[str]:
        return self.tags["class_split"][row.protocol.class_split].reference_table

    def groups(self) -> list[tuple[str, list[Row]]]:
        """(class split tag, its rows by dataset, in the file's order within a dataset), in the tags' order."""
        out = []
        for tag in self.tags["class_split"]:
            rows = [r for r in self.rows if r.protocol.class_split == tag]
            if rows:
                out.append((tag, sorted(rows, key=lambda r: r.dataset)))
        return out


def parse_literature(text: str, where: str) -> Literature:
    """The literature in ``text`` (YAML), or a LiteratureError naming ``where`` and the first problem."""
    try:
        doc = safe_yaml.load(text)
    except yaml.YAMLError as e:
        raise LiteratureError(f"{where}: not valid YAML ({' '.join(str(e).split())})") from None
    try:
        return Literature.model_validate(doc)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        raise LiteratureError(f"{where}: {loc}: {msg}") from None


@lru_cache(maxsize=4)
def load_literature(path: Optional[str] = None) -> Literature:
    """The literature file (default: the packaged ``zsar_bench/data/literature.yaml``), validated."""
    p = Path(path) if path else LITERATURE_FILE
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise LiteratureError(f"cannot read the literature file {p}: {e.strerror or e}") from None
    return parse_literature(text, str(p))


def harness_rows(lit: Optional[Literature] = None) -> list[dict]:
    """The rows whose class split equals a harness protocol, in the shape the leaderboards' published rows take:
    {"method", "dataset", "protocol", "top1": (mean, std)[, "top5"], "source", "note", "inputs"} (std NaN where
    the source gives none)."""
    lit = lit or load_literature()
    out = []
    for row in lit.rows:
        proto = lit.harness_protocol(row)
        if proto is None:
            continue
        out.append(dict(_values(row), method=row.method, dataset=row.dataset, protocol=proto,
                        source=lit.cite(row), note=_note(lit, row),
                        inputs=row.inputs or lit.tag_text("class_text", row.protocol.class_text)))
    return out


def reference_rows(dataset: str, lit: Optional[Literature] = None) -> list[Row]:
    """The rows of ``dataset`` shown in a reference table of their own on its page (their class split has a
    ``reference_table``), in the file's order."""
    lit = lit or load_literature()
    return [r for r in lit.rows if r.dataset == dataset and lit.reference_table(r)]


def _values(row: Row) -> dict:
    out = {}
    for m in ("top1", "top5"):
        ms = row.mean_std(m)
        if ms is not None:
            out[m] = (ms[0], float("nan") if ms[1] is None else ms[1])
    return out


def _note(lit: Literature, row: Row) -> str:
    p = row.protocol
    folds = f"{p.folds} folds" if p.folds else "folds not stated"
    text = f"{lit.tag_text('backbone', p.backbone)}; {folds}"
    return text + (f"; {row.note}" if row.note else "")
