"""Class text styles: how a class becomes the text a method encodes."""
from __future__ import annotations

import string
from typing import Sequence

from ..types import ClassInfo
from ..errors import ZsarBenchError

STYLES = ("name", "description", "name: description")
TEMPLATE_FIELDS = ("name", "description", "identifier")


class TextStyleError(ZsarBenchError, ValueError):
    """An unknown text style, a malformed template, or a style that needs descriptions the classes lack."""


def check_style(style: str) -> str:
    """``style`` if it is a known style or a well-formed template, else a TextStyleError saying what to write.

    A template must use ``{name}`` or ``{description}`` (a class text that names no class cannot tell classes
    apart) and no field other than ``{name}``, ``{description}``, ``{identifier}``."""
    if not isinstance(style, str):
        raise TextStyleError(f"text style must be a string, got {style!r}")
    if style in STYLES:
        return style
    hint = (f"choose one of {', '.join(repr(s) for s in STYLES)} or a template with {{name}}, e.g. "
            "'a video of a person {name}' (fields: {name}, {description}, {identifier})")
    if "{" not in style and "}" not in style:
        raise TextStyleError(f"unknown text style {style!r}; {hint}")
    try:
        parsed = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(style) if f is not None]
    except ValueError as e:
        raise TextStyleError(f"text template {style!r} is malformed ({e}); {hint}") from None
    fields = [f for f, _, _ in parsed]
    # a format spec or conversion ({name:999999999}, {name!r}) is refused before anything formats: a width can
    # ask for gigabytes (MemoryError), and no class text needs one
    formatted = [(f, spec, conv) for f, spec, conv in parsed if spec or conv]
    if formatted:
        f, spec, conv = formatted[0]
        what = "{" + f + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
        if len(what) > 40:
            what = what[:37] + "..."
        raise TextStyleError(f"text template {_short(style)} formats a field ({what}); write the fields plain, "
                             f"with no ':' or '!' after the name, e.g. 'a video of a person {{name}}' "
                             "(fields: {name}, {description}, {identifier})")
    unknown = [f for f in fields if f not in TEMPLATE_FIELDS]
    if unknown:
        raise TextStyleError(f"text template {style!r} uses unknown field(s) "
                             f"{', '.join('{' + f + '}' for f in unknown)}; {hint}")
    if not {"name", "description"} & set(fields):
        raise TextStyleError(f"text template {style!r} has no {{name}} or {{description}}; {hint}")
    try:
        style.format(name="x", description="x", identifier="x")
    except (ValueError, KeyError, IndexError) as e:
        raise TextStyleError(f"text template {style!r} is malformed ({e}); {hint}") from None
    return style


def _short(style: str, limit: int = 80) -> str:
    r = repr(style)
    return r if len(r) <= limit else r[:limit - 3] + "..."


def class_text(c: ClassInfo, style: str = "name") -> str:
    """``name``, ``description``, ``name: description`` (ER's form), or a template with
    ``{name}`` and/or ``{description}``, e.g. ``"a video of a person {name}"``. The name is the
    descriptions file's own spelling where it has one (ER's ``cleaned_word``), else the readable name."""
    name = c.text_name or c.name
    if style == "name":
        return name
    if style in ("description", "name: description"):
        if not c.description:
            raise TextStyleError(f"class {c.identifier!r} has no description; text style {style!r} needs one "
                                 "(pass --descriptions PATH or choose text_style=name)")
        return c.description if style == "description" else f"{name}: {c.description}"
    check_style(style)
    return style.format(name=name, description=c.description or name, identifier=c.identifier)


def class_texts(classes: Sequence[ClassInfo], style: str = "name") -> list[str]:
    return [class_text(c, style) for c in classes]
