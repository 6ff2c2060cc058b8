"""Command line: ``python run_bench.py`` and the ``zsar-bench`` console script are ``main`` here.

    run_bench.py --methods label --datasets hmdb51 [--protocol P] [--folds 0-9] [--seeds 0,1] ...
    run_bench.py --config configs/lr_sweep.yaml [--folds 0] ...   a sweep: methods x parameter grids
    run_bench.py COMMAND ...                                        see ``commands.TABLE`` (run_bench.py --help)

One command table (``commands.py``) names every command, its help line and the module that holds its
parser (``<command>_parser``) and handler (``cmd_<command>``): ``run.py`` (the main command), ``results.py``
(report, compare), ``info.py`` (list, splits, fidelity, texts, word vectors), ``features.py`` (import,
extract, overlap). The commands are thin layers over the library (``planning``, ``sweep``, ``reports``,
``features``); user mistakes are ``errors.ZsarBenchError`` (``UsageError`` here, the library's own errors there), printed
as one line without a traceback.
"""
from __future__ import annotations

import difflib
import sys
from typing import Optional

from ..errors import ZsarBenchError
from .commands import BY_NAME, COMMAND_HELP, COMMANDS, RUN  # noqa: F401
from .common import UsageError, parse_method_args, reports_dir_for  # noqa: F401
from .run import run_parser as build


def run_parser():
    return build()


def unknown_command_message(word: str) -> str:
    close = difflib.get_close_matches(word, COMMANDS, n=2, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return (f"unknown command {word!r}.{hint} Commands: {', '.join(COMMANDS)}; or run methods with "
            "run_bench.py --methods M --datasets D (run_bench.py --help)")


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
            raise UsageError(unknown_command_message(argv[0]))
        command = BY_NAME[argv[0]] if argv and argv[0] in BY_NAME else RUN
        args = command.parser().parse_args(argv[1:] if command is not RUN else argv)
        if getattr(args, "data_root", None):
            from ..paths import set_data_root

            set_data_root(args.data_root)
        return command.handler()(args)
    except ZsarBenchError as e:  # a mistake the user can fix (errors.py): one line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished folds are already in the records; rerun the same command to resume",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader left early; not worth a traceback
        import os

        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        except (OSError, ValueError):
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
