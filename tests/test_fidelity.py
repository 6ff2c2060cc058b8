"""docs/fidelity.md is generated from the methods' own `fidelity` records and must match the code."""
from pathlib import Path

from zsar_bench.method import METHODS, Ingredient

ROOT = Path(__file__).resolve().parents[1]


def test_every_learning_method_has_a_fidelity_record(plugins):
    missing = [n for n in METHODS.names() if METHODS.get(n).learns and not METHODS.get(n).fidelity]
    assert not missing, f"methods without a fidelity record (Method.fidelity): {missing}"
    for n in METHODS.names():
        for i in METHODS.get(n).fidelity:
            assert isinstance(i, Ingredient) and i.name and i.published and i.ours and i.source, (n, i)
            assert i.same or i.why, f"{n}: {i.name} differs without a reason"


def test_fidelity_doc_is_up_to_date(plugins):
    from zsar_bench.fidelity import render

    doc = (ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")
    assert doc == render(), "docs/fidelity.md is out of date: run `python run_bench.py fidelity`"


def test_fidelity_counts_and_er_paper_setting(plugins):
    from zsar_bench.fidelity import counts

    same, differs = counts(METHODS.get("er-paper"))
    er_same, er_differs = counts(METHODS.get("er"))
    assert same + differs == er_same + er_differs and differs < er_differs  # er-paper: the published text tower
    names = [i.name for i in METHODS.get("er").fidelity]
    assert {"text module", "fusion gates", "ER loss", "weight decay", "object stream"} <= set(names)
