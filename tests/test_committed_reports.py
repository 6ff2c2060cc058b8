"""The committed leaderboards (reports/) are what the code makes of the committed records, and what a reader sees
there is honest: no sanity row marked as tied with the best, no "± 0.0" or interval for a single run."""
import re

import pytest

from conftest import ROOT
from zsar_bench import cli

PAGES = sorted(p for p in (ROOT / "reports").glob("*.md") if not p.name.startswith("overlap_"))  # overlap: its own command


def _rows(page):
    """(table header cells, row cells) of every Markdown table row of a page."""
    head = None
    for line in page.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            head = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if head is None:
            head = cells
        elif not set(line) <= set("|-: "):
            yield dict(zip(head, cells))


@pytest.mark.slow
def test_committed_reports_are_what_the_code_makes_of_the_committed_records(tmp_path, plugins):
    out = tmp_path / "reports"
    assert cli.main(["report", "--records", str(ROOT / "results" / "records.jsonl"), "--reports-dir", str(out)]) == 0
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT / "reports").as_posix() for p in (ROOT / "reports").rglob("*")
                       if p.is_file() and not p.name.startswith("overlap_"))
    assert made == committed
    stale = [f for f in made if (out / f).read_bytes() != (ROOT / "reports" / f).read_bytes()]
    assert not stale, f"reports/ is out of date with the code: run `python run_bench.py report` ({stale[:5]})"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_sanity_row_is_marked_tied_and_single_runs_show_no_spread(page):
    rows = list(_rows(page))
    assert rows or page.name == "README.md", page
    for r in rows:
        method = r.get("Method", "")
        if "(sanity)" in method:
            assert not method.startswith("≈"), f"{page.name}: {method} marked as tied with the best"
        if re.fullmatch(r"1/1", r.get("Runs", "")):
            spread = [v for k, v in r.items() if "±" in v]
            assert not spread, f"{page.name}: a single run shown with a spread: {method} {spread}"
            assert not r.get("Top-1 95% CI"), f"{page.name}: a single run with an interval: {method}"
