"""Commands that show what the harness knows: ``list``, ``splits``, ``fidelity``, ``texts``, ``wv-coverage``,
and ``convert-vectors`` (word vectors to a format that cannot run code)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tabulate import tabulate

from ..datasets import DATASETS, get_dataset
from ..features import list_feature_sets
from ..fidelity import render, write
from ..listing import failed_plugins, list_datasets, list_methods, list_protocols
from ..splits import load_protocol
from ..text.descriptions import load_descriptions
from ..text.styles import class_texts
from ..text.wordvectors import convert_vectors, coverage_report, load_word_vectors
from .common import UsageError, common_options


def list_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_bench.py list", description="List registered things.")
    p.add_argument("what", choices=["methods", "datasets", "protocols", "features"])
    p.add_argument("--format", choices=["text", "json"], default="text")
    common_options(p)
    return p


def splits_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_bench.py splits", description="Print a protocol's folds (official class identifiers).")
    p.add_argument("dataset")
    p.add_argument("protocol")
    p.add_argument("--format", choices=["text", "json"], default="text")
    return p


def fidelity_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_bench.py fidelity",
                                description="Rewrite docs/fidelity.md from every method's `fidelity` record "
                                            "(published ingredient, our choice, same or differs, why, source).")
    p.add_argument("--out", type=Path, default=Path("docs") / "fidelity.md", help="where to write (default %(default)s)")
    p.add_argument("--check", action="store_true", help="exit 1 if the file differs from the code instead of writing")
    return p


def texts_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_bench.py texts", description="Print a dataset's class texts in a style.")
    p.add_argument("dataset")
    p.add_argument("--style", default="name: description",
                   help="name | description | 'name: description' | a template such as 'a video of a person {name}'")
    p.add_argument("--descriptions", help="descriptions file to use instead of the built-in ones")
    p.add_argument("--format", choices=["text", "json"], default="text")
    return p


def wv_coverage_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_bench.py wv-coverage", description="Word-vector coverage of class names.")
    p.add_argument("datasets", nargs="*", help="default: all datasets")
    p.add_argument("--vectors", default="glove50", help="glove50 (packaged) or a path to word2vec/GloVe/fastText vectors")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow a gensim .kv file (a Python pickle: it can run code) for --vectors; only for files you trust")
    p.add_argument("--format", choices=["text", "json"], default="text")
    common_options(p)
    return p


def convert_vectors_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_bench.py convert-vectors",
        description="Convert word vectors once to word2vec text (or binary, for an output ending in .bin), a format "
                    "that cannot run code; use the output wherever vectors are given (semantic=OUT, --vectors OUT).")
    p.add_argument("source", help="the vectors: a gensim .kv file (needs --trust-pickle), .bin, .txt or fasttext:PATH")
    p.add_argument("output", help="where to write them, e.g. vectors.txt")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow unpickling a gensim .kv source (a pickle can run code: only for files you trust)")
    return p


def cmd_list(args: argparse.Namespace) -> int:
    what = args.what
    extra = {}
    if what == "methods":
        rows = [{k: r[k] for k in ("name", "summary", "origin", "params")} for r in list_methods()]
        failures = failed_plugins()
        extra = {"failed_plugins": failures} if failures else {}
    elif what == "datasets":
        rows = list_datasets()
    elif what == "protocols":
        rows = list_protocols()
    else:
        rows = list_feature_sets()
    if args.format == "json":
        print(json.dumps({what: rows, **extra}, indent=1, default=str))
    else:
        flat = [{**{k: v for k, v in r.items() if k != "params"},
                 **({"parameters (defaults)": ", ".join(f"{k}={v}" for k, v in r["params"].items())}
                    if "params" in r else {})} for r in rows]
        print(tabulate(flat, headers="keys", tablefmt="simple", disable_numparse=True))
        for name, err in extra.get("failed_plugins", {}).items():
            print(f"warning: plugin {name} failed to load: {err}", file=sys.stderr)
    return 0


def cmd_splits(args: argparse.Namespace) -> int:
    if args.dataset not in DATASETS:
        raise UsageError(DATASETS.unknown_message(args.dataset))
    pr = load_protocol(args.dataset, args.protocol)
    if args.format == "json":
        print(json.dumps(pr.to_json(), indent=1))
    else:
        print(f"{pr.dataset}/{pr.protocol} v{pr.version} sha256 {pr.sha256}\n{pr.description}")
        for f in pr.folds:
            print(f"fold {f.fold}: {len(f.seen)} seen, {len(f.val)} val, {len(f.unseen)} unseen: {', '.join(f.unseen)}")
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != render():
            print(f"{args.out} is out of date: run `python run_bench.py fidelity`", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    print(write(args.out))
    return 0


def cmd_texts(args: argparse.Namespace) -> int:
    ds = get_dataset(args.dataset)
    desc = None
    if args.descriptions:
        desc = load_descriptions(args.descriptions, args.dataset)
    classes = ds.classes(desc)
    texts = class_texts(classes, args.style)
    if args.format == "json":
        print(json.dumps([{"identifier": c.identifier, "text": t} for c, t in zip(classes, texts)], indent=1))
    else:
        for c, t in zip(classes, texts):
            print(f"{c.identifier}\t{t}")
    return 0


def cmd_wv_coverage(args: argparse.Namespace) -> int:
    for d in args.datasets:
        if d not in DATASETS:
            raise UsageError(DATASETS.unknown_message(d))
    kv = load_word_vectors(args.vectors, trust_pickle=args.trust_pickle)
    rows = [coverage_report(d, kv) for d in (args.datasets or DATASETS.names())]
    if args.format == "json":
        print(json.dumps(rows, indent=1))
    else:
        print(tabulate([{k: v for k, v in r.items() if k != "missing_words"} for r in rows], headers="keys"))
        for r in rows:
            if r["missing_words"]:
                print(f"{r['dataset']}: words with no vector: {', '.join(r['missing_words'])}")
    return 0


def cmd_convert_vectors(args: argparse.Namespace) -> int:
    out = convert_vectors(args.source, args.output, trust_pickle=args.trust_pickle)
    print(f"wrote {out} (word2vec {'binary' if out.suffix.lower() == '.bin' else 'text'}); use it as "
          f"semantic={out} or --vectors {out}")
    return 0
