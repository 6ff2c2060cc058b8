"""The datasets, registered by name from their declared specs (``spec.py``): nothing about a dataset is written
in code. Built in: ``zsar_bench/data/datasets/<name>.json`` (olympics, hmdb51, ucf101, kinetics) and any
``zsar_bench/data/datasets/<name>/dataset.json``. Your own: the folders named in ``$ZSAR_BENCH_DATASETS``
(``os.pathsep``-separated; each a dataset folder holding ``dataset.json``, or a folder of such folders), read
again whenever the variable changes, so worker processes, which inherit it, see the same datasets; or
``add_dataset_folder(path)``, which sets it. docs/adding_a_dataset.md is the walk-through.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Optional

from ..registry import Registry
from ..types import ClassInfo
from .spec import SPEC_FILE, DatasetSpec, DatasetSpecError, parse_spec

ENV_DATASETS = "ZSAR_BENCH_DATASETS"
BUILTIN_ORIGIN = "zsar_bench.datasets"


def _data_file(*parts: str):
    return resources.files("zsar_bench").joinpath("data", *parts)


def load_class_table(path_or_traversable) -> list[list[str]]:
    """Rows of a '#'-commented TSV file, split on tabs."""
    return [row for _, row in _numbered_rows(path_or_traversable)]


def _numbered_rows(path_or_traversable) -> list[tuple[int, list[str]]]:
    text = path_or_traversable.read_text(encoding="utf-8")
    return [(n, line.split("\t")) for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.startswith("#")]


class Dataset:
    """A registered dataset: its spec (``spec``), the folder the spec's paths start from (``home``), and the
    tables the spec names, read on first use and checked."""

    def __init__(self, spec: DatasetSpec, home: Path | str, origin: str):
        self.spec = spec
        self.home = home  # the spec file's folder: a Path, or (built in) a folder under zsar_bench/data, "datasets"
        self.origin = origin  # the spec file, for messages
        self.builtin = False  # shipped with the harness (zsar_bench/data/datasets/)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, from {self.origin})"

    # --- what the spec declares -------------------------------------------------------------------------------
    name = property(lambda self: self.spec.name)
    title = property(lambda self: self.spec.title)
    source = property(lambda self: self.spec.source)
    real_videos = property(lambda self: self.spec.real_videos)
    default_protocol = property(lambda self: self.spec.default_protocol)

    @property
    def synthetic_clips(self) -> int:
        """Clips in the synthetic world: the spec's count (the built-ins: the real release; Kinetics-ZSAR 30 per
        class), else 30 per class."""
        return self.spec.synthetic.clips or 30 * self.n_classes

    @property
    def seen_pool(self) -> Optional[int]:
        """Kinetics-ZSAR: its first ``seen_pool`` classes (ER's id order) are Kinetics-400, the seen classes and
        the pre-training set of Kinetics backbones (``overlap.py``); None for the other datasets."""
        return self.spec.pretrain_pool.first if self.spec.pretrain_pool else None

    def _file(self, rel: str):
        """A file the spec names: a Path, or a packaged file (read through importlib.resources)."""
        if isinstance(self.home, Path):
            return self.home / rel
        inside = posixpath.normpath(posixpath.join(self.home, rel))
        if inside.startswith(".."):
            raise DatasetSpecError(f"{self.origin}: {rel} is outside zsar_bench/data; keep packaged files there")
        return _data_file(*inside.split("/"))

    def _where(self, rel: str) -> str:
        return f"{self.origin.rsplit('/', 1)[0]}/{rel}" if "/" in self.origin else rel

    @property
    def class_file(self) -> str:
        """The class table's path, for messages (zsar_bench/data/classes/hmdb51.tsv)."""
        return os.path.normpath(self._where(self.spec.classes))

    @property
    def splits_dir(self) -> Optional[Path]:
        """The folder the spec names for its split files; None: the harness's splits/<name>/."""
        return Path(str(self._file(self.spec.splits))) if self.spec.splits else None

    # --- the tables --------------------------------------------------------------------------------------------
    def _rows(self, rel: str, min_cols: int, what: str) -> list[tuple[int, list[str]]]:
        f, where = self._file(rel), os.path.normpath(self._where(rel))
        if not f.is_file():
            raise DatasetSpecError(f"{self.origin}: its {what} {where} does not exist; create it or fix the path")
        try:
            rows = _numbered_rows(f)
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetSpecError(f"{where}: cannot be read as UTF-8 text ({type(e).__name__}: {e})") from None
        for n, r in rows:
            if len(r) < min_cols or not all(c.strip() for c in r[:min_cols]):
                cols = "identifier<TAB>name" + ("<TAB>description" if min_cols == 3 else "")
                raise DatasetSpecError(f"{where}:{n}: expected {cols} separated by tabs, got {chr(9).join(r)!r}")
        return rows

    @cached_property
    def _table(self) -> list[list[str]]:
        rows = self._rows(self.spec.classes, 2, "class table")
        where = self.class_file
        if len(rows) < 2:
            raise DatasetSpecError(f"{where}: a dataset needs at least two classes, the file lists {len(rows)}")
        first: dict[str, int] = {}
        for n, r in rows:
            if r[0] in first:
                raise DatasetSpecError(f"{where}:{n}: identifier {r[0]!r} is listed twice (first on line "
                                       f"{first[r[0]]}); identifiers must be unique")
            first[r[0]] = n
        if self.spec.n_classes is not None and len(rows) != self.spec.n_classes:
            raise DatasetSpecError(f"{self.name}: class file has {len(rows)} rows, expected {self.spec.n_classes} "
                                   f"(n_classes in {self.origin})")
        return [r for _, r in rows]

    @property
    def n_classes(self) -> int:
        return len(self._table)

    @property
    def identifiers(self) -> list[str]:
        return [r[0] for r in self._table]

    @property
    def names(self) -> list[str]:
        return [r[1] for r in self._table]

    @cached_property
    def builtin_descriptions(self) -> dict[str, str]:
        """identifier -> description: the spec's description table, else the class table's third column."""
        if self.spec.descriptions is None:
            return {r[0]: r[2] for r in self._table if len(r) > 2 and r[2].strip()}
        rel = self.spec.descriptions
        rows = self._rows(rel, 3, "description table")
        unknown = [(n, r[0]) for n, r in rows if r[0] not in self.index]
        if unknown:
            n, ident = unknown[0]
            raise DatasetSpecError(f"{os.path.normpath(self._where(rel))}:{n}: {ident!r} is not a class of "
                                   f"{self.name} (its classes are in {self.class_file})")
        return {r[0]: r[2] for _, r in rows}

    def classes(self, descriptions: Optional[dict[str, str]] = None) -> list[ClassInfo]:
        """All classes in canonical order; ``descriptions`` (identifier -> text) overrides the built-ins."""
        desc = descriptions if descriptions is not None else self.builtin_descriptions
        names = getattr(desc, "names", {})  # a descriptions file's own spelling of names (ER's cleaned_word)
        return [ClassInfo(i, n, desc.get(i), names.get(i)) for i, n in zip(self.identifiers, self.names)]

    @cached_property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.identifiers)}

    def files_digest(self) -> str:
        """sha256 over the spec and every file it names (tables, split files): what a cached plan depends on."""
        h = hashlib.sha256(self.spec.model_dump_json().encode())
        rels = [self.spec.classes] + ([self.spec.descriptions] if self.spec.descriptions else [])
        for rel in rels:
            f = self._file(rel)
            h.update(rel.encode() + b"\0" + (f.read_bytes() if f.is_file() else b"(missing)"))
        if self.splits_dir is not None and self.splits_dir.is_dir():
            for p in sorted(self.splits_dir.glob("*.json")):
                h.update(p.name.encode() + b"\0" + p.read_bytes())
        return h.hexdigest()


