"""The classic baselines as ER compared them: defaults from ER's released baseline configs, the
fidelity record of every baseline, 300-d word vectors given by path (GloVe text, word2vec binary),
and E2E's class-name preprocessing (``w2v`` with ``name_prep=e2e``)."""
import re

import numpy as np
import pytest

from conftest import reference
from zsar_bench.models.semantic import class_semantics, l2_rows
from zsar_bench.datasets import get_dataset
from zsar_bench.method import METHODS, FitContext, Ingredient, build_method
from zsar_bench.plugins import load_plugins
from zsar_bench.text import wordvectors as wv
from zsar_bench.types import ClassInfo, FitData, LabelledVideos, Videos

WORD_VECTOR_BASELINES = ["w2v", "devise", "ale", "sje", "eszsl", "sae", "conse", "dem"]
ALL_BASELINES = WORD_VECTOR_BASELINES + ["label"]
QUICK = {"w2v": {"epochs": 2}, "devise": {"epochs": 2}, "ale": {"epochs": 2}, "sje": {"epochs": 2},
         "eszsl": {"alpha": 1.0}, "sae": {}, "conse": {"epochs": 2}, "dem": {"epochs": 2}}


@pytest.fixture(scope="module", autouse=True)
def _plugins():
    load_plugins()


def defaults(name):
    return METHODS.get(name).param_defaults()


# -- defaults as in ER's release ------------------------------------------------------------------
def test_defaults_are_er_config_values():
    """The values of zeroshot/configs/zsl_baseline_*_config.yaml, written out (checked against the
    files themselves below when ../shared is present)."""
    for name in ("devise", "ale", "sje"):
        d = defaults(name)
        assert (d["margin"], d["dropout"], d["batch_size"], d["epochs"], d["weight_decay"]) == (0.1, 0.5, 128, 30, 0.0)
    d = defaults("dem")
    assert (d["hidden"], d["dropout"], d["reg"], d["batch_size"], d["epochs"]) == (512, 0.5, 1e-5, 128, 30)
    assert (defaults("eszsl")["alpha"], defaults("eszsl")["gamma"]) == (3.0, 0.0)


@pytest.mark.parametrize("name", ["devise", "ale", "sje", "dem"])
def test_defaults_match_the_released_config_files(name):
    yaml = pytest.importorskip("yaml")
    cfg = yaml.safe_load(reference(f"code/zeroshot/configs/zsl_baseline_{name}_config.yaml").read_text())["config"]
    d = defaults(name)
    assert d["dropout"] == cfg["model"]["dropout"]
    assert d["batch_size"] == cfg["trainer"]["batch_size"] and d["epochs"] == cfg["trainer"]["num_epochs"]
    assert cfg["trainer"]["clip_gradient"] == 10  # the common trainer's grad_clip
    if name == "dem":
        assert d["hidden"] == cfg["model"]["t2vfc"]["hidden_size"]
        assert d["reg"] == cfg["model"]["t2vfc"]["weight_decay"]
    else:
        assert d["margin"] == cfg["trainer"]["loss"]["margin"]
        assert "weight_decay" not in cfg["model"]["bilinear"] and d["weight_decay"] == 0.0
        reduction = {"devise": ("sum", False), "ale": ("weighted", False), "sje": ("sum", True)}[name]
        assert (cfg["trainer"]["loss"]["reduction"], cfg["trainer"]["loss"]["max_violation"]) == reduction


def test_eszsl_defaults_match_the_released_closed_form():
    code = reference("code/zeroshot/models/baselines.py").read_text()
    m = re.search(r"def closed_form_optimization\(self, X, Y, S, alpha=([\d.]+), gamma=([\d.-]+)\)", code)
    assert m, "ER's ESZSL signature moved"
    assert (defaults("eszsl")["alpha"], defaults("eszsl")["gamma"]) == (float(m.group(1)), float(m.group(2)))


def test_dropout_must_be_a_rate():
    for name in ("ale", "dem"):
        with pytest.raises(ValueError, match="dropout"):
            build_method(name, {"dropout": "1.0"})
        with pytest.raises(ValueError, match="dropout"):
            build_method(name, {"dropout": "-0.1"})
        assert build_method(name, {"dropout": "0"}).dropout == 0.0


# -- the fidelity record --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_BASELINES)
def test_every_baseline_records_its_published_ingredients(name):
    cls = METHODS.get(name)
    assert len(cls.fidelity) >= 4
    names = [i.name for i in cls.fidelity]
    assert len(set(names)) == len(names), f"{name}: an ingredient is listed twice"
    for i in cls.fidelity:
        assert isinstance(i, Ingredient) and isinstance(i.same, bool)
        assert i.name and i.published and i.ours and i.source
        if not i.same:
            assert i.why, f"{name}/{i.name}: a difference needs its reason"
    if name in WORD_VECTOR_BASELINES:
        assert defaults(name)["semantic"] == "glove50"  # the offline default; a path names other vectors


