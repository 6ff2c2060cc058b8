"""The four ZSAR datasets, registered by name: every fact the harness keeps about a dataset lives here
(classes, default protocol, the synthetic world's clip count, the Kinetics-400 pool inside Kinetics-ZSAR).

Class lists live as package data (``zsar_bench/data/classes/<name>.tsv``: identifier, readable
name, in the dataset's canonical order). Descriptions live in
``zsar_bench/data/descriptions/<name>.tsv`` (identifier, name, description).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Optional

from ..registry import Registry
from ..types import ClassInfo

DATASETS: Registry["Dataset"] = Registry("dataset")


def _data_file(*parts: str):
    return resources.files("zsar_bench").joinpath("data", *parts)


def load_class_table(path_or_traversable) -> list[list[str]]:
    """Rows of a '#'-commented TSV file, split on tabs."""
    text = path_or_traversable.read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rows.append(line.split("\t"))
    return rows


@dataclass
class Dataset:
    name: str
    title: str
    n_classes: int
    source: str
    real_videos: str  # how many clips the real release has, for the docs
    synthetic_clips: int  # clips in the synthetic world: the real count (Kinetics-ZSAR: 30 per class)
    default_protocol: str = "random-50-50"  # the protocol a run uses when none is named
    # Kinetics-ZSAR: its first ``seen_pool`` classes (ER's id order) are Kinetics-400, the seen classes and the
    # pre-training set of Kinetics backbones (``overlap.py``); None for the other datasets.
    seen_pool: Optional[int] = None
    extra: dict = field(default_factory=dict)

    @cached_property
    def _table(self) -> list[list[str]]:
        rows = load_class_table(_data_file("classes", f"{self.name}.tsv"))
        if len(rows) != self.n_classes:
            raise ValueError(f"{self.name}: class file has {len(rows)} rows, expected {self.n_classes}")
        return rows

    @property
    def identifiers(self) -> list[str]:
        return [r[0] for r in self._table]

    @property
    def names(self) -> list[str]:
        return [r[1] for r in self._table]

    @cached_property
    def builtin_descriptions(self) -> dict[str, str]:
        f = _data_file("descriptions", f"{self.name}.tsv")
        if not f.is_file():
            return {}
        return {r[0]: r[2] for r in load_class_table(f)}

    def classes(self, descriptions: Optional[dict[str, str]] = None) -> list[ClassInfo]:
        """All classes in canonical order; ``descriptions`` (identifier -> text) overrides the built-ins."""
        desc = descriptions if descriptions is not None else self.builtin_descriptions
        names = getattr(desc, "names", {})  # a descriptions file's own spelling of names (ER's cleaned_word)
        return [ClassInfo(i, n, desc.get(i), names.get(i)) for i, n in zip(self.identifiers, self.names)]

    @cached_property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.identifiers)}


def get_dataset(name: str) -> Dataset:
    return DATASETS.get(name)


def _register(ds: Dataset) -> None:
    DATASETS.register(ds.name, origin="zsar_bench.datasets")(ds)


_register(Dataset("olympics", "Olympic Sports", 16, "Niebles et al., ECCV 2010", "783 clips", synthetic_clips=783))
_register(Dataset("hmdb51", "HMDB51", 51, "Kuehne et al., ICCV 2011", "6,766 clips", synthetic_clips=6766))
_register(Dataset("ucf101", "UCF101", 101, "Soomro et al., arXiv 1212.0402, 2012", "13,320 clips",
                  synthetic_clips=13320))
_register(
    Dataset(
        "kinetics",
        "Kinetics-ZSAR (Kinetics-400 + the 220 classes new in Kinetics-600)",
        620,
        "Carreira et al. 2018; ZSAR split by Chen and Huang, ICCV 2021",
        "about 240k training clips for the 400 seen classes",
        synthetic_clips=620 * 30,
        default_protocol="kinetics-zsar",
        seen_pool=400,
    )
)


def default_protocols() -> str:
    """"random-50-50; kinetics-zsar for kinetics": each dataset's default protocol, for help texts."""
    by = {}
    for n in DATASETS.names():
        by.setdefault(get_dataset(n).default_protocol, []).append(n)
    common = max(by, key=lambda p: len(by[p]))
    return "; ".join([common] + [f"{p} for {', '.join(ns)}" for p, ns in by.items() if p != common])


def dataset_names() -> str:
    """"olympics, hmdb51, ucf101, kinetics": for help texts and messages."""
    return ", ".join(DATASETS.names())
