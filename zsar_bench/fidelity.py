"""The fidelity record: for every registered method, each published ingredient, this project's choice,
same / differs and why, and where the published value comes from.

The facts live next to the code they describe (``Method.fidelity``, a tuple of ``Ingredient``);
``render()`` writes them as ``docs/fidelity.md`` and a test fails when the file is out of date, so the
record cannot drift from the code: ``python run_bench.py fidelity`` rewrites it.
"""
from __future__ import annotations

from pathlib import Path

from .method import METHODS
from .plugins import load_plugins

DEFAULT_PATH = Path("docs") / "fidelity.md"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def counts(cls) -> tuple[int, int]:
    """(same, differs) over a method class's ingredients."""
    same = sum(1 for i in cls.fidelity if i.same)
    return same, len(cls.fidelity) - same


def render() -> str:
    """docs/fidelity.md as a string (methods in registry order)."""
    load_plugins()
    names = sorted(METHODS.names())
    lines = ["# Fidelity record", "",
             "For every registered method: each ingredient of the published method (paper or official release),",
             "what this project does, whether the two compute the same thing, and why not where they differ.",
             "Generated from each method's `fidelity` attribute by `python run_bench.py fidelity`; a test fails",
             "when this file and the code disagree.", "",
             "| method | same | differs |", "| --- | ---: | ---: |"]
    for n in names:
        cls = METHODS.get(n)
        s, d = counts(cls)
        lines.append(f"| [{n}](#{n}) | {s} | {d} |")
    for n in names:
        cls = METHODS.get(n)
        lines += ["", f"## {n}", "", _cell(cls.summary), ""]
        if not cls.fidelity:
            lines.append("No published counterpart: a harness-defined row." if not cls.learns
                         else "No ingredients recorded.")
            continue
        lines += ["| ingredient | published | ours | same? | why / note | source |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for i in cls.fidelity:
            lines.append(f"| {_cell(i.name)} | {_cell(i.published)} | {_cell(i.ours)} | "
                         f"{'same' if i.same else '**differs**'} | {_cell(i.why)} | {_cell(i.source)} |")
    return "\n".join(lines) + "\n"


def write(path: Path = DEFAULT_PATH) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    return path
