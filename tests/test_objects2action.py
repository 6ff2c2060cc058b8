"""objects2action (Jain et al., ICCV 2015): hand-computed scores on a tiny vocabulary with hand-made word
vectors, the two sparsifications, no use of the training clips, and a run on an imported feature set."""
import json

import numpy as np
import pytest

from zsar_bench import cli
from zsar_bench.datasets import get_dataset
from zsar_bench.method import FitContext, ParamError, build_method
from zsar_bench.paths import data_root, set_data_root
from zsar_bench.types import ClassInfo, ConceptVocabulary, FitData, LabelledVideos, Videos

pytestmark = pytest.mark.usefixtures("plugins")

# 2-d word vectors: class "kick ball" = (1, 0), "climb rope" = (0, 1); objects ball (1, 0), rope (0, 1), net (.6, .8)
VECTORS = {"ball": (1.0, 0.0), "rope": (0.0, 1.0), "net": (0.6, 0.8), "kick": (1.0, 0.0), "climb": (0.0, 1.0)}
CLASSES = [ClassInfo("kick_ball", "kick ball"), ClassInfo("climb_rope", "climb rope")]
CONCEPTS = ConceptVocabulary(("ball", "rope", "net"), ("", "", ""), source="test")
# clip A detects ball .5, net .3, rope .2; clip B rope .1, net .7, ball .2 (not sorted by score on purpose)
IDS = np.array([[0, 2, 1], [1, 2, 0]])
SCORES = np.array([[0.5, 0.3, 0.2], [0.1, 0.7, 0.2]], np.float32)


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    p = tmp_path_factory.mktemp("o2a") / "tiny.txt"
    p.write_text(f"{len(VECTORS)} 2\n" + "".join(f"{w} {a} {b}\n" for w, (a, b) in VECTORS.items()))
    return str(p)


def _fitted(vectors, **params):
    m = build_method("objects2action", {"semantic": vectors, **params})
    train = LabelledVideos(Videos(np.zeros((2, 4), np.float32), IDS, SCORES), np.array([0, 1]), CLASSES)
    return m.fit(FitData(train, concepts=CONCEPTS), FitContext())


@pytest.mark.parametrize("per_class,per_video,expected", [
    # affinities: ball (1, 0), rope (0, 1), net (.6, .8); 2 objects per class drop rope from kick, ball from climb
    (2, 2, [[0.5 + 0.3 * 0.6, 0.3 * 0.8], [0.7 * 0.6 + 0.2, 0.7 * 0.8]]),      # B: top-2 detections net, ball
    (2, 3, [[0.5 + 0.3 * 0.6, 0.3 * 0.8 + 0.2], [0.7 * 0.6 + 0.2, 0.7 * 0.8 + 0.1]]),  # B now prefers climb
    (1, 2, [[0.5, 0.0], [0.2, 0.0]]),                                          # one object per class: ball, rope
    (3, 3, [[0.5 + 0.3 * 0.6, 0.3 * 0.8 + 0.2], [0.7 * 0.6 + 0.2, 0.7 * 0.8 + 0.1]]),  # rope-kick affinity is 0
])
def test_known_answers(vectors, per_class, per_video, expected):
    m = _fitted(vectors, objects_per_class=per_class, objects_per_video=per_video)
    s = m.score(Videos(np.zeros((2, 4), np.float32), IDS, SCORES), CLASSES)
    np.testing.assert_allclose(s, expected, atol=1e-6)
    flipped = m.score(Videos(np.zeros((2, 4), np.float32), IDS, SCORES), CLASSES[::-1])
    np.testing.assert_allclose(flipped, np.asarray(expected)[:, ::-1], atol=1e-6)


def test_training_clips_are_not_read(vectors):
    """A training-free method: other training clips, labels or classes give the same scores."""
    a = _fitted(vectors)
    b = build_method("objects2action", {"semantic": vectors})
    other = LabelledVideos(Videos(np.ones((3, 4), np.float32), np.array([[2, 1, 0]] * 3), np.ones((3, 3), np.float32)),
                           np.array([0, 0, 0]), [ClassInfo("x", "something else")])
    b.fit(FitData(other, concepts=CONCEPTS), FitContext(seed=7))
    videos = Videos(np.zeros((2, 4), np.float32), IDS, SCORES)
    np.testing.assert_array_equal(a.score(videos, CLASSES), b.score(videos, CLASSES))


def test_refusals(vectors):
    with pytest.raises(ParamError, match="word vectors"):
        build_method("objects2action", {"semantic": "text:minilm"})
    with pytest.raises(ParamError, match="at least 1"):
        build_method("objects2action", {"objects_per_video": 0})
    m = build_method("objects2action", {"semantic": vectors})
    no_concepts = LabelledVideos(Videos(np.zeros((2, 4), np.float32)), np.array([0, 1]), CLASSES)
    with pytest.raises(ValueError, match="concept detections"):
        m.fit(FitData(no_concepts, concepts=None), FitContext())


def test_listed_with_its_parameters(capsys):
    assert cli.main(["list", "methods"]) == 0
    out = capsys.readouterr().out
    assert "objects2action" in out and "objects_per_class" in out


def test_runs_on_an_imported_set_with_concepts(tmp_path):
    """Olympics clips whose detections are the words of their own class name (scores .6 / .4 / ...): with no
    training, objects2action must find most classes; the run goes through run_bench.py like any other."""
    import pandas as pd

    before = data_root()
    set_data_root(tmp_path / "root")
    try:
        ds = get_dataset("olympics")
        words = sorted({w for n in ds.names for w in n.split()})
        rows, ids, scores = [], [], []
        for ident, name in zip(ds.identifiers, ds.names):
            own = [words.index(w) for w in name.split()]
            for k in range(3):
                rows.append({"video_id": f"{ident}_{k}", "class": ident})
                others = [j for j in range(len(words)) if j not in own][k:k + 5 - len(own)]
                ids.append((own + others)[:5])
                scores.append([0.6, 0.4, 0.05, 0.03, 0.01] if len(own) > 1 else [0.6, 0.1, 0.05, 0.03, 0.01])
        pd.DataFrame(rows).to_csv(tmp_path / "index.csv", index=False)
        (tmp_path / "concepts.tsv").write_text("".join(f"{w}\t\n" for w in words))
        np.savez(tmp_path / "f.npz", features=np.random.default_rng(0).normal(size=(len(rows), 8)).astype(np.float32),
                 concept_ids=np.array(ids), concept_scores=np.array(scores, np.float32))
        assert cli.main(["import-features", "olympics", "words", "--from", "generic", str(tmp_path / "f.npz"),
                         "--index", str(tmp_path / "index.csv"), "--concepts", str(tmp_path / "concepts.tsv")]) == 0
        records = tmp_path / "records.jsonl"
        assert cli.main(["--methods", "objects2action", "--datasets", "olympics", "--features", "words", "--folds",
                         "0", "--records", str(records), "--reports-dir", str(tmp_path / "reports"),
                         "--no-progress", "--executor", "inline"]) == 0
        (rec,) = [json.loads(line) for line in records.read_text().splitlines()]
        assert rec["method"] == "objects2action" and rec["features"] == "words" and rec["synthetic"] is False
        assert rec["top1"] >= 0.75, rec["top1"]
    finally:
        set_data_root(before)
