"""The README's CLIP workflow, start to finish, on a tiny random CLIP the test saves itself: import precomputed
CLIP video embeddings (with concept detections) naming the checkpoint, then run the command the README shows:
``run_bench.py --methods clip,clip-adapter,er-clip,er --datasets hmdb51 --features NAME``."""
import json

import numpy as np
import pandas as pd

from clip_fixtures import make_tiny_clip
from test_clip_methods import clip_video_features

from zsar_bench import cli
from zsar_bench.datasets import get_dataset
from zsar_bench.paths import set_data_root


def test_readme_clip_command_on_an_imported_clip_set(tmp_path, capsys):
    weights = make_tiny_clip(tmp_path / "clip")
    ds = get_dataset("hmdb51")
    labels = np.repeat(np.arange(ds.n_classes), 4)
    feats = clip_video_features(str(weights), labels, kind="clusters")
    rng = np.random.default_rng(0)
    pd.DataFrame({"video_id": [f"v{i:04d}" for i in range(len(labels))],
                  "class": [ds.identifiers[c] for c in labels]}).to_csv(tmp_path / "index.csv", index=False)
    np.savez(tmp_path / "clip.npz", features=feats, concept_ids=np.stack([rng.choice(30, 5, replace=False)
                                                                          for _ in labels]),
             concept_scores=np.sort(rng.random((len(labels), 5)), axis=1)[:, ::-1].astype(np.float32))
    (tmp_path / "concepts.tsv").write_text("".join(f"thing {j}\tan object of kind {j}\n" for j in range(30)))
    root = tmp_path / "data"
    try:
        assert cli.main(["import-features", "hmdb51", "clip-tiny", "--from", "generic", str(tmp_path / "clip.npz"),
                         "--index", str(tmp_path / "index.csv"), "--concepts", str(tmp_path / "concepts.tsv"),
                         "--clip-weights", str(weights), "--data-root", str(root)]) == 0
        man = json.loads((root / "features" / "hmdb51" / "clip-tiny" / "manifest.json").read_text())
        assert man["model"]["kind"] == "clip"
        records = tmp_path / "r.jsonl"
        rc = cli.main(["--methods", "clip,clip-adapter,er-clip,er", "--datasets", "hmdb51", "--features", "clip-tiny",
                       "--folds", "0", "--method-args", "clip-adapter.epochs=2,er-clip.epochs=1,er.epochs=1",
                       "--records", str(records), "--data-root", str(root), "--no-report", "--no-progress",
                       "--jobs", "1"])
        assert rc == 0
        rows = [json.loads(line) for line in records.read_text().splitlines()]
        assert sorted(r["method"] for r in rows) == ["clip", "clip-adapter", "er", "er-clip"]
        assert all(r["features_id"].startswith("clip-tiny") and 0.0 <= r["top1"] <= 1.0 for r in rows)
        out = capsys.readouterr().out
        assert "clip-adapter" in out and "er-clip" in out
    finally:
        set_data_root(None)
