"""Real feature sets: the Arrow store, the three import layouts (and their failures), extraction from
videos with randomly initialised networks, the class-overlap check.

Everything runs on small generated data in a data root of its own (restored afterwards)."""
import json
from pathlib import Path

import numpy as np
import pytest

from zsar_bench import cli
from zsar_bench.datasets import get_dataset
from zsar_bench.features import FeatureStoreError, list_feature_sets, load_feature_set
from zsar_bench.features.base import TEST, TRAIN, feature_root
from zsar_bench.features.generated_videos import write_sliding_video
from zsar_bench.paths import data_root, set_data_root

DIM = 8


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A data root for this module; the session's is restored afterwards."""
    before = data_root()
    r = tmp_path_factory.mktemp("real-features")
    set_data_root(r)
    yield r
    set_data_root(before)


def _snapshot(r: Path) -> dict:
    """Every file under features/ with its size and mtime, and every folder."""
    base = r / "features"
    return {str(p.relative_to(base)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else "dir"
            for p in base.rglob("*")} if base.exists() else {}


def _generic_source(d: Path, dataset="hmdb51", per_class=4, seed=0, objects=True):
    import pandas as pd

    ds = get_dataset(dataset)
    rng = np.random.default_rng(seed)
    rows, feats = [], []
    for c, (ident, name) in enumerate(zip(ds.identifiers, ds.names)):
        for k in range(per_class):
            # the class column mixes identifiers, readable names and CamelCase-insensitive forms
            rows.append({"video_id": f"{ident}_{k}", "class": [ident, name, name.upper()][k % 3],
                         "partition": "test" if k == per_class - 1 else "train"})
            feats.append(rng.normal(size=DIM) + np.eye(DIM)[c % DIM] * 3)
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(d / "index.csv", index=False)
    arrays = {"features": np.array(feats, np.float32)}
    if objects:
        n = len(rows)
        arrays["concept_ids"] = rng.integers(0, 12, (n, 5))
        arrays["concept_scores"] = -np.sort(-rng.random((n, 5)), axis=1).astype(np.float32)
        (d / "concepts.tsv").write_text("\n".join(f"thing {i}\ta thing numbered {i}" for i in range(12)) + "\n")
    np.savez(d / "feats.npz", **arrays)
    return d / "feats.npz", d / "index.csv", rows, np.array(feats, np.float32)


@pytest.fixture(scope="module")
def generic_set(root, tmp_path_factory):
    d = tmp_path_factory.mktemp("generic")
    npz, index, rows, feats = _generic_source(d)
    rc = cli.main(["import-features", "hmdb51", "gen8", "--from", "generic", str(npz), "--index", str(index),
                   "--concepts", str(d / "concepts.tsv"), "--backbone", "test vectors", "--data-root", str(root)])
    assert rc == 0
    return rows, feats


# ----------------------------------------------------------------------------------------- store
def test_generic_import_round_trip(generic_set, root):
    rows, feats = generic_set
    fs = load_feature_set("hmdb51", "gen8")
    ds = get_dataset("hmdb51")
    assert fs.videos.features.dtype == np.float32 and fs.videos.features.shape == (len(rows), DIM)
    np.testing.assert_array_equal(fs.videos.features, feats.astype(np.float16).astype(np.float32))
    assert [ds.identifiers[i] for i in fs.labels] == [r["video_id"].rsplit("_", 1)[0] for r in rows]
    assert list(fs.videos.video_ids) == [r["video_id"] for r in rows]
    assert (fs.partition == TEST).sum() == ds.n_classes and set(np.unique(fs.partition)) == {TRAIN, TEST}
    assert fs.videos.concept_ids.shape == (len(rows), 5) and len(fs.concepts) == 12
    assert fs.concepts.texts()[3] == "thing 3: a thing numbered 3"
    m = fs.manifest
    assert fs.identity == f"gen8-{m['checksum'][:8]}" and m["n_videos"] == len(rows) and m["dim"] == DIM
    assert m["source"].startswith("generic:") and m["backbone"] == "test vectors"
    from zsar_bench.features.arrow_store import verify_checksum

    assert verify_checksum(fs)
    listed = {r["features"]: r for r in list_feature_sets("hmdb51")}
    assert listed["gen8"]["n_videos"] == len(rows) and listed["gen8"]["dim"] == DIM
    assert not (root / "features" / "hmdb51" / ".staging").exists()


def _runs_end_to_end(dataset, name, root, tmp_path, method="label"):
    """An imported set goes through run_bench.py like the synthetic one; the leaderboard names it. The run trains
    in this process (--executor inline): what is checked is the set's path through the harness, not the worker
    processes (test_executors and test_plugin_isolation check those), whose start would cost more than the run."""
    records, reports = tmp_path / "e2e_records.jsonl", tmp_path / "e2e_reports"
    rc = cli.main(["--methods", method, "--datasets", dataset, "--features", name, "--folds", "0", "--records",
                   str(records), "--reports-dir", str(reports), "--data-root", str(root), "--no-progress",
                   "--method-args", f"{method}.epochs=1", "--executor", "inline"])
    assert rc == 0
    (rec,) = [json.loads(line) for line in records.read_text().splitlines()]
    assert rec["features"] == name and rec["synthetic"] is False
    assert f"features {rec['features_id']}" in (reports / f"{dataset}.md").read_text()


def test_imported_set_runs_end_to_end(generic_set, root, tmp_path):
    records = tmp_path / "records.jsonl"
    rc = cli.main(["--methods", "label", "--datasets", "hmdb51", "--features", "gen8", "--folds", "0",
                   "--records", str(records), "--reports-dir", str(tmp_path / "reports"), "--data-root", str(root),
                   "--no-progress", "--method-args", "label.epochs=2", "--executor", "inline"])  # as above
    assert rc == 0
    (rec,) = [json.loads(line) for line in records.read_text().splitlines()]
    assert rec["features"] == "gen8" and rec["features_id"] == load_feature_set("hmdb51", "gen8").identity
    assert rec["synthetic"] is False and rec["mode"] == "zsl" and 0 <= rec["top1"] <= 1
    assert any((tmp_path / "reports").iterdir())


def test_er_layout_with_metas_objects_and_missing(root, tmp_path, monkeypatch, capsys):
    from zsar_bench.features import importers

    ds = get_dataset("hmdb51")
    feats_dir = tmp_path / "tsm"
    feats_dir.mkdir()
    rng = np.random.default_rng(1)
    trn, tst, preds = [], [], {}
    for c in range(ds.n_classes):
        for k in range(3):
            name = f"{ds.identifiers[c]}_clip{k}"
            (tst if k == 2 else trn).append({"videoname": f"{name}.avi", "nframes": 90, "label": c})
            if not (c == 0 and k == 1):  # one video without a feature file
                np.save(feats_dir / f"{name}.npy", rng.normal(size=(1, DIM)).astype(np.float32))
            if not (c == 1 and k == 0):  # one video without object predictions
                preds[name] = [rng.permutation(30)[:20].tolist(), sorted(rng.random(20).tolist(), reverse=True)]
    np.save(feats_dir / "not_listed.npy", np.zeros((1, DIM), np.float32))
    for fname, recs in (("trn.jsonl", trn), ("tst.jsonl", tst)):
        (tmp_path / fname).write_text("".join(json.dumps(r) + "\n" for r in recs))
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    (tmp_path / "lemmas.txt").write_text("".join(f"Thing_{i}, object_{i}\n" for i in range(30)))
    (tmp_path / "wnids.txt").write_text("".join(f"n{i:08d}\n" for i in range(30)))
    (tmp_path / "classes.json").write_text(json.dumps([{"word": n, "defn": ""} for n in ds.names]))

    args = ["import-features", "hmdb51", "er8", "--from", "er", str(feats_dir), "--metas", str(tmp_path / "trn.jsonl"),
            "--test-metas", str(tmp_path / "tst.jsonl"), "--objects", str(tmp_path / "preds.json"),
            "--bit-lemmas", str(tmp_path / "lemmas.txt"), "--bit-wnids", str(tmp_path / "wnids.txt"),
            "--classes", str(tmp_path / "classes.json"), "--no-progress"]
    monkeypatch.setattr(importers, "wordnet_definitions", lambda ids: None)  # as on a machine without WordNet
    # --strict: the two incomplete videos are an error, and nothing is written
    assert cli.main(args + ["--strict"]) == 2
    err = capsys.readouterr().err
    assert "warning: WordNet is not available" in err and "2 of 153 videos" in err and not feature_root("hmdb51", "er8").exists()

    with pytest.warns(UserWarning, match="WordNet is not available"):
        importers.bit_vocabulary(tmp_path / "lemmas.txt", tmp_path / "wnids.txt")
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "2 of 153 videos" in err and "not listed" in err and "warning: WordNet is not available" in err
    with pytest.warns(UserWarning, match="no WordNet definitions"):
        fs = load_feature_set("hmdb51", "er8")
    assert len(fs.videos) == 151 and fs.videos.concept_ids.shape == (151, 20) and fs.videos.features.shape[1] == DIM
    assert fs.concepts.names[3] == "thing 3, object 3" and fs.concepts.definitions[3] == ""
    assert (fs.partition == TEST).sum() == ds.n_classes
    missing = (feature_root("hmdb51", "er8") / "missing.txt").read_text().split()
    assert sorted(missing) == sorted([f"{ds.identifiers[0]}_clip1", f"{ds.identifiers[1]}_clip0"])
    assert fs.manifest["n_missing"] == 2 and fs.manifest["missing_by_reason"] == {"no feature file": 1,
                                                                                   "no object predictions": 1}
    # with WordNet: ER's "lemma: definition" texts
    monkeypatch.setattr(importers, "wordnet_definitions", lambda ids: [f"definition of {w}" for w in ids])
    assert cli.main(args + ["--overwrite"]) == 0
    fs = load_feature_set("hmdb51", "er8")
    assert fs.concepts.texts()[3] == "thing 3, object 3: definition of n00000003"
    capsys.readouterr()
    _runs_end_to_end("hmdb51", "er8", root, tmp_path, method="er")


def test_er_layout_class_folders(root, tmp_path):
    ds = get_dataset("ucf101")
    for c, ident in enumerate(ds.identifiers):
        # folders by identifier, readable name, or lower-case CamelCase; one vector shape (D,), the rest (1, D)
        d = tmp_path / [ident, ds.names[c], ident.lower()][c % 3]
        d.mkdir()
        np.save(d / f"v_{ident}_g01.npy", np.full((1, DIM) if c else (DIM,), c, np.float32))
    assert cli.main(["import-features", "ucf101", "erf", "--from", "er", str(tmp_path), "--no-progress"]) == 0
    fs = load_feature_set("ucf101", "erf")
    assert fs.concepts is None and fs.partition is None and fs.videos.concept_ids is None
    np.testing.assert_array_equal(fs.videos.features[:, 0], fs.labels.astype(np.float32))
    _runs_end_to_end("ucf101", "erf", root, tmp_path)


def test_hf_layout_dataset_and_dataset_dict(root, tmp_path):
    import datasets

    ds = get_dataset("olympics")
    rng = np.random.default_rng(2)
    n = ds.n_classes * 3
    feat = datasets.Features({"video_id": datasets.Value("string"),
                              "label": datasets.ClassLabel(names=list(ds.names)),
                              "features": datasets.Sequence(datasets.Value("float32")),
                              "concept_ids": datasets.Sequence(datasets.Value("int64")),
                              "concept_scores": datasets.Sequence(datasets.Value("float32"))})
    data = {"video_id": [f"v{i}" for i in range(n)], "label": [i % ds.n_classes for i in range(n)],
            "features": rng.normal(size=(n, DIM)).tolist(), "concept_ids": rng.integers(0, 4, (n, 3)).tolist(),
            "concept_scores": rng.random((n, 3)).tolist()}
    hf = datasets.Dataset.from_dict(data, features=feat)
    hf.save_to_disk(str(tmp_path / "one"))
    (tmp_path / "v.txt").write_text("a\nb\nc\nd\n")
    assert cli.main(["import-features", "olympics", "hf1", "--from", "hf", str(tmp_path / "one"),
                     "--concepts", str(tmp_path / "v.txt")]) == 0
    fs = load_feature_set("olympics", "hf1")
    assert list(fs.labels) == [i % ds.n_classes for i in range(n)] and fs.videos.concept_ids.shape == (n, 3)
    np.testing.assert_allclose(fs.videos.features, np.array(data["features"]), atol=2e-3, rtol=1e-3)
    _runs_end_to_end("olympics", "hf1", root, tmp_path)
    # a DatasetDict with train/test splits becomes one set with a partition column
    split = hf.remove_columns(["concept_ids", "concept_scores"]).train_test_split(test_size=0.25, seed=0)
    split.save_to_disk(str(tmp_path / "dict"))
    assert cli.main(["import-features", "olympics", "hf2", "--from", "hf", str(tmp_path / "dict")]) == 0
    fs2 = load_feature_set("olympics", "hf2")
    assert (fs2.partition == TEST).sum() == len(split["test"]) and fs2.concepts is None
    # a hub id while offline: a clear error, not a network hang
    with pytest.raises(FeatureStoreError, match="offline"):
        from zsar_bench.features.importers import import_hf

        import_hf("olympics", "hf3", "someone/zsar-features")


# ----------------------------------------------------------------------------------------- failures
def _bad_sources(tmp: Path):
    """(name, extra import args, expected message) for sources that must be rejected."""
    import pandas as pd

    npz, index, rows, feats = _generic_source(tmp / "ok", objects=False)
    cases = []

    def variant(tag, mutate_rows=None, mutate_feats=None, drop_class=None):
        d = tmp / tag
        d.mkdir()
        r = [dict(x) for x in rows]
        f = feats.copy()
        if drop_class is not None:
            keep = [i for i, x in enumerate(r) if not x["video_id"].startswith(drop_class + "_")]
            r, f = [r[i] for i in keep], f[keep]
        if mutate_rows:
            mutate_rows(r)
        if mutate_feats:
            f = mutate_feats(f)
        pd.DataFrame(r).to_csv(d / "index.csv", index=False)
        np.save(d / "f.npy", f)
        return [str(d / "f.npy"), "--index", str(d / "index.csv")]

    def unknown(r):
        r[0]["class"], r[5]["class"] = "brushing hair", "teleporting"

    def dup(r):
        r[1]["video_id"] = r[0]["video_id"]

    def nan(f):
        f[3, 2], f[7, 0] = np.nan, np.inf
        return f

    cases.append(("unknown-classes", variant("u", unknown), "2 unknown hmdb51 class names: 'brushing hair' "
                                                             "(did you mean 'brush hair'?), 'teleporting'"))
    cases.append(("nan", variant("n", mutate_feats=nan), "2 videos have NaN or inf features"))
    cases.append(("huge", variant("h", mutate_feats=lambda f: f * 1e5), "beyond the float16 range"))
    cases.append(("duplicates", variant("d", dup), "1 duplicate video ids"))
    cases.append(("empty-class", variant("e", drop_class="golf"), "1 of 51 hmdb51 classes have no videos: golf"))
    cases.append(("int-labels", variant("i", lambda r: [x.update({"class": str(i % 51)}) for i, x in enumerate(r)]),
                  "labels are integers"))
    cases.append(("wrong-rows", variant("w", mutate_feats=lambda f: f[:-1]), "index.csv has 204 rows but the matrix has 203"))
    cases.append(("dim", [str(npz), "--index", str(index), "--dim", "16"], "--dim says 16"))
    return cases


def test_failed_imports_leave_the_store_untouched(root, tmp_path, capsys):
    # an existing set of the same name must survive every failure byte for byte
    npz, index, _, _ = _generic_source(tmp_path / "base", objects=False)
    assert cli.main(["import-features", "hmdb51", "keep", "--from", "generic", str(npz), "--index", str(index)]) == 0
    before = _snapshot(root)
    manifest = (feature_root("hmdb51", "keep") / "manifest.json").read_text()
    for tag, args, message in _bad_sources(tmp_path):
        capsys.readouterr()
        for name, extra in (("keep", ["--overwrite"]), (f"new-{tag}", [])):
            rc = cli.main(["import-features", "hmdb51", name, "--from", "generic", *args, *extra])
            err = capsys.readouterr().err
            assert rc == 2 and message in err, (tag, err)
            assert "Traceback" not in err
            assert _snapshot(root) == before, tag
    # the ER layout: a vector of the wrong dimension is listed by video
    er = tmp_path / "er"
    (er / "golf").mkdir(parents=True)
    np.save(er / "golf" / "a.npy", np.zeros((1, DIM), np.float32))
    np.save(er / "golf" / "b.npy", np.zeros((1, DIM + 1), np.float32))
    (er / "not_a_class").mkdir()
    assert cli.main(["import-features", "hmdb51", "x", "--from", "er", str(er), "--allow-empty-classes"]) == 2
    assert "unknown hmdb51 class names: 'not_a_class'" in capsys.readouterr().err
    (er / "not_a_class").rmdir()
    assert cli.main(["import-features", "hmdb51", "x", "--from", "er", str(er), "--allow-empty-classes",
                     "--no-progress"]) == 2
    assert f"b (1, {DIM + 1})" in capsys.readouterr().err
    # replacing without --overwrite is refused; reserved and odd names too
    assert cli.main(["import-features", "hmdb51", "keep", "--from", "generic", str(npz), "--index", str(index)]) == 2
    assert "already exists" in capsys.readouterr().err
    for bad in ("synthetic", "../escape"):
        assert cli.main(["import-features", "hmdb51", bad, "--from", "generic", str(npz), "--index", str(index)]) == 2
    assert _snapshot(root) == before
    assert (feature_root("hmdb51", "keep") / "manifest.json").read_text() == manifest


def test_crash_while_writing_leaves_the_store_untouched(root, tmp_path, monkeypatch):
    import datasets

    npz, index, _, _ = _generic_source(tmp_path, objects=False)
    before = _snapshot(root)
    real = datasets.Dataset.save_to_disk

    def crash(self, path, **kw):
        real(self, path, **kw)
        raise OSError("disk full")

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", crash)
    from zsar_bench.features.importers import import_generic

    with pytest.raises(OSError, match="disk full"):
        import_generic("hmdb51", "crashy", npz, index=str(index), log=lambda m: None)
    assert _snapshot(root) == before and not feature_root("hmdb51", "crashy").exists()


# ----------------------------------------------------------------------------------------- extraction
def _write_video(path: Path, n_frames: int, seed: int) -> None:
    write_sliding_video(path, n_frames, seed, w=64, h=48, rate=10, shift=3)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    spec = [("BasketballLayup", "v_a", 20), ("basketball layup", "v_b", 6), ("bowling", "v_c", 31)]  # 6 < 8 frames
    for k, (cls, vid, n) in enumerate(spec):
        (d / cls).mkdir(exist_ok=True)
        _write_video(d / cls / f"{vid}.{'avi' if k == 2 else 'mp4'}", n, seed=k)
    return d


SMALL = dict(scale_size=72, crop_size=64, threads=1, random_init=True, allow_empty_classes=True, progress=False,
             log=lambda m: None)


def test_sampling_follows_er():
    from zsar_bench.features.extract import bit_indices, tsm_indices

    assert tsm_indices(300).tolist() == [1 + int(18.75 + 37.5 * k) - 1 for k in range(8)]
    assert tsm_indices(4).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert bit_indices(300).tolist() == np.round(np.linspace(0, 299, 8)).astype(int).tolist()
    assert bit_indices(5).tolist() == [0, 1, 2, 3, 4]


def test_extract_shapes_determinism_and_resume(root, videos):
    from zsar_bench.features.extract import extract_features

    seen = []

    def stop_after_first(done, total):
        seen.append(done)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_features("olympics", "ext-a", videos, batch_size=2, on_batch=stop_after_first, **SMALL)
    assert seen == [2] and not feature_root("olympics", "ext-a").exists()
    resumed = []
    man = extract_features("olympics", "ext-a", videos, batch_size=2, on_batch=lambda d, t: resumed.append((d, t)),
                           **SMALL)
    assert resumed == [(3, 3)]  # only the third video was left
    assert man["n_videos"] == 3 and man["dim"] == 2048 and man["top_k"] == 20
    assert not (feature_root("olympics", "ext-a").parent / ".extract").exists()
    a = load_feature_set("olympics", "ext-a")
    assert a.videos.features.shape == (3, 2048) and np.isfinite(a.videos.features).all()
    assert a.videos.concept_ids.shape == (3, 20) and len(a.concepts) == 21843
    sc = a.videos.concept_scores
    assert ((sc > 0) & (sc < 1)).all() and (np.diff(sc, axis=1) <= 0).all()
    assert [get_dataset("olympics").identifiers[i] for i in a.labels] == ["basketball_layup", "basketball_layup", "bowling"]
    assert list(a.videos.video_ids) == ["v_a", "v_b", "v_c"]
    # an uninterrupted run with the same settings gives the same table, bit for bit (a different batch
    # size may change the last float bits: oneDNN picks kernels by batch shape)
    extract_features("olympics", "ext-b", videos, batch_size=2, **SMALL)
    b = load_feature_set("olympics", "ext-b")
    np.testing.assert_array_equal(a.videos.features, b.videos.features)
    np.testing.assert_array_equal(a.videos.concept_ids, b.videos.concept_ids)
    assert a.manifest["checksum"] == b.manifest["checksum"]
    assert not np.allclose(a.videos.features[0], a.videos.features[2])  # different videos, different features


def test_extract_cli_broken_video_and_settings_change(root, videos, tmp_path, capsys):
    import shutil

    vids = tmp_path / "v"
    shutil.copytree(videos, vids)
    (vids / "bowling" / "broken.mp4").write_bytes(b"\x00not a video" * 50)
    args = ["extract-features", "olympics", "ext-c", "--videos", str(vids), "--random-init", "--no-objects",
            "--threads", "1", "--scale-size", "72", "--crop-size", "64", "--allow-empty-classes", "--no-progress",
            "--device", "cpu"]
    before = _snapshot(root)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "1 of 4 videos could not be decoded: broken" in err and "--allow-missing" in err
    assert not feature_root("olympics", "ext-c").exists()
    # other settings cannot silently mix with the unfinished shards
    assert cli.main(args[:-2] + ["--crop-size", "56", "--device", "cpu"]) == 2
    assert "other settings (crop)" in capsys.readouterr().err
    assert cli.main(args + ["--allow-missing"]) == 0
    out = capsys.readouterr()
    assert "resuming: 3 of 4" in out.err and "1 missing" in out.out
    fs = load_feature_set("olympics", "ext-c")
    assert len(fs.videos) == 3 and fs.videos.concept_ids is None
    assert (feature_root("olympics", "ext-c") / "missing.txt").read_text().split() == ["broken"]
    new = {k for k in set(_snapshot(root)) - set(before) if not k.startswith("olympics/ext-c")}
    assert new == set(), new  # no staging or shard leftovers
    # weights are required unless --random-init is explicit
    assert cli.main(["extract-features", "olympics", "ext-d", "--videos", str(vids), "--allow-empty-classes"]) == 2
    assert "--weights-tsm" in capsys.readouterr().err


def test_checkpoints_load_strictly(tmp_path):
    import torch

    from zsar_bench.features.backbones import BiTResNetV2, convert_bit_npz, load_bit, load_tsm

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # random networks: denormal activations make CPU kernels crawl
    try:
        _check_checkpoints(tmp_path)
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(threads)


def _check_checkpoints(tmp_path):
    import torch

    from zsar_bench.features.backbones import BiTResNetV2, convert_bit_npz, load_bit, load_tsm

    tsm = load_tsm(random_init=True)
    ckpt = {"epoch": 100, "arch": "resnet50",
            "state_dict": {f"module.{k}": v for k, v in tsm.state_dict().items() if "num_batches" not in k}}
    torch.save(ckpt, tmp_path / "tsm.pth")
    loaded = load_tsm(tmp_path / "tsm.pth")
    x = torch.randn(8, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.features(x), tsm.features(x))
    assert loaded.base_model.layer1[0].conv1.net.weight.shape == (64, 64, 1, 1)
    torch.save({"state_dict": {"module.base_model.conv1.weight": torch.zeros(64, 3, 7, 7)}}, tmp_path / "bad.pth")
    with pytest.raises(FeatureStoreError, match="missing keys"):
        load_tsm(tmp_path / "bad.pth")
    # Google's BiT .npz layout (HWIO kernels under resnet/...) converts to the timm key layout
    bit = BiTResNetV2(num_classes=10)
    sd = bit.state_dict()
    hwio = lambda t: t.numpy().transpose(2, 3, 1, 0) if t.ndim == 4 else t.numpy()  # noqa: E731
    npz = {"resnet/root_block/standardized_conv2d/kernel": hwio(sd["stem.conv.weight"]),
           "resnet/group_norm/gamma": hwio(sd["norm.weight"]), "resnet/group_norm/beta": hwio(sd["norm.bias"]),
           "resnet/head/conv2d/kernel": hwio(sd["head.fc.weight"]), "resnet/head/conv2d/bias": hwio(sd["head.fc.bias"])}
    for i, depth in enumerate((3, 4, 6, 3)):
        for j in range(depth):
            b, bp = f"stages.{i}.blocks.{j}.", f"resnet/block{i + 1}/unit{j + 1:02d}/"
            for k, letter in ((1, "a"), (2, "b"), (3, "c")):
                npz[f"{bp}{letter}/standardized_conv2d/kernel"] = hwio(sd[f"{b}conv{k}.weight"])
                npz[f"{bp}{letter}/group_norm/gamma"] = hwio(sd[f"{b}norm{k}.weight"])
                npz[f"{bp}{letter}/group_norm/beta"] = hwio(sd[f"{b}norm{k}.bias"])
            if j == 0:
                npz[f"{bp}a/proj/standardized_conv2d/kernel"] = hwio(sd[f"{b}downsample.conv.weight"])
    other = BiTResNetV2(num_classes=10)
    other.load_state_dict(convert_bit_npz(npz), strict=True)
    np.savez(tmp_path / "bit.npz", **npz)
    via_file = load_bit(tmp_path / "bit.npz")
    with torch.inference_mode():
        torch.testing.assert_close(other(x), bit(x))
        torch.testing.assert_close(via_file(x), bit(x))


# ----------------------------------------------------------------------------------------- overlap
def test_overlap_lists_and_packaged_data(tmp_path):
    import sys

    from conftest import ROOT
    from zsar_bench.overlap import find_overlap, load_overlap

    sys.path.insert(0, str(ROOT / "scripts"))
    import make_overlap

    make_overlap.main(tmp_path)
    for ds in ("hmdb51", "ucf101"):
        packaged = ROOT / "zsar_bench" / "data" / "overlap" / f"k400_{ds}.json"
        assert (tmp_path / f"k400_{ds}.json").read_bytes() == packaged.read_bytes()
        assert load_overlap("k400", ds)["overlap"] == find_overlap("k400", ds)
    hmdb = {e["identifier"] for e in load_overlap("k400", "hmdb51")["overlap"]}
    ucf = {e["identifier"] for e in load_overlap("k400", "ucf101")["overlap"]}
    assert {"pushup", "situp", "ride_bike", "hug", "kiss", "somersault"} <= hmdb
    assert {"golf", "walk", "fencing"}.isdisjoint(hmdb)
    assert {"Archery", "PlayingGuitar", "CliffDiving", "SkyDiving", "ThrowDiscus", "Skijet"} <= ucf
    assert {"ApplyEyeMakeup", "Drumming", "Surfing"}.isdisjoint(ucf)


def test_exclude_overlap_protocol():
    from zsar_bench.overlap import exclude_overlap, overlapping_identifiers
    from zsar_bench.splits import SplitError, load_protocol

    pr = load_protocol("hmdb51", "random-50-50")
    ex = exclude_overlap(pr, "k400")
    drop = set(overlapping_identifiers("k400", "hmdb51"))
    assert ex.protocol == "random-50-50-no-k400" and len(ex.folds) == len(pr.folds)
    assert ex.sha256 != pr.sha256 and ex.sha256 == exclude_overlap(pr, "k400").sha256
    assert ex.short_hash != pr.short_hash
    for f, g in zip(pr.folds, ex.folds):
        assert not drop & (set(g.seen) | set(g.val) | set(g.unseen))
        assert set(g.seen) | set(g.unseen) == (set(f.seen) | set(f.unseen)) - drop
    other = exclude_overlap(load_protocol("hmdb51", "e2e10"), "k400")
    assert other.protocol == "e2e10-no-k400" and other.sha256 != ex.sha256
    with pytest.raises(SplitError, match="no built-in class list .* --names FILE"):
        exclude_overlap(pr, "imagenet")


def test_overlap_cli_writes_report(tmp_path, capsys):
    assert cli.main(["overlap", "k400", "ucf101", "--reports-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    md = (tmp_path / "overlap_k400_ucf101.md").read_text()
    assert "PlayingGuitar" in out and "| PlayingGuitar" in md and "Related, not excluded" in md
    assert cli.main(["overlap", "k700", "ucf101", "--reports-dir", str(tmp_path)]) == 2


def test_help_texts(capsys):
    for cmd in ("import-features", "extract-features", "overlap"):
        with pytest.raises(SystemExit) as e:
            cli.main([cmd, "--help"])
        assert e.value.code == 0
        assert "--data-root" in capsys.readouterr().out



def test_a_set_imported_again_during_a_sweep_fails_its_runs_instead_of_scoring_other_clips(root, tmp_path):
    """Before: workers loaded the new set and scored its clips against the old set's labels: about chance on every
    fold, recorded under the old identity. Now the driver hands each run the content it planned on, and a worker
    that loads another content refuses the run in one line."""
    from zsar_bench.features import load_feature_set
    from zsar_bench.running.runner import RunSpec, with_rows
    from zsar_bench.running.worker import RunFailure, _run_batch
    from zsar_bench.splits import load_protocol

    npz, index, _, _ = _generic_source(tmp_path / "a", seed=0, objects=False)
    assert cli.main(["import-features", "hmdb51", "twice", "--from", "generic", str(npz), "--index", str(index),
                     "--data-root", str(root)]) == 0
    pr = load_protocol("hmdb51", "random-50-50")
    fs = load_feature_set("hmdb51", "twice")
    spec = with_rows(RunSpec("chance", {}, "hmdb51", "twice", pr, pr.folds[0], 0), fs)  # the driver's view
    (out,) = _run_batch([spec])
    assert not isinstance(out, RunFailure), out  # the same content: the run goes
    npz, index, _, _ = _generic_source(tmp_path / "b", seed=1, objects=False)  # imported again meanwhile
    assert cli.main(["import-features", "hmdb51", "twice", "--from", "generic", str(npz), "--index", str(index),
                     "--data-root", str(root), "--overwrite"]) == 0
    from zsar_bench.running import runner

    runner._feature_cache.clear()  # a worker started after the import
    (out,) = _run_batch([spec])
    assert isinstance(out, RunFailure) and "changed since this sweep loaded it" in out.message()
