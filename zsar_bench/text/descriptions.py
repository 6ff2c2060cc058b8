"""Load class descriptions from a user file (``--descriptions PATH``).

Two formats:
- ER's JSON: ``[{"word": readable name, "defn": description}, ...]``, matched by readable name
  (case, '_' and spacing ignored). As ER's code does (datasets/prevideo.py), the class text is built
  from ``cleaned_word`` and ``cleaned_defn`` when an entry has them (``word``/``defn`` otherwise):
  the loaded description is ``cleaned_defn`` and the class's text name ``cleaned_word``;
- the project's TSV: ``identifier<TAB>name<TAB>description`` lines ('#' lines are comments).
Every class of the dataset must get a description; otherwise the error lists those left without.
A class described twice (the same identifier or name on two entries) is an error naming it: which
one to keep is the author's choice, not the loader's.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..datasets import get_dataset
from ..errors import ZsarBenchError
from ..paths import loop_message, symlink_loop


class DescriptionsError(ZsarBenchError, ValueError):
    pass


class Descriptions(dict):
    """identifier -> description, plus ``names``: identifier -> the name the file writes for class texts
    (ER's ``cleaned_word``), for the classes where it differs from nothing given (empty for TSV files)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.names: dict[str, str] = {}


def _norm(s: str) -> str:
    return re.sub(r"[\s_\-]+", "", s.lower())


def _check_er_entry(path: Path, n: int, x: dict, by_key: dict) -> None:
    """Entry ``n`` of an ER JSON file: ``word`` and ``defn`` (and ``cleaned_word``/``cleaned_defn`` where given)
    are text. ``"defn": null`` would otherwise become the description "None" (and a number "3"): refused."""
    if not isinstance(x["word"], str):
        raise DescriptionsError(f"{path}: entry {n} has \"word\": {json.dumps(x['word'])[:60]}, not a class name; "
                                "write the class's name as a string")
    cls = by_key.get(_norm(x["word"]), x["word"])
    for field in ("defn", "cleaned_defn", "cleaned_word"):
        if field == "defn" or field in x:
            v = x.get(field)
            if field != "defn" and v is None:
                continue  # ER's optional cleaned fields may be null: ``word``/``defn`` are used then
            if not isinstance(v, str):
                raise DescriptionsError(
                    f"{path}: class {cls!r} (entry {n}, word {x['word']!r}) has \"{field}\": "
                    f"{json.dumps(v)[:60]}, not text; write it as a string (\"{field}\": \"...\")"
                    f"{', or drop the field' if field != 'defn' else ''}")


def load_descriptions(path: str | Path, dataset: str) -> Descriptions:
    """identifier -> description for every class of ``dataset`` (with ``.names`` from ER's cleaned words)."""
    path = Path(path)
    if not path.is_file():
        link = symlink_loop(path)
        if link is not None:
            raise DescriptionsError(f"{loop_message('descriptions file', path, link)} or pass --descriptions PATH")
        raise DescriptionsError(f"descriptions file {path} does not exist")
    ds = get_dataset(dataset)
    by_key = {}
    for ident, name in zip(ds.identifiers, ds.names):
        by_key[_norm(name)] = ident
        by_key[_norm(ident)] = ident
    out = Descriptions()
    first_entry: dict[str, str] = {}
    unmatched = []

    def put(ident: str, entry: str, text: str) -> None:
        if ident in out:
            raise DescriptionsError(
                f"{path}: class {ident!r} is described twice ({first_entry[ident]!r} and {entry!r}); keep one "
                "description per class")
        out[ident] = text
        first_entry[ident] = entry

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DescriptionsError(
            f"{path}: not a UTF-8 text file (byte {e.start}: {e.reason}); give ER's JSON ([{{\"word\", \"defn\"}}]) or "
            "a TSV of identifier<TAB>name<TAB>description, saved as UTF-8") from None
    except OSError as e:
        raise DescriptionsError(f"{path}: cannot be read ({e.strerror or e})") from None
    if "\x00" in text:
        raise DescriptionsError(f"{path}: looks like a binary file (NUL bytes); give ER's JSON or a UTF-8 TSV of "
                                "identifier<TAB>name<TAB>description")
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise DescriptionsError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(doc, list) or not all(isinstance(x, dict) and "word" in x and "defn" in x for x in doc):
            raise DescriptionsError(f"{path}: expected ER's format, a list of {{\"word\": name, \"defn\": text}}")
        for n, x in enumerate(doc, 1):
            _check_er_entry(path, n, x, by_key)
            ident = by_key.get(_norm(x["word"]))
            if ident is None:
                unmatched.append(x["word"])
                continue
            put(ident, x["word"], (x.get("cleaned_defn") or x["defn"]).strip())
            out.names[ident] = (x.get("cleaned_word") or x["word"]).strip()
    else:
        rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
        for row in rows:
            if len(row) < 3:
                raise DescriptionsError(f"{path}: each line needs identifier<TAB>name<TAB>description, got {row!r}")
            ident = row[0] if row[0] in ds.index else by_key.get(_norm(row[1]))
            (unmatched.append(row[0]) if ident is None else put(ident, row[0], row[2].strip()))
    if unmatched:
        raise DescriptionsError(f"{path}: {len(unmatched)} entries match no {dataset} class: {unmatched[:10]}")
    missing = [i for i in ds.identifiers if not out.get(i)]
    if missing:
        raise DescriptionsError(f"{path}: {len(missing)} {dataset} classes have no description: {', '.join(missing)}")
    return out
