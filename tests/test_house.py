"""The house's shape: no import circles, and one command table that every command resolves through."""
import importlib.util
import subprocess
import sys

from conftest import ROOT

from zsar_bench.cli import commands

spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "scripts" / "import_cycles.py")
import_cycles = importlib.util.module_from_spec(spec)
spec.loader.exec_module(import_cycles)


def test_no_import_circles():
    for lazy, typing in ((False, False), (True, False), (True, True)):
        assert import_cycles.circles(import_cycles.module_graph(ROOT, lazy, typing)) == []


def _plant(root, b_source: str) -> None:
    """A package zsar_bench/ under ``root`` where a imports b at module level and b's source is ``b_source``."""
    pkg = root / "zsar_bench"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text(b_source)


def test_cycle_finder_finds_a_planted_circle(tmp_path):
    _plant(tmp_path, "def f():\n    from .a import x\n")
    assert import_cycles.circles(import_cycles.module_graph(tmp_path, lazy=False)) == []
    assert import_cycles.circles(import_cycles.module_graph(tmp_path, lazy=True)) == [["zsar_bench.a", "zsar_bench.b"]]


def test_cycle_finder_sees_a_circle_through_type_checking_imports(tmp_path):
    _plant(tmp_path, "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import x\n")
    assert import_cycles.circles(import_cycles.module_graph(tmp_path, lazy=True)) == []
    assert import_cycles.circles(import_cycles.module_graph(tmp_path, True, True)) == [["zsar_bench.a", "zsar_bench.b"]]


def test_every_command_resolves_its_parser_and_handler():
    for c in commands.TABLE + (commands.RUN,):
        p = c.parser()
        assert callable(c.handler())
        if c is not commands.RUN:
            assert p.prog == f"run_bench.py {c.name}"


def test_help_lists_the_table_and_imports_no_torch():
    code = ("import sys, io, contextlib\nfrom zsar_bench.cli import main\nbuf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "print('torch' in sys.modules)\nprint(buf.getvalue())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    first, rest = out.split("\n", 1)
    assert first == "False"  # --help stays fast: no torch
    for c in commands.TABLE:
        assert f"  {c.name:<18}{c.help}" in rest.splitlines()


def test_every_user_error_shares_one_base_class_that_the_cli_prints_in_one_line(capsys, monkeypatch):
    """Each error a user can cause subclasses ``errors.ZsarBenchError``; ``main`` prints any of them as one line."""
    import ast

    from zsar_bench import cli
    from zsar_bench.errors import ZsarBenchError
    from zsar_bench.features.integrity import IntegrityError

    user_errors = []
    for path in sorted((ROOT / "zsar_bench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                user_errors.append((path.relative_to(ROOT), node.name))
    assert len(user_errors) >= 15
    for path, name in user_errors:
        mod = importlib.import_module(str(path.with_suffix("")).replace("/", "."))
        assert issubclass(getattr(mod, name), ZsarBenchError), f"{path}: {name} is not a ZsarBenchError"

    def broken(args):
        raise IntegrityError("feature file x.npy changed since it was written; re-import it")

    from zsar_bench.cli import info

    monkeypatch.setattr(info, "cmd_splits", broken)
    assert cli.main(["splits", "hmdb51", "e2e10"]) == 2
    err = capsys.readouterr().err
    assert err == "error: feature file x.npy changed since it was written; re-import it\n"


def test_no_function_over_100_lines_and_at_most_4_over_60():
    import ast

    lengths = {}
    for root in ("zsar_bench", "methods"):
        for path in (ROOT / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lengths[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = node.end_lineno - node.lineno + 1
    assert not [k for k, n in lengths.items() if n > 100]
    assert len([k for k, n in lengths.items() if n > 60]) <= 4, sorted(k for k, n in lengths.items() if n > 60)
