"""YAML for files a user hands the harness (config files, the literature table): ``yaml.safe_load`` plus two
refusals. A key given twice in one mapping is an error (PyYAML keeps the last one silently), and so is a document
whose aliases expand to more than ``MAX_VALUES`` values (an "anchor bomb": a few lines that become millions of
values once printed in an error message or iterated)."""
from __future__ import annotations

from typing import Any

import yaml

MAX_VALUES = 100_000


class YamlRefused(yaml.YAMLError):
    """The document parses but is refused (a repeated key, too many values)."""


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    repeated = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: the base class says so
                    continue
                if repeated:
                    raise YamlRefused(f"key {key!r} is given twice (line {key_node.start_mark.line + 1}); keep one")
        return super().construct_mapping(node, deep=deep)


def _count(obj: Any, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise YamlRefused(f"the document expands to more than {MAX_VALUES:,} values (aliases repeating aliases?)")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _count(k, budget)
            _count(v, budget)
    elif isinstance(obj, list):
        for v in obj:
            _count(v, budget)


def load(text: str) -> Any:
    """``text`` parsed as ``yaml.safe_load`` would, or a ``yaml.YAMLError`` (``YamlRefused`` for a repeated key or
    a document of more than ``MAX_VALUES`` values)."""
    doc = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    _count(doc, [MAX_VALUES])
    return doc
