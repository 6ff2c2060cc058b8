"""Class text styles: how a class becomes the text a method encodes."""
from __future__ import annotations

from typing import Sequence

from ..types import ClassInfo

STYLES = ("name", "description", "name: description")


def class_text(c: ClassInfo, style: str = "name") -> str:
    """``name``, ``description``, ``name: description`` (ER's form), or a template with
    ``{name}`` and/or ``{description}``, e.g. ``"a video of a person {name}"``."""
    if style == "name":
        return c.name
    if style in ("description", "name: description"):
        if not c.description:
            raise ValueError(f"class {c.identifier!r} has no description; text style {style!r} needs one "
                             "(pass --descriptions PATH or choose text_style=name)")
        return c.description if style == "description" else f"{c.name}: {c.description}"
    if "{" in style:
        try:
            return style.format(name=c.name, description=c.description or c.name, identifier=c.identifier)
        except (KeyError, IndexError) as e:
            raise ValueError(f"text template {style!r} may use only {{name}}, {{description}}, {{identifier}}") from e
    raise ValueError(f"unknown text style {style!r}; choose one of {', '.join(STYLES)} or a template with {{name}}")


def class_texts(classes: Sequence[ClassInfo], style: str = "name") -> list[str]:
    return [class_text(c, style) for c in classes]
