"""Import circles among zsar_bench's modules: at module level, and counting lazy (function-level) imports.

    python scripts/import_cycles.py [REPO_ROOT]      prints each circle; exit 1 if there is any

Three graphs: imports at module level; with lazy (function-level) imports; and with imports under
``if TYPE_CHECKING:`` too (they never run, but a circle there is still two modules that know each other).
``tests/test_house.py`` keeps every count at 0.
"""
from __future__ import annotations

import ast
import pathlib
import sys


def module_graph(root: pathlib.Path, lazy: bool, type_checking: bool = False) -> dict[str, set[str]]:
    """zsar_bench module -> the zsar_bench modules it imports (top level only, or anywhere with ``lazy``; imports
    under ``if TYPE_CHECKING:`` only with ``type_checking``)."""
    mods = {}
    for p in (root / "zsar_bench").rglob("*.py"):
        name = ".".join(p.relative_to(root).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p

    def targets(cur: str, node) -> list[str]:
        out = []
        if isinstance(node, ast.Import):
            out = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = cur.split(".")
                if mods[cur].name != "__init__.py":
                    pkg = pkg[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out = [base] + [f"{base}.{a.name}" for a in node.names]
        return [o for o in out if o in mods]

    graph = {m: set() for m in mods}
    for m, p in mods.items():
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for n in ast.walk(tree):
            if (isinstance(n, ast.If) and getattr(n.test, "id", getattr(n.test, "attr", "")) == "TYPE_CHECKING"
                    and not type_checking):
                n.body = []
        for n in (ast.walk(tree) if lazy else tree.body):
            if isinstance(n, (ast.Import, ast.ImportFrom)):
                graph[m].update(t for t in targets(m, n) if t != m and not m.startswith(t + "."))
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def main(argv: list[str]) -> int:
    root = pathlib.Path(argv[0] if argv else pathlib.Path(__file__).resolve().parents[1])
    found = 0
    for label, lazy, typing in (("module level", False, False), ("with lazy imports", True, False),
                                ("with lazy and TYPE_CHECKING imports", True, True)):
        cs = circles(module_graph(root, lazy, typing))
        found += len(cs)
        print(f"{label}: {len(cs)} circle(s)")
        for c in cs:
            print("   " + " <-> ".join(c))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