def read_dataset(spec_file, home: Path | str | None = None, origin: Optional[str] = None) -> Dataset:
    """The dataset a spec file declares: ``spec_file`` a Path (``home`` its folder) or a packaged Traversable
    (``home``, its folder under zsar_bench/data, and ``origin``, the path shown in messages, given)."""
    where = origin or str(spec_file)
    try:
        text = spec_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetSpecError(f"{where}: cannot be read ({type(e).__name__}: {e})") from None
    return Dataset(parse_spec(text, where), home if home is not None else Path(spec_file).parent, where)


def _builtin_datasets() -> list[Dataset]:
    root = _data_file("datasets")
    out = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        shown = f"zsar_bench/data/datasets/{entry.name}"
        if entry.name.endswith(".json") and entry.is_file():
            out.append(read_dataset(entry, "datasets", shown))
        elif entry.is_dir() and entry.joinpath(SPEC_FILE).is_file():
            out.append(read_dataset(entry.joinpath(SPEC_FILE), f"datasets/{entry.name}", f"{shown}/{SPEC_FILE}"))
    for ds in out:
        ds.builtin = True
    return out


def _external_datasets(value: str) -> list[Dataset]:
    out = []
    for entry in [e for e in value.split(os.pathsep) if e.strip()]:
        p = Path(entry).expanduser()
        if p.is_file() and p.suffix == ".json":
            files = [p]
        elif (p / SPEC_FILE).is_file():
            files = [p / SPEC_FILE]
        elif p.is_dir():
            files = sorted(d / SPEC_FILE for d in p.iterdir() if (d / SPEC_FILE).is_file())
            if not files:
                raise DatasetSpecError(f"${ENV_DATASETS}: {p} holds no {SPEC_FILE} (nor folders holding one); name "
                                       "dataset folders, or a folder of them (docs/adding_a_dataset.md)")
        else:
            raise DatasetSpecError(f"${ENV_DATASETS}: {p} does not exist; name dataset folders that hold a "
                                   f"{SPEC_FILE} (docs/adding_a_dataset.md)")
        for f in files:
            ds = read_dataset(f.resolve())
            ds.builtin_descriptions  # noqa: B018 - read and check its tables now: a mistake shows at once
            out.append(ds)
    return out


