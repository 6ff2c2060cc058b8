"""Feature stores are verified on load: an edited, truncated or replaced file is refused with a fix."""
import os
import shutil

import numpy as np
import pytest

from zsar_bench.features import integrity
from zsar_bench.features.arrow_store import clean_stale_staging
from zsar_bench.features.base import FeatureStoreError, feature_root
from zsar_bench.paths import set_data_root


@pytest.fixture
def private_root(tmp_path, data_root, olympics_features):
    """A copy of the session's synthetic olympics cache in a data root of its own."""
    src = feature_root("olympics", "synthetic")
    dst = tmp_path / "features" / "olympics" / "synthetic"
    shutil.copytree(src, dst)
    set_data_root(tmp_path)
    yield dst / "v2"
    set_data_root(data_root)


def _load():
    from zsar_bench.features.synthetic import load_or_generate

    return load_or_generate("olympics")


def test_negated_rows_are_caught(private_root):
    _load()  # verified once
    path = private_root / "features.npy"
    x = np.load(path, mmap_mode="r+")
    x[:100] = -x[:100]
    x.flush()
    del x
    os.utime(path)  # mtime moves on, as with any edit
    with pytest.raises(FeatureStoreError, match="does not match the checksum.*rm -r"):
        _load()


def test_truncated_file_is_caught(private_root):
    assert len(_load().labels) == 783  # control: the copy loads before it is cut
    path = private_root / "meta.npz"
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 100)
    with pytest.raises(FeatureStoreError, match="bytes, the manifest records"):
        _load()


def test_unchanged_files_are_hashed_once(private_root, monkeypatch):
    _load()
    monkeypatch.setattr(integrity, "sha256_file", lambda p: pytest.fail(f"re-hashed {p}"))
    assert len(_load().labels) == 783


def test_stale_staging_of_killed_imports_is_removed(tmp_path):
    stage = tmp_path / ".staging"
    dead = stage / "my.set.999999999.abcd1234"
    alive = stage / f"other.{os.getpid()}.abcd1234"
    for d in (dead, alive):
        d.mkdir(parents=True)
        (d / "x.bin").write_bytes(b"0" * 10)
    assert clean_stale_staging(tmp_path) == [dead]
    assert alive.is_dir() and not dead.exists()
