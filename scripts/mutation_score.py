#!/usr/bin/env python
"""Mutation score of the modules whose bugs change numbers silently (``make mutation``; not part of ``make test``).

Runs mutmut (configured under ``[tool.mutmut]`` in pyproject.toml: the modules mutated and the test files that pin
them), then writes docs/mutation.md: the date, the command, a table per module (mutants, killed, timed out,
survived, no test reaches them, score) and every survivor with its diff and the reason it is left, looked up in
docs/mutation_explained.toml (``"mutant name" = "why no test can tell"``). A survivor without a reason is listed
as UNEXPLAINED and the command exits 1: kill it with a test, or explain it there.

Score = (killed + timed out) / mutants: a mutant that makes the pinning tests hang changed behaviour they see.

    python scripts/mutation_score.py              # mutmut run, then the report (about 30-45 min on 2 cores)
    python scripts/mutation_score.py --report     # the report from the last run's results (mutants/)
    python scripts/mutation_score.py --again      # after adding tests: mutmut picks up changed code, then the
                                                  # last run's survivors are tested again; then the report
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "mutation.md"
EXPLAINED = ROOT / "docs" / "mutation_explained.toml"
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}
CAUGHT = ("killed", "timeout")


def mutmut(*args: str, **kw) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mutmut")
    return subprocess.run([str(exe), *args], cwd=ROOT, text=True, **kw)


def results() -> dict[str, dict[str, str]]:
    """{module file: {mutant name: status}} from mutmut's result files under mutants/."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        rel = meta.relative_to(ROOT / "mutants").as_posix()[: -len(".meta")]
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        out[rel] = {k: STATUS.get(v, "suspicious") for k, v in codes.items()}
    return out


def diff(name: str, module: str) -> str:
    """The mutant's changed lines (mutmut's own diff, read in this process: one `mutmut show` each is slow)."""
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant

        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            text = get_diff_for_mutant(name, path=module)
        finally:
            os.chdir(cwd)
    except Exception:  # noqa: BLE001  (another mutmut version: its command line)
        text = mutmut("show", name, capture_output=True).stdout
    return "\n".join(line for line in text.splitlines() if line.startswith(("+", "-"))
                     and not line.startswith(("+++", "---")))


def report(res: dict[str, dict[str, str]], minutes: float | None, again: bool = False) -> int:
    explained = tomllib.loads(EXPLAINED.read_text()) if EXPLAINED.exists() else {}
    lines = ["# Mutation score", "",
             f"Last run: {dt.date.today().isoformat()}"
             + (f", {minutes:.0f} min on this machine's {os.cpu_count()} cores" if minutes else "")
             + (" (with --again: changed code and the previous survivors tested again)" if again else "")
             + ". Command: `make mutation` (`python scripts/mutation_score.py`; mutmut, configured under "
             "`[tool.mutmut]` in pyproject.toml). Score = (killed + timed out) / mutants. Survivors are listed "
             "below with the reason no test can tell them apart (docs/mutation_explained.toml).", "",
             "| Module | Mutants | Killed | Timed out | Survived | No test | Score |",
             "|---|---|---|---|---|---|---|"]
    total, survivors = Counter(), []
    for module, by_name in res.items():
        c = Counter(by_name.values())
        n = len(by_name)
        total.update(c)
        total["n"] += n
        score = (c["killed"] + c["timeout"]) / n if n else float("nan")
        lines.append(f"| `{module}` | {n} | {c['killed']} | {c['timeout']} | {c['survived']} | {c['no tests']} "
                     f"| {100 * score:.1f}% |")
        survivors += [(module, k) for k, s in sorted(by_name.items()) if s not in CAUGHT]
    n = total["n"]
    lines.append(f"| **all** | {n} | {total['killed']} | {total['timeout']} | {total['survived']} | "
                 f"{total['no tests']} | **{100 * (total['killed'] + total['timeout']) / max(n, 1):.1f}%** |")
    lines += ["", f"## Survivors ({len(survivors)})", ""]
    unexplained = 0
    by_module = defaultdict(list)
    for module, name in survivors:
        by_module[module].append(name)
    for module, names in by_module.items():
        lines += [f"### `{module}`", ""]
        for name in names:
            why = explained.get(name)
            unexplained += why is None
            lines += [f"- `{name}` ({res[module][name]}): {why or 'UNEXPLAINED'}", "", "  ```diff"]
            lines += [f"  {d}" for d in diff(name, module).splitlines()] + ["  ```", ""]
    stale = sorted(set(explained) - {name for _, name in survivors})
    if stale:
        lines += ["Explanations for mutants that are now killed or gone (remove them from "
                  "docs/mutation_explained.toml): " + ", ".join(f"`{s}`" for s in stale), ""]
    OUT.write_text("\n".join(lines).rstrip() + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {n} mutants, {total['killed'] + total['timeout']} caught, "
          f"{len(survivors)} left ({unexplained} unexplained)")
    return 1 if unexplained else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--report", action="store_true", help="only write the report from the last run's results")
    ap.add_argument("--again", action="store_true",
                    help="keep the last run's results: test changed code and the last run's survivors again")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(), help="mutants tested at once (default: all cores)")
    args = ap.parse_args(argv)
    minutes = None
    if not args.report:
        t0 = time.monotonic()
        survivors = [k for by in results().values() for k, st in by.items() if st not in CAUGHT] if args.again else []
        rc = mutmut("run", "--max-children", str(args.jobs)).returncode  # new or changed code: tested afresh
        if rc in (0, 1) and survivors:
            rc = mutmut("run", "--max-children", str(args.jobs), *survivors).returncode
        minutes = (time.monotonic() - t0) / 60
        if rc not in (0, 1):
            print(f"mutmut run failed (exit {rc})", file=sys.stderr)
            return rc
    res = results()
    if not res:
        print("no mutmut results under mutants/: run without --report first", file=sys.stderr)
        return 2
    return report(res, minutes, args.again)


if __name__ == "__main__":
    sys.exit(main())
