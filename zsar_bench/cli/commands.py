"""The command table: every ``run_bench.py`` command, its one-line help, and where its parser and handler live.

Modules are named, not imported, so ``run_bench.py --help`` and each command import only what they use.
The main command (no command word: ``run_bench.py --methods ... --datasets ...``) is ``RUN``."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    module: str  # zsar_bench.cli.<module> holds <name>_parser() and cmd_<name>()

    def _attr(self, suffix: str, prefix: str = "") -> Callable:
        mod = importlib.import_module(f"{__package__}.{self.module}")
        return getattr(mod, prefix + self.name.replace("-", "_") + suffix)

    def parser(self):
        return self._attr("_parser")()

    def handler(self) -> Callable:
        return self._attr("", "cmd_")


RUN = Command("run", "run methods over the folds of protocols (the main command)", "run")

TABLE: tuple[Command, ...] = (
    Command("list", "list methods, datasets, protocols or feature sets", "info"),
    Command("splits", "print a protocol's folds (official class identifiers)", "info"),
    Command("report", "regenerate reports/ from the records (Markdown, CSV, LaTeX, HTML)", "results"),
    Command("compare", "paired comparison of two methods over folds: difference, 95% CI, Wilcoxon and t p-values",
            "results"),
    Command("fidelity", "rewrite docs/fidelity.md from every method's fidelity record", "info"),
    Command("texts", "print a dataset's class texts in a text style", "info"),
    Command("wv-coverage", "word-vector coverage of each dataset's class names", "info"),
    Command("convert-vectors", "convert pickled gensim vectors to word2vec text, once", "info"),
    Command("import-features", "import real features (ER's release layout, a matrix + index, a Hugging Face dataset)",
            "features"),
    Command("extract-features", "extract features from videos: TSM + BiT concepts (ER's), or CLIP", "features"),
    Command("overlap", "list target classes that overlap a pre-training class set", "features"),
)
BY_NAME = {c.name: c for c in TABLE}
COMMANDS = tuple(BY_NAME)
COMMAND_HELP = {c.name: c.help for c in TABLE}