class DatasetRegistry(Registry[Dataset]):
    """The built-in datasets plus those of ``$ZSAR_BENCH_DATASETS`` as it is now (re-read when it changes)."""

    def __init__(self):
        super().__init__("dataset")
        self._env: Optional[str] = ""
        self._external: list[str] = []

    def _sync(self) -> None:
        value = os.environ.get(ENV_DATASETS, "")
        if value == self._env:
            return
        for n in self._external:
            self.unregister(n)
        self._external, self._env = [], None  # until the new value has loaded: a failure is raised again
        added = []
        try:
            for ds in _external_datasets(value):
                Registry.register(self, ds.name, origin=ds.origin)(ds)
                added.append(ds.name)
        except Exception:
            for n in added:
                self.unregister(n)
            raise
        self._external, self._env = added, value

    def get(self, name: str) -> Dataset:
        self._sync()
        return super().get(name)

    def unknown_message(self, name: str) -> str:
        self._sync()
        return super().unknown_message(name)

    def names(self) -> list[str]:
        self._sync()
        return super().names()

    def __contains__(self, name: object) -> bool:
        self._sync()
        return super().__contains__(name)

    def __len__(self) -> int:
        self._sync()
        return super().__len__()

    def origin(self, name: str) -> str:
        self._sync()
        return super().origin(name)

    def external(self) -> list[Dataset]:
        """The datasets registered from ``$ZSAR_BENCH_DATASETS`` now."""
        self._sync()
        return [self._items[n] for n in self._external]


DATASETS = DatasetRegistry()
for _ds in _builtin_datasets():
    DATASETS.register(_ds.name, origin=BUILTIN_ORIGIN)(_ds)


def get_dataset(name: str) -> Dataset:
    return DATASETS.get(name)


def add_dataset_folder(path: str | Path) -> list[str]:
    """Register the dataset(s) of a folder (as ``$ZSAR_BENCH_DATASETS`` does; the variable is extended, so
    worker processes see them too); returns the names registered."""
    p = str(Path(path).expanduser().resolve())
    before = set(DATASETS.names())
    current = [e for e in os.environ.get(ENV_DATASETS, "").split(os.pathsep) if e.strip()]
    if p not in current:
        os.environ[ENV_DATASETS] = os.pathsep.join(current + [p])
        try:
            DATASETS.names()
        except Exception:
            os.environ[ENV_DATASETS] = os.pathsep.join(current)
            if not current:
                del os.environ[ENV_DATASETS]
            raise
    return sorted(set(DATASETS.names()) - before)


def pretrain_pool(name: str) -> Optional[tuple[Dataset, int]]:
    """(dataset, size) of the pre-training pool ``name`` a spec declares (k400: kinetics' first 400), or None."""
    for n in DATASETS.names():
        ds = DATASETS.get(n)
        if ds.spec.pretrain_pool is not None and ds.spec.pretrain_pool.name == name:
            return ds, ds.spec.pretrain_pool.first
    return None


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
