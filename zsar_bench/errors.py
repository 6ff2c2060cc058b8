"""The base class of every error a user can cause (a bad option, a missing file, a malformed plugin or split).

Each such error subclasses ``ZsarBenchError`` and, for callers that catch by kind, a builtin (``ValueError``,
``RuntimeError``); its message says what is wrong and how to fix it. The command line prints one as a single
line (exit code 2); anything else is a bug and keeps its traceback.
"""


class ZsarBenchError(Exception):
    """An error the user can fix; its message names the fix."""
