"""CLI polish: every command listed in --help with one line; a closed pipe ends quietly."""
import subprocess
import sys

from conftest import ROOT


def test_help_lists_every_command_with_a_line(capsys):
    """run_bench.py's --help, through its main in this process (test_house checks --help in a fresh process)."""
    from zsar_bench.cli import COMMAND_HELP, COMMANDS, main

    try:
        rc = main(["--help"])
    except SystemExit as e:  # argparse's help action exits
        rc = e.code
    assert rc in (0, None)
    out = capsys.readouterr().out
    for c in COMMANDS:
        assert COMMAND_HELP.get(c), f"command {c!r} has no one-line help"
        assert any(line.strip().startswith(c + " ") for line in out.splitlines()), f"{c} not listed in --help"


def test_closed_pipe_ends_quietly():
    cmd = f"'{sys.executable}' '{ROOT / 'run_bench.py'}' list methods | head -1"
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip(), "nothing printed"
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr


def test_broken_pipe_in_process_is_quiet(monkeypatch, capsys):
    """The reader leaves early (``| head``): the write raises BrokenPipeError; the CLI exits 1, no traceback."""
    import io
    import os

    from zsar_bench import cli

    class Closed(io.TextIOBase):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):  # the handler points stdout at /dev/null so Python's exit flush cannot fail again
            return os.open(os.devnull, os.O_WRONLY)

    monkeypatch.setattr(sys, "stdout", Closed())
    assert cli.main(["list", "methods"]) == 1
    assert "Traceback" not in capsys.readouterr().err
