"""CLIP-era methods (clip, clip-adapter, er-clip) on a tiny random CLIP (tests/clip_fixtures.py), CPU only.

Feature sets here hold real CLIP video embeddings of the tiny model: random frames (a random base image
per class plus per-clip noise, so classes are separable) through ``encode_clip_frames``; the manifest
records the model as the CLIP extractor/importer does (``{"kind": "clip", "key", "identity"}``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from clip_fixtures import make_tiny_clip
from zsar_bench.clip import (VIDEO_TEMPLATES, ClipError, class_embeddings, encode_clip_frames, identity_key, load_clip,
                             model_identity)
from zsar_bench.clip.model import projected
from zsar_bench.datasets import get_dataset
from zsar_bench.method import METHODS, FitContext, build_method
from zsar_bench.types import ConceptVocabulary, FitData, LabelledVideos, Videos


# ------------------------------------------------------------------------------------------ helpers
def clip_model_entry(weights: str) -> dict:
    """The manifest's "model" entry for CLIP video embeddings of ``weights`` (the extractor's contract)."""
    ident = model_identity(weights)
    return {"kind": "clip", "key": identity_key(ident), "identity": ident}


def clip_video_features(weights: str, labels: np.ndarray, seed: int = 0, n_frames: int = 4, noise: float = 40.0,
                        kind: str = "frames"):
    """[N, D] video embeddings for the tiny CLIP. ``frames``: real CLIP video embeddings of random clips (a class
    base image + per-clip noise) through the model; a random CLIP maps all of them close together (mean cosine
    about 0.97), separable but hard to learn from. ``clusters``: random unit vectors of the model's dimension,
    clustered by class (a well separated problem) for checks that training learns."""
    bundle = load_clip(weights)
    if kind == "clusters":
        rng = np.random.default_rng([seed, 7])
        centres = rng.normal(size=(int(labels.max()) + 1, bundle.dim))
        x = centres[labels] / np.linalg.norm(centres[labels], axis=1, keepdims=True)
        x = x + 0.35 * rng.normal(size=x.shape) / np.sqrt(bundle.dim)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    side = bundle.image_size
    bases = {int(c): np.random.default_rng([seed, int(c)]).integers(0, 256, (side, side, 3)) for c in np.unique(labels)}
    frames = [np.clip(bases[int(c)][None] + np.random.default_rng([seed, int(c), i, 1]).normal(
        0, noise, (n_frames, side, side, 3)), 0, 255).astype(np.uint8) for i, c in enumerate(labels)]
    return encode_clip_frames(bundle, frames)


def random_concepts(n_videos: int, n_concepts: int = 40, k: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    vocab = ConceptVocabulary(tuple(f"thing{j}" for j in range(n_concepts)),
                              tuple(f"an object of kind {j}" for j in range(n_concepts)), source="test")
    ids = np.stack([rng.choice(n_concepts, k, replace=False) for _ in range(n_videos)])
    scores = np.sort(rng.random((n_videos, k)), axis=1)[:, ::-1].copy()
    return vocab, ids, scores


def write_tiny_clip_features(dataset: str, name: str, weights: str, labels=None, video_ids=None, per_class: int = 4,
                             concepts=None, concept_ids=None, concept_scores=None, partition=None, seed: int = 0,
                             model: object = "auto", kind: str = "frames") -> dict:
    """Write a CLIP feature set of the tiny model under the current data root (``write_arrow_feature_set``);
    ``labels`` default: ``per_class`` clips of every class of ``dataset``. ``model``: the manifest entry
    ("auto" = the model's own; None = none recorded)."""
    from zsar_bench.features.arrow_store import write_arrow_feature_set

    if labels is None:
        labels = np.repeat(np.arange(get_dataset(dataset).n_classes), per_class)
    labels = np.asarray(labels)
    if video_ids is None:
        video_ids = [f"v{i:05d}" for i in range(len(labels))]
    feats = clip_video_features(weights, labels, seed, kind=kind)
    extra = {"model": clip_model_entry(weights) if model == "auto" else model}
    if extra["model"] is None:
        extra = {}
    return write_arrow_feature_set(dataset, name, video_ids=video_ids, labels=labels, features=feats,
                                   concept_ids=concept_ids, concept_scores=concept_scores, concepts=concepts,
                                   partition=partition, source="test: tiny CLIP on random frames",
                                   backbone="clip-tiny", extra=extra, overwrite=True)


def fit_data(weights, n_classes=6, per_class=8, model="auto", concepts=False, seed=0, kind="frames"):
    """FitData of seen classes 0..n-1 of hmdb51 with the tiny CLIP's embeddings of random clips."""
    classes = get_dataset("hmdb51").classes()[:n_classes]
    labels = np.repeat(np.arange(n_classes), per_class)
    feats = clip_video_features(weights, labels, seed, kind=kind)
    vocab = cids = cscores = None
    if concepts:
        vocab, cids, cscores = random_concepts(len(labels), seed=seed)
    videos = Videos(feats, cids, cscores, np.array([f"v{i}" for i in range(len(labels))]))
    entry = clip_model_entry(weights) if model == "auto" else model
    return FitData(LabelledVideos(videos, labels, classes), concepts=vocab, model=entry)


def fitted(name, data, seed=0, **params):
    m = build_method(name, {k: str(v) for k, v in params.items()})
    return m.fit(data, FitContext(device="cpu", seed=seed))


@pytest.fixture(scope="module", autouse=True)
def _methods(plugins):
    return plugins


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_clip(tmp_path_factory.mktemp("tiny-clip-a"), seed=0)


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    return make_tiny_clip(tmp_path_factory.mktemp("tiny-clip-b"), seed=1)


@pytest.fixture(scope="module")
def data(tiny):
    return fit_data(tiny)


# ------------------------------------------------------------------------------------------ clip
@pytest.mark.parametrize("templates", ["none", "ensemble"])
def test_clip_scores_equal_direct_computation(tiny, data, templates):
    m = fitted("clip", data, templates=templates)
    classes = data.train.classes
    s = m.score(data.train.videos, classes)
    bundle = load_clip(tiny)
    names = [c.name for c in classes]
    if templates == "none":  # straight from transformers' CLIPModel
        enc = bundle.tokenizer(names, padding=True, return_tensors="pt")
        with torch.no_grad():
            z = F.normalize(projected(bundle.model.get_text_features(**enc)).float(), dim=-1).numpy()
    else:
        z = class_embeddings(bundle, names, VIDEO_TEMPLATES)
    v = data.train.videos.features / np.linalg.norm(data.train.videos.features, axis=1, keepdims=True)
    np.testing.assert_allclose(s, v @ z.T, rtol=1e-5, atol=1e-5)
    assert s.shape == (len(v), len(classes))
    # the same class list scored again comes from the in-process memo: identical
    np.testing.assert_array_equal(m.score(data.train.videos, classes), s)


def test_clip_templates_video_and_style(data):
    base = fitted("clip", data, templates="video").score(data.train.videos, data.train.classes)
    tmpl = fitted("clip", data, templates="none", text_style="a video of a person {name}.").score(
        data.train.videos, data.train.classes)
    np.testing.assert_allclose(base, tmpl, rtol=1e-5, atol=1e-5)  # the same prompt, two ways
    with pytest.raises(ValueError, match="templates"):
        build_method("clip", {"templates": "fancy"})
    with pytest.raises(ValueError, match="text_style"):
        build_method("clip", {"text_style": "nonsense"})


def test_given_weights_with_the_same_key_are_accepted(tiny, data, tmp_path):
    copy = make_tiny_clip(tmp_path / "copy", seed=0)  # same weights, another folder: same key
    s = fitted("clip", data, weights=copy).score(data.train.videos, data.train.classes)
    np.testing.assert_allclose(s, fitted("clip", data).score(data.train.videos, data.train.classes), atol=1e-6)


@pytest.mark.parametrize("name", ["clip", "clip-adapter"])
def test_mismatched_model_is_refused_naming_both_keys(name, tiny, other, data):
    mine, theirs = clip_model_entry(other)["key"], data.model["key"]
    with pytest.raises(ClipError) as e:
        fitted(name, data, weights=other)
    msg = str(e.value)
    assert mine in msg and theirs in msg and "mismatch" in msg and mine != theirs
    # the features say another model than the weights given: refused too (the default weights="" is the features')
    feats_other = FitData(data.train, model=clip_model_entry(other))
    with pytest.raises(ClipError) as e:
        fitted(name, feats_other, weights=tiny)
    assert mine in str(e.value) and theirs in str(e.value)


@pytest.mark.parametrize("name", ["clip", "clip-adapter", "er-clip"])
def test_features_without_clip_model_are_refused(name, data):
    for model in (None, {"kind": "tsm", "key": "tsm:abc"}):
        with pytest.raises(ClipError) as e:
            fitted(name, FitData(data.train, concepts=data.concepts, model=model), **({} if name == "clip" else
                                                                                     {"epochs": 1}))
        msg = str(e.value)
        assert "feature set has no CLIP model identity" in msg
        assert "extract-features --backbone clip --weights W" in msg and "--clip-weights W" in msg


def test_recorded_checkpoint_missing_here_is_a_clear_error(data, tmp_path):
    entry = dict(data.model, identity=dict(data.model["identity"], path=str(tmp_path / "gone")))
    with pytest.raises(ClipError, match="not on this machine") as e:
        fitted("clip", FitData(data.train, model=entry))
    assert "weights=FOLDER" in str(e.value)


# ------------------------------------------------------------------------------------------ clip-adapter
@pytest.mark.parametrize("text_adapter", [False, True])
def test_adapter_at_initialisation_scores_exactly_as_clip(data, text_adapter):
    zero_shot = fitted("clip", data).score(data.train.videos, data.train.classes)
    m = build_method("clip-adapter", {"text_adapter": str(text_adapter)})
    m.setup(data, FitContext(device="cpu", seed=0))
    np.testing.assert_array_equal(m.score(data.train.videos, data.train.classes), zero_shot)
    hmdb = get_dataset("hmdb51").classes()
    other_classes = hmdb[10:17]  # any candidate list, not just the seen classes
    np.testing.assert_array_equal(m.score(data.train.videos, other_classes),
                                  fitted("clip", data).score(data.train.videos, other_classes))


def test_adapter_training_raises_seen_class_accuracy(tiny):
    data = fit_data(tiny, kind="clusters")  # separable in feature space; the random text tower knows nothing
    y = data.train.labels
    before = (fitted("clip", data).score(data.train.videos, data.train.classes).argmax(1) == y).mean()
    ctx = FitContext(device="cpu", seed=0)
    m = build_method("clip-adapter", {"epochs": "10", "lr": "1e-1", "batch_size": "16", "hidden": "16"}).fit(data, ctx)
    after = (m.score(data.train.videos, data.train.classes).argmax(1) == y).mean()
    assert after >= 0.9 and after > before + 0.3, (before, after)
    assert ctx.info["selected_on"] == "final epoch (fixed schedule)" and ctx.info["epochs"] == 10
    # the scale defaults to CLIP's own exp(logit_scale)
    assert m.scale_ == pytest.approx(float(load_clip(m.text_.encoder.bundle.identity["path"]).model.logit_scale.detach().exp()))
    with pytest.raises(ValueError, match="logit_scale"):
        build_method("clip-adapter", {"logit_scale": "-1"})
    with pytest.raises(ValueError, match="hidden"):
        build_method("clip-adapter", {"hidden": "-2"})


def test_adapter_hidden_default_and_validation_selection(data):
    m = build_method("clip-adapter", {"epochs": "3"})
    calls = []

    def validate(method):
        calls.append(1)
        return float(len(calls) == 2)  # the second epoch is "best"

    ctx = FitContext(device="cpu", seed=0, validate=validate)
    m.fit(data, ctx)
    assert m.net_.down.out_features == data.feature_dim // 4
    assert ctx.info["best_epoch"] == 2 and ctx.info["selected_on"] == "validation classes"


# ------------------------------------------------------------------------------------------ er-clip
def test_er_clip_runs_end_to_end_with_concepts(tiny):
    d = fit_data(tiny, concepts=True)
    m = fitted("er-clip", d, epochs=2, batch_size=16)
    assert m.text_spec_ == f"clip:{model_identity(tiny)['path']}"
    s = m.score(d.train.videos, d.train.classes)
    assert s.shape == (len(d.train.labels), len(d.train.classes)) and np.isfinite(s).all()
    assert type(m).feature_model == "clip" and m.needs_concepts


def test_er_clip_without_concepts_is_a_clear_error_and_er_ed_configuration_runs(tiny, data):
    with pytest.raises(ValueError) as e:
        fitted("er-clip", data, epochs=1)
    msg = str(e.value)
    assert "concept detections" in msg and "use_objects=false" in msg and "er_loss=false" in msg
    m = fitted("er-clip", data, epochs=2, batch_size=16, use_objects=False, er_loss=False)
    assert not m.needs_concepts
    s = m.score(data.train.videos, data.train.classes)
    assert s.shape == (len(data.train.labels), len(data.train.classes)) and np.isfinite(s).all()


def test_er_with_named_clip_text_tower(tiny, other, data):
    d = fit_data(tiny, concepts=True)
    m = fitted("er", d, text_encoder=f"clip:{tiny}", epochs=1, batch_size=16)
    assert np.isfinite(m.score(d.train.videos, d.train.classes)).all()
    with pytest.raises(ClipError, match="mismatch"):
        fitted("er", d, text_encoder=f"clip:{other}", epochs=1)
    # features that record no CLIP model: a named CLIP text tower is the user's explicit choice
    m = fitted("er", FitData(d.train, concepts=d.concepts, model=None), text_encoder=f"clip:{other}", epochs=1,
               batch_size=16)
    assert np.isfinite(m.score(d.train.videos, d.train.classes)).all()
    with pytest.raises(ValueError, match="tower=frozen"):
        fitted("er-clip", d, tower="partial", epochs=1)


def test_clip_text_encoder_spec_and_cache_identity(tiny, other, tmp_path):
    from zsar_bench.text.encoders import TextEncoderError, get_text_encoder, parse_encoder_spec

    assert parse_encoder_spec(f"clip:{tiny}") == ("clip", tiny)
    with pytest.raises(TextEncoderError, match="feature set's own CLIP model"):
        parse_encoder_spec("clip")
    with pytest.raises(TextEncoderError, match="names no weights"):
        parse_encoder_spec("clip:")
    a, b = get_text_encoder(f"clip:{tiny}"), get_text_encoder(f"clip:{other}")
    key_a = identity_key(model_identity(tiny))
    assert a.identity == f"clip-text:{key_a}" and key_a in a.namespace
    assert a.namespace != b.namespace and a.cache.path != b.cache.path  # two checkpoints never share a cache
    copy = make_tiny_clip(tmp_path / "same", seed=0)
    assert get_text_encoder(f"clip:{copy}").namespace == a.namespace  # same weights elsewhere: same cache
    texts = ["a video of a person running.", "kick ball"]
    np.testing.assert_allclose(a.encode(texts), class_embeddings(a.encoder.bundle, texts, ["{}"]), atol=1e-6)
    assert a.encoder.max_length == a.encoder.bundle.max_length == 24  # capped at the model's context


# ------------------------------------------------------------------------------------------ the harness
def test_features_without_a_clip_model_are_refused_at_planning(tiny, data_root):
    """A feature set that records no CLIP model: refused at planning (Method.feature_model), nothing runs. (The
    CLIP methods' run through the harness end to end is tests/test_clip_e2e.py.)"""
    import zsar_bench
    from zsar_bench.running.planning import PlanError

    write_tiny_clip_features("hmdb51", "tinyclip-nomodel", tiny, model=None)
    with pytest.raises(PlanError) as e:
        zsar_bench.evaluate(["clip"], ["hmdb51"], folds="0", features="tinyclip-nomodel", device="cpu",
                            executor="inline", log=lambda m: None)
    assert "needs CLIP features" in str(e.value) and "records no model" in str(e.value)


def test_methods_declare_the_clip_feature_model(plugins):
    for name in ("clip", "clip-adapter", "er-clip"):
        assert getattr(METHODS.get(name), "feature_model", None) == "clip"
    for name in ("er", "label", "er-paper"):
        assert getattr(METHODS.get(name), "feature_model", None) is None
    assert not METHODS.get("clip").learns and METHODS.get("clip-adapter").learns