@pytest.mark.parametrize("name", ["devise", "ale", "sje", "dem", "eszsl"])
def test_er_baselines_cite_the_release_file_their_values_come_from(name):
    sources = " ".join(i.source for i in METHODS.get(name).fidelity)
    assert "zeroshot/models/baselines.py" in sources
    if name != "eszsl":  # ESZSL's config sets no model options: its values are the function's defaults
        assert f"zeroshot/configs/zsl_baseline_{name}_config.yaml" in sources
        margin_or_width = [i for i in METHODS.get(name).fidelity if i.name in ("margin", "hidden width")]
        assert margin_or_width and all(i.same for i in margin_or_width)


# -- 300-d word vectors given by path -------------------------------------------------------------
N_SEEN, D = 8, 40


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Eight seen classes with random 300-d word vectors; four unseen ones at the midpoints of seen
    pairs; clips are a fixed linear map of their class vector plus noise. The vectors are written as
    a GloVe 42B-style text file (no header) and as a word2vec binary (as GoogleNews is) with gensim."""
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(3)
    seen = l2_rows(rng.standard_normal((N_SEEN, 300)))
    vecs = np.concatenate([seen, l2_rows(seen[0::2] + seen[1::2])]).astype(np.float32)
    words = [f"word{i}" for i in range(len(vecs))]
    root = tmp_path_factory.mktemp("wv300")
    glove = root / "glove.tiny.300d.txt"
    glove.write_text("".join(f"{w} {' '.join(f'{v:.6f}' for v in row)}\n" for w, row in zip(words, vecs)))
    kv = KeyedVectors(vector_size=300)
    kv.add_vectors(words, vecs)
    w2v_bin = root / "tiny-vectors-negative300.bin"
    kv.save_word2vec_format(str(w2v_bin), binary=True)
    classes = [ClassInfo(f"c{i}", w) for i, w in enumerate(words)]
    m = rng.standard_normal((300, D)) * 3.0

    def clips(idx, per):
        labels = np.repeat(np.arange(len(idx)), per)
        x = vecs[np.asarray(idx)[labels]] @ m + 2.0 + 0.05 * rng.standard_normal((len(labels), D))
        return Videos(x.astype(np.float32)), labels

    xtr, ytr = clips(range(N_SEEN), 12)
    xte, yte = clips(range(N_SEEN, len(vecs)), 10)
    return {"glove": str(glove), "word2vec": str(w2v_bin), "vectors": vecs, "classes": classes,
            "fit": FitData(LabelledVideos(xtr, ytr, classes[:N_SEEN])), "test": xte, "labels": yte,
            "unseen": classes[N_SEEN:]}


@pytest.mark.parametrize("fmt", ["glove", "word2vec"])
def test_300d_files_load_as_the_class_vectors(world, fmt):
    v = class_semantics(world["classes"], world[fmt])
    assert v.shape == (len(world["classes"]), 300)
    np.testing.assert_allclose(v, l2_rows(world["vectors"]), atol=1e-5)


@pytest.mark.parametrize("fmt", ["glove", "word2vec"])
@pytest.mark.parametrize("name", WORD_VECTOR_BASELINES)
def test_every_word_vector_baseline_fits_and_scores_with_a_300d_file(world, name, fmt):
    m = build_method(name, {"semantic": world[fmt], **QUICK[name]})
    assert m.get_params()["semantic"] == world[fmt]  # recorded with the run's parameters
    m.fit(world["fit"], FitContext(device="cpu", seed=0))
    s = np.asarray(m.score(world["test"], world["unseen"]))
    assert s.shape == (len(world["test"]), len(world["unseen"])) and np.isfinite(s).all()
    if name == "eszsl":  # a closed form: it must transfer through the 300-d vectors
        assert (s.argmax(1) == world["labels"]).mean() >= 0.9


# -- E2E's class-name preprocessing ---------------------------------------------------------------
@pytest.fixture(scope="module")
def wordnet():
    try:
        wv._wordnet()
    except wv.WordVectorError as e:
        pytest.skip(str(e))


def test_e2e_table_holds_the_release_rows():
    table = wv.e2e_table()
    assert len(table) == 48
    assert table["CleanAndJerk"] == ("weight", "lift") and table["Skijet"] == ("Skyjet",)
    assert table["passing American football (not in game)"] == ("pass", "american", "football", "park")
    assert table["Ping-pong"] == ("table", "tennis")
    lower = {}
    for k, v in table.items():  # matching ignores case: no two rows may then disagree
        assert lower.setdefault(k.lower(), v) == v
    # the rows name classes the project's lists have (the exceptions are documented in the file)
    ucf = set(get_dataset("ucf101").identifiers)
    kinetics = set(get_dataset("kinetics").names)
    rows = [line.split("\t") for line in _table_text().splitlines() if line and not line.startswith("#")]
    assert {r[0] for r in rows} == {"ucf101", "hmdb51", "kinetics", "activitynet"}
    assert {r[1] for r in rows if r[0] == "ucf101"} - ucf == {"HandStandPushups"}
    assert {r[1] for r in rows if r[0] == "kinetics"} - kinetics == {
        "mixing colours", "pretending to be a statue", "throwing ball (not baseball or American football)"}


def _table_text():
    from importlib import resources

    return resources.files("zsar_bench").joinpath("data", *wv.E2E_TABLE_FILE).read_text(encoding="utf-8")


def test_e2e_name_words(wordnet):
    assert wv.e2e_name_words("brushing hair") == ["brush", "hair"]
    assert wv.e2e_name_words("brush hair", "brush_hair") == ["brush", "hair"]
    assert wv.e2e_name_words("playing guitar") == ["play", "guitar"]
    # stop words go, a "(not ...)" tail goes, parentheses go, verbs take their base form
    assert wv.e2e_name_words("walking the dog with a leash (not running)") == ["walk", "dog", "leash"]
    assert wv.e2e_name_words("fencing (sport)") == ["fence", "sport"]
    assert wv.e2e_name_words("answering questions") == ["answer", "question"]  # WordNet knows "question" as a verb
    # the hand table: matched on the identifier (UCF101's CamelCase) or on the name, used as written
    assert wv.e2e_name_words("clean and jerk", "CleanAndJerk") == ["weight", "lift"]
    assert wv.e2e_name_words("skijet", "Skijet") == ["Skyjet"]
    assert wv.e2e_name_words("tying knot (not on a tie)") == ["ty", "knot"]
    assert wv.e2e_name_words("Eating Doughnuts") == ["eat", "bun"]


def test_e2e_preprocessing_changes_the_class_vectors(tmp_path, wordnet):
    rng = np.random.default_rng(5)
    vocab = ["brushing", "brush", "hair", "clean", "and", "jerk", "weight", "lift", "playing", "play", "guitar",
             "Skyjet"]
    vecs = rng.standard_normal((len(vocab), 300)).astype(np.float32)
    path = tmp_path / "vocab300.txt"
    path.write_text("".join(f"{w} {' '.join(f'{v:.6f}' for v in row)}\n" for w, row in zip(vocab, vecs)))
    at = {w: vecs[i] for i, w in enumerate(vocab)}
    classes = [ClassInfo("brushing hair", "brushing hair"), ClassInfo("CleanAndJerk", "clean and jerk"),
               ClassInfo("playing guitar", "playing guitar"), ClassInfo("Skijet", "skijet")]
    plain = build_method("w2v", {"semantic": str(path)}).class_vectors(classes)
    e2e = build_method("w2v", {"semantic": str(path), "name_prep": "e2e"}).class_vectors(classes)
    expect = l2_rows(np.stack([(at["brush"] + at["hair"]) / 2, (at["weight"] + at["lift"]) / 2,
                               (at["play"] + at["guitar"]) / 2, at["Skyjet"]]))
    np.testing.assert_allclose(e2e, expect, atol=1e-5)
    np.testing.assert_allclose(plain[0], l2_rows((at["brushing"] + at["hair"])[None])[0], atol=1e-5)
    assert not plain[3].any()  # "skijet" is not in the vocabulary: no vector without E2E's table
    assert np.abs(plain - e2e).max() > 0.1

    # end to end: a w2v fit with name_prep=e2e on these classes
    x = (np.repeat(np.eye(4), 6, 0) @ rng.standard_normal((4, 16)) + 0.1 * rng.standard_normal((24, 16))).astype(np.float32)
    fit = FitData(LabelledVideos(Videos(x[:18]), np.repeat(np.arange(3), 6), classes[:3]))
    m = build_method("w2v", {"semantic": str(path), "name_prep": "e2e", "epochs": 2})
    m.fit(fit, FitContext(seed=0))
    assert m.get_params()["name_prep"] == "e2e"
    s = np.asarray(m.score(Videos(x), classes))
    assert s.shape == (24, 4) and np.isfinite(s).all()


def test_name_prep_is_checked():
    with pytest.raises(ValueError, match="name_prep"):
        build_method("w2v", {"name_prep": "stemmed"})
    with pytest.raises(ValueError, match="text encoder"):
        build_method("w2v", {"name_prep": "e2e", "semantic": "text:minilm"})
    assert defaults("w2v")["name_prep"] == "none"
