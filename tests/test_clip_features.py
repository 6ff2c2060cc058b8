"""CLIP feature sets: ``extract-features --backbone clip`` from generated videos with a tiny random CLIP
(tests/clip_fixtures.py), and ``import-features --clip-weights``. CPU only, a few seconds."""
import json
from pathlib import Path

import numpy as np
import pytest

from clip_fixtures import make_tiny_clip
from test_features_real import _write_video  # the same small generated videos as the TSM tests
from zsar_bench import cli
from zsar_bench.clip import encode_clip_frames, identity_key, load_clip, model_identity
from zsar_bench.datasets import get_dataset
from zsar_bench.features import FeatureStoreError, load_feature_set
from zsar_bench.features.base import feature_root
from zsar_bench.features.extract import decode_sampled
from zsar_bench.paths import data_root, set_data_root

DATASET = "hmdb51"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A data root for this module; the session's is restored afterwards."""
    before = data_root()
    r = tmp_path_factory.mktemp("clip-features")
    set_data_root(r)
    yield r
    set_data_root(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_clip(tmp_path_factory.mktemp("tiny-clip"), seed=0)


@pytest.fixture(scope="module")
def bundle(tiny):
    return load_clip(tiny, "cpu")


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """3 hmdb51 classes x 2 videos of 16 frames (48x64), plus one of 5 frames (fewer than the 8 sampled)."""
    d = tmp_path_factory.mktemp("clip-videos")
    classes = get_dataset(DATASET).identifiers[:3]
    k = 0
    for c in classes:
        (d / c).mkdir()
        for j in range(2):
            _write_video(d / c / f"{c}_{j}.mp4", 16, seed=10 + k)
            k += 1
    _write_video(d / classes[0] / f"{classes[0]}_short.avi", 5, seed=99)
    return d


def _paths(videos: Path) -> dict[str, Path]:
    return {p.stem: p for p in videos.rglob("*") if p.is_file()}


def _direct(bundle, videos: Path, ids) -> np.ndarray:
    """The reference: the project's decoder (ER's BiT frames = CLIP's 8 frames) and encode_clip_frames."""
    paths = _paths(videos)
    frames = []
    for v in ids:
        stack, _, b_rows, _ = decode_sampled(str(paths[v]))
        frames.append(stack[b_rows])
    return encode_clip_frames(bundle, frames, batch_size=64)


def _args(name, videos, tiny, root, *more):
    return ["extract-features", DATASET, name, "--videos", str(videos), "--backbone", "clip", "--weights", str(tiny),
            "--data-root", str(root), "--allow-empty-classes", "--no-progress", "--device", "cpu", "--threads", "1",
            *more]


# ------------------------------------------------------------------------------------------ extraction
def test_extract_clip_cli_manifest_and_features(root, tiny, bundle, videos, capsys):
    assert cli.main(_args("clip-a", videos, tiny, root)) == 0
    out = capsys.readouterr()
    fs = load_feature_set(DATASET, "clip-a")
    m = fs.manifest
    identity = model_identity(tiny)
    assert m["model"] == {"kind": "clip", "key": identity_key(identity), "identity": identity}
    assert m["model"]["key"] == bundle.key and m["model"]["identity"]["kind"] == "path"
    assert m["dim"] == 16 == bundle.dim and m["n_videos"] == 7
    assert m["backbone"].startswith("CLIP ViT-w32d2/8 32px, 16-d") and "8 frames averaged" in m["backbone"]
    assert m["top_k"] is None and m["n_concepts"] is None and fs.videos.concept_ids is None and fs.concepts is None
    ext = m["extraction"]
    assert ext["backbone"] == "clip" and ext["objects"] is False and ext["frames"] == 8
    assert ext["clips_this_run"] == 7 and ext["clips_per_s"] > 0 and ext["frames_per_s"] > 0
    assert "videos/s" in out.err and f"CLIP model {bundle.key}" in out.out and "--methods clip" in out.out
    # rows: sorted by (class, id); features: the direct computation, up to float16 storage
    ds = get_dataset(DATASET)
    ids = list(fs.videos.video_ids)
    assert [ds.identifiers[i] for i in fs.labels] == [v.rsplit("_", 1)[0] for v in ids]
    direct = _direct(bundle, videos, ids)
    np.testing.assert_allclose(fs.videos.features, direct, rtol=2 ** -10, atol=2 ** -14)
    np.testing.assert_allclose(np.linalg.norm(fs.videos.features, axis=1), 1, atol=2e-3)
    assert not (feature_root(DATASET, "clip-a").parent / ".extract").exists()


def test_clip_float32_features_resume_and_overwrite(root, tiny, bundle, videos):
    """Through the engine with its hooks: the float32 features (read from the shards) equal
    encode_clip_frames to 1e-5; an interrupted run resumes; reruns follow the TSM path's rules."""
    from zsar_bench.features.extract_clip import extract_clip_features

    stage = feature_root(DATASET, "clip-b").parent / ".extract" / "clip-b"
    kw = dict(weights=tiny, batch_size=3, threads=1, allow_empty_classes=True, progress=False, log=lambda m: None)
    seen = []

    def stop_after_first(done, total):
        seen.append((done, total))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_clip_features(DATASET, "clip-b", videos, on_batch=stop_after_first, **kw)
    assert seen == [(3, 7)] and not feature_root(DATASET, "clip-b").exists()
    assert json.loads((stage / "config.json").read_text())["model"] == bundle.key
    shards = {}

    def keep_shards(done, total):
        seen.append((done, total))
        for f in stage.glob("shard-*.npz"):
            z = np.load(f)
            shards.update(zip(z["video_ids"].tolist(), z["features"]))

    logs = []
    man = extract_clip_features(DATASET, "clip-b", videos, on_batch=keep_shards, **{**kw, "log": logs.append})
    assert seen[1:] == [(6, 7), (7, 7)]  # only the four videos left
    assert any(line.startswith("resuming: 3 of 7") for line in logs)
    assert man["extraction"]["clips_this_run"] == 4 and man["model"]["key"] == bundle.key
    ids = sorted(shards)
    assert len(ids) == 7
    np.testing.assert_allclose(np.stack([shards[v] for v in ids]), _direct(bundle, videos, ids), atol=1e-5, rtol=0)
    # the same name again: refused without --overwrite; with it, the same table (deterministic)
    with pytest.raises(FeatureStoreError, match="already exists.*--overwrite"):
        extract_clip_features(DATASET, "clip-b", videos, **kw)
    again = extract_clip_features(DATASET, "clip-b", videos, overwrite=True, **kw)
    assert again["checksum"] == man["checksum"] and again["model"] == man["model"]


def test_clip_settings_change_and_restart(root, tiny, videos, tmp_path, capsys):
    """Unfinished shards of one checkpoint never mix with another's; --restart discards them."""
    vids = tmp_path / "v"
    import shutil

    shutil.copytree(videos, vids)
    first = sorted(vids.iterdir())[0]
    (first / "broken.mp4").write_bytes(b"\x00not a video" * 50)
    assert cli.main(_args("clip-c", vids, tiny, root)) == 2
    assert "1 of 8 videos could not be decoded: broken" in capsys.readouterr().err
    other = make_tiny_clip(tmp_path / "other-clip", seed=1)
    assert cli.main(_args("clip-c", vids, other, root, "--allow-missing")) == 2
    assert "other settings (model)" in capsys.readouterr().err
    assert cli.main(_args("clip-c", vids, other, root, "--allow-missing", "--restart")) == 0
    out = capsys.readouterr()
    assert "resuming" not in out.err and "1 missing" in out.out
    fs = load_feature_set(DATASET, "clip-c")
    assert fs.manifest["model"]["key"] == load_clip(other).key and len(fs.videos) == 7
    assert (feature_root(DATASET, "clip-c") / "missing.txt").read_text().split() == ["broken"]


@pytest.mark.parametrize("weights, extra, message", [
    (False, (), "--backbone clip needs --weights"),
    (True, ("--weights-tsm", "tsm.pth"), "--weights-tsm applies to --backbone tsm-bit only"),
    (True, ("--random-init", "--bit-lemmas", "l.txt"), "--bit-lemmas, --random-init apply to --backbone tsm-bit only"),
    (True, ("--crop-size", "64"), "--crop-size applies to --backbone tsm-bit only"),
])
def test_clip_option_errors(root, tiny, videos, capsys, weights, extra, message):
    args = _args("clip-err", videos, tiny, root, *extra)
    if not weights:
        args = [a for a in args if a not in ("--weights", str(tiny))]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: "), err
    assert not feature_root(DATASET, "clip-err").exists()
    assert not (feature_root(DATASET, "clip-err").parent / ".extract" / "clip-err").exists()


def test_weights_option_belongs_to_clip(root, tiny, videos, tmp_path, capsys):
    assert cli.main(["extract-features", DATASET, "x", "--videos", str(videos), "--weights", str(tiny),
                     "--random-init"]) == 2
    assert "--weights is the CLIP checkpoint of --backbone clip" in capsys.readouterr().err
    # not a checkpoint: a clear one-line error, nothing written
    (tmp_path / "empty").mkdir()
    assert cli.main(_args("clip-x", videos, tmp_path / "empty", root)) == 2
    assert "no CLIP checkpoint at" in capsys.readouterr().err
    assert not (feature_root(DATASET, "clip-x").parent / ".extract" / "clip-x").exists()


# ------------------------------------------------------------------------------------------ import
def _generic(d: Path, dim: int, n_per_class=2):
    import pandas as pd

    classes = get_dataset(DATASET).identifiers[:3]
    rows = [{"video_id": f"{c}_{j}", "label": c} for c in classes for j in range(n_per_class)]
    x = np.random.default_rng(0).normal(size=(len(rows), dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(d / "index.csv", index=False)
    np.save(d / "feats.npy", x)
    return d / "feats.npy", d / "index.csv", x


def test_import_with_clip_weights(root, tiny, bundle, tmp_path, capsys):
    npy, index, x = _generic(tmp_path / "ok", 16)
    base = ["import-features", DATASET, "clip-imp", str(npy), "--from", "generic", "--index", str(index),
            "--allow-empty-classes", "--data-root", str(root), "--no-progress"]
    assert cli.main(base + ["--clip-weights", str(tiny)]) == 0
    m = load_feature_set(DATASET, "clip-imp").manifest
    assert m["model"] == {"kind": "clip", "key": bundle.key, "identity": model_identity(tiny)}
    assert m["backbone"].startswith("CLIP ViT-w32d2/8") and m["backbone"].endswith("(imported)")
    # er layout (class folders of per-video .npy), with a description of one's own
    er = tmp_path / "er"
    for i, c in enumerate(get_dataset(DATASET).identifiers[:2]):
        (er / c).mkdir(parents=True)
        np.save(er / c / f"v{i}.npy", x[i:i + 1])
    assert cli.main(["import-features", DATASET, "clip-er", str(er), "--from", "er", "--clip-weights", str(tiny),
                     "--backbone", "my CLIP", "--allow-empty-classes", "--data-root", str(root)]) == 0
    m = load_feature_set(DATASET, "clip-er").manifest
    assert m["model"]["key"] == bundle.key and m["backbone"] == "my CLIP"
    capsys.readouterr()
    # another dimension than the checkpoint's projection_dim: refused, nothing written
    npy8, index8, _ = _generic(tmp_path / "bad", 8)
    assert cli.main(["import-features", DATASET, "clip-bad", str(npy8), "--from", "generic", "--index", str(index8),
                     "--clip-weights", str(tiny), "--allow-empty-classes", "--data-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "features have dimension 8" in err and "embeds in 16 dimensions (projection_dim)" in err
    assert not feature_root(DATASET, "clip-bad").exists()
    # a missing folder is an error, not a hub id
    assert cli.main(base[:2] + ["clip-miss"] + base[3:] + ["--clip-weights", str(tmp_path / "nowhere")]) == 2
    assert "no CLIP checkpoint at" in capsys.readouterr().err


def test_import_with_uncached_hub_id(root, tmp_path, capsys):
    npy, index, _ = _generic(tmp_path / "hub", 16)
    assert cli.main(["import-features", DATASET, "clip-hub", str(npy), "--from", "generic", "--index", str(index),
                     "--clip-weights", "nobody/no-such-clip", "--allow-empty-classes", "--data-root", str(root)]) == 0
    assert "not in the local Hugging Face cache" in capsys.readouterr().err
    m = load_feature_set(DATASET, "clip-hub").manifest
    identity = {"kind": "hub", "id": "nobody/no-such-clip", "revision": "unknown"}
    assert m["model"] == {"kind": "clip", "key": "clip:nobody/no-such-clip@unknown", "identity": identity}
