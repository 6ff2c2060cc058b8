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
