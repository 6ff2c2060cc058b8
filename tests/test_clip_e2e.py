"""The README's CLIP workflow, start to finish, on a tiny random CLIP the test saves itself: import precomputed
CLIP video embeddings (with concept detections) naming the checkpoint, then run the command the README shows:
``run_bench.py --methods clip,clip-adapter,er-clip,er --datasets hmdb51 --features NAME``.

The one end-to-end run of the CLIP methods through the harness (tests/test_clip_methods.py tests each method
on its own). The imported embeddings are the tiny CLIP's own prompt-ensembled text embeddings of each clip's
class name plus noise, computed here with transformers directly: zero-shot CLIP then ranks the right class
first for about half the clips, and the recorded metrics of ``clip`` must equal the ones this test computes
from the embeddings it wrote, the split file and the text tower."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from clip_fixtures import make_tiny_clip
from conftest import ROOT

from zsar_bench import cli
from zsar_bench.clip import identity_key, model_identity
from zsar_bench.datasets import get_dataset
from zsar_bench.paths import set_data_root

# CLIP's 28 Kinetics-700 prompts (openai/CLIP data/prompts.md), written out here
TEMPLATES = [f"{lead} {who}{{}}." for lead in ("a photo of", "a video of", "a example of", "a demonstration of")
             for who in ("", "a person ", "a person using ", "a person doing ", "a person during ",
                         "a person performing ", "a person practicing ")]
FOLDS = (0, 1)
METHODS = ["clip", "clip-adapter", "er", "er-clip"]


def ensembled_text_embeddings(weights: str, names: list[str]) -> np.ndarray:
    """[C, D]: each name in every template through the CLIP text tower (transformers, no project code),
    L2-normalised, averaged per name, normalised again."""
    from transformers import CLIPModel, CLIPTokenizer

    model, tok = CLIPModel.from_pretrained(weights).eval(), CLIPTokenizer.from_pretrained(weights)
    prompts = [t.replace("{}", n) for n in names for t in TEMPLATES]
    enc = tok(prompts, padding=True, truncation=True, max_length=model.config.text_config.max_position_embeddings,
              return_tensors="pt")
    with torch.no_grad():
        out = model.get_text_features(**enc)
    out = getattr(out, "pooler_output", out)  # a tensor in transformers 4.x, an output object in 5.x
    emb = F.normalize(out.float(), dim=-1).view(len(names), len(TEMPLATES), -1).mean(1)
    return F.normalize(emb, dim=-1).numpy()


def test_readme_clip_command_on_an_imported_clip_set(tmp_path, capsys):
    weights = make_tiny_clip(tmp_path / "clip")
    ds = get_dataset("hmdb51")
    ids = list(ds.identifiers)
    text = ensembled_text_embeddings(weights, [i.replace("_", " ") for i in ids])  # hmdb51's readable names
    labels = np.repeat(np.arange(len(ids)), 4)
    rng = np.random.default_rng(0)
    x = text[labels] + 0.2 * rng.normal(size=(len(labels), text.shape[1])) / np.sqrt(text.shape[1])
    # stored as float16: write values float16 holds exactly, so the features read back are these
    feats = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16).astype(np.float32)
    pd.DataFrame({"video_id": [f"v{i:04d}" for i in range(len(labels))],
                  "class": [ids[c] for c in labels]}).to_csv(tmp_path / "index.csv", index=False)
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
        assert man["model"]["kind"] == "clip" and man["model"]["key"] == identity_key(model_identity(weights))
        records = tmp_path / "r.jsonl"
        rc = cli.main(["--methods", ",".join(METHODS), "--datasets", "hmdb51", "--features", "clip-tiny",
                       "--folds", f"{FOLDS[0]}-{FOLDS[-1]}",
                       "--method-args", "clip-adapter.epochs=2,er-clip.epochs=1,er.epochs=1",
                       "--records", str(records), "--data-root", str(root), "--no-report", "--no-progress",
                       "--executor", "inline"])  # fit in this process: the README's run, without a worker start
                                                  # per method (test_executors checks the worker processes)
        assert rc == 0
        out = capsys.readouterr().out
    finally:
        set_data_root(None)
    assert "clip-adapter" in out and "er-clip" in out
    rows = {(r["method"], r["fold"]): r for r in map(json.loads, records.read_text().splitlines())}
    assert sorted(rows) == [(m, f) for m in METHODS for f in FOLDS]
    for r in rows.values():
        assert r["features"] == "clip-tiny" and r["features_id"].startswith("clip-tiny")
        assert r["protocol"] == "random-50-50" and r["mode"] == "zsl"
        assert r["n_unseen"] == 25 and r["n_test_videos"] == 100  # 25 unseen classes x 4 clips
        assert all(0.0 <= r[k] <= 1.0 for k in ("top1", "top5", "mean_class_acc"))

    split = json.loads((ROOT / "splits" / "hmdb51" / "random-50-50.json").read_text())
    chance = 1 / 25
    for fold in FOLDS:
        unseen = [ids.index(c) for c in split["folds"][fold]["unseen"]]
        test = np.isin(labels, unseen)
        y = np.array([unseen.index(c) for c in labels[test]])
        v = feats[test] / np.linalg.norm(feats[test], axis=1, keepdims=True)
        s = v @ text[unseen].T  # zero-shot CLIP: cosine with the unseen classes' ensembled text embeddings
        top = np.sort(s, axis=1)
        assert (top[:, -1] - top[:, -2]).min() > 1e-5  # no near-ties: float rounding cannot change an argmax
        rank = (s > s[np.arange(len(y)), y][:, None]).sum(1)
        top1, top5 = float((rank == 0).mean()), float((rank < 5).mean())
        mca = float(np.mean([(rank[y == c] == 0).mean() for c in range(len(unseen))]))
        clip = rows[("clip", fold)]
        assert 0.3 < top1 < 0.9 and top5 < 1.0  # the fixture: well above chance, not everything right
        assert (clip["top1"], clip["top5"], clip["mean_class_acc"]) == pytest.approx((top1, top5, mca), abs=1e-9)
        # clip-adapter starts as zero-shot CLIP and trains two epochs: still far above chance
        assert rows[("clip-adapter", fold)]["top1"] > chance + 0.2
