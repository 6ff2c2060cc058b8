import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_REF = ROOT.parent / "shared" / "reference" / "er-zsar"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ["ZSAR_BENCH_RERUN_CACHE"] = "0"  # clean clone or working tree: the same behaviour (reports/stamp.py)


@pytest.fixture(scope="session", autouse=True)
def data_root(tmp_path_factory):
    """One data root for the whole session (synthetic features and text caches are reused)."""
    from zsar_bench.paths import set_data_root

    root = os.environ.get("ZSAR_BENCH_DATA") or str(tmp_path_factory.mktemp("zsar-data"))
    os.environ["ZSAR_BENCH_DATA"] = root
    # One text cache for every data root of the session, this one's (the fresh roots that tests make, in this
    # process and in the subprocesses they start, would otherwise encode the same texts again). The cache key is
    # exact (model identity, pooling, max length, text), so no vector changes; a test that needs an empty text
    # cache makes its own (test_text_parallel). A $ZSAR_BENCH_TEXT_CACHE set before the run is kept.
    os.environ.setdefault("ZSAR_BENCH_TEXT_CACHE", str(Path(root) / "cache"))
    set_data_root(root)
    return Path(root)


@pytest.fixture(scope="session")
def plugins():
    from zsar_bench.plugins import load_plugins

    return load_plugins()


@pytest.fixture(scope="session")
def olympics_features(data_root):
    from zsar_bench.features import load_feature_set

    return load_feature_set("olympics", "synthetic")


def reference(path: str) -> Path:
    p = SHARED_REF / path
    if not p.exists():
        pytest.skip(f"../shared/reference/er-zsar/{path} not present")
    return p


@pytest.fixture
def rng():
    return np.random.default_rng(0)
