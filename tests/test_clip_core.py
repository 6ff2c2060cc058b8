"""zsar_bench.clip on a tiny random CLIP saved to disk (tests/clip_fixtures.py), CPU only."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from clip_fixtures import make_tiny_clip
from zsar_bench.clip import (CLIP_MEAN, CLIP_STD, TEMPLATE_SETS, VIDEO_TEMPLATES, ClipError, class_embeddings,
                             encode_clip_frames, encode_texts, identity_key, load_clip, model_identity,
                             preprocess_frames, sample_frame_indices)
from zsar_bench.clip.model import projected


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_clip(tmp_path_factory.mktemp("tiny-clip"), seed=0)


@pytest.fixture(scope="module")
def bundle(tiny_dir):
    return load_clip(tiny_dir)


def _unit(x):
    return F.normalize(x.float(), dim=-1)


# ------------------------------------------------------------------------------------------ loading
def test_load_saved_tiny_clip(bundle, tiny_dir):
    assert not bundle.model.training
    assert bundle.device == "cpu"
    assert bundle.dim == 16 and bundle.image_size == 32 and bundle.resize_size == 32
    assert bundle.max_length == 24
    assert bundle.mean == pytest.approx(CLIP_MEAN) and bundle.std == pytest.approx(CLIP_STD)
    assert bundle.identity["kind"] == "path" and bundle.identity["path"] == str(Path(tiny_dir).resolve())
    assert len(bundle.identity["sha256"]) == 64
    assert bundle.key == "clip:" + bundle.identity["sha256"][:16]
    ids = bundle.tokenizer(["a video of a person"])["input_ids"][0]
    assert ids[0] == bundle.tokenizer.bos_token_id and ids[-1] == bundle.tokenizer.eos_token_id


def test_identity_stable_and_weight_dependent(tiny_dir, tmp_path):
    first, second = load_clip(tiny_dir), load_clip(tiny_dir)
    assert first.identity == second.identity and first.key == second.key
    same_weights = make_tiny_clip(tmp_path / "copy", seed=0)  # other folder, same weights: same key
    assert identity_key(model_identity(same_weights)) == first.key
    other = make_tiny_clip(tmp_path / "other", seed=1)
    assert identity_key(model_identity(other)) != first.key
    assert load_clip(other).key != first.key


def test_hub_identity_without_cache():
    ident = model_identity("no-such-org/no-such-clip")
    assert ident == {"kind": "hub", "id": "no-such-org/no-such-clip", "revision": "unknown"}
    assert identity_key(ident) == "clip:no-such-org/no-such-clip@unknown"
    with pytest.raises(ValueError):
        identity_key({"kind": "weird"})


def test_missing_folder_is_a_helpful_error(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ClipError) as e:
        load_clip(str(missing))
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert f"no CLIP checkpoint at {missing}" in msg and "save_pretrained" in msg and "hub id" in msg


def test_folder_without_weights_is_an_error(tmp_path, tiny_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ClipError, match="no CLIP checkpoint at"):
        load_clip(str(empty))
    only_config = tmp_path / "config-only"
    only_config.mkdir()
    (only_config / "config.json").write_text((Path(tiny_dir) / "config.json").read_text())
    with pytest.raises(ClipError, match="no CLIP checkpoint at"):
        load_clip(str(only_config))


def test_uncached_hub_id_is_an_error():
    with pytest.raises(ClipError, match="could not load CLIP hub id 'no-such-org/no-such-clip'"):
        load_clip("no-such-org/no-such-clip")


def test_non_clip_checkpoint_is_an_error(tmp_path):
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=16)).save_pretrained(tmp_path / "bert")
    with pytest.raises(ClipError, match="'bert' model, not CLIP"):
        load_clip(str(tmp_path / "bert"))


def test_preprocessor_config_overrides(tmp_path):
    folder = make_tiny_clip(tmp_path / "pp", seed=0)
    pp = tmp_path / "pp" / "preprocessor_config.json"
    cfg = json.loads(pp.read_text())
    cfg.update(size={"shortest_edge": 40}, image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25])
    pp.write_text(json.dumps(cfg))
    b = load_clip(folder)
    assert (b.resize_size, b.image_size, b.mean, b.std) == (40, 32, (0.5,) * 3, (0.25,) * 3)
    pp.unlink()  # no preprocessor config: CLIP's constants at the vision tower's size
    b = load_clip(folder)
    assert (b.resize_size, b.image_size) == (32, 32) and b.mean == CLIP_MEAN
    cfg.update(crop_size={"height": 224, "width": 224})
    pp.write_text(json.dumps(cfg))
    with pytest.raises(ClipError, match="vision tower takes 32x32"):
        load_clip(folder)


# ------------------------------------------------------------------------------------------ video
def test_preprocess_constant_image(bundle):
    colour = np.array([200, 30, 117], np.uint8)
    frames = np.broadcast_to(colour, (3, 48, 80, 3)).copy()  # non-square: resized then cropped
    x = preprocess_frames(frames, bundle)
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32
    expected = (colour / 255.0 - np.array(CLIP_MEAN)) / np.array(CLIP_STD)
    for c in range(3):
        np.testing.assert_allclose(x[:, c].numpy(), expected[c], atol=1e-5)


def test_preprocess_centre_crop_without_resize(bundle, rng):
    frames = rng.integers(0, 256, (2, 32, 48, 3), dtype=np.uint8)  # shorter side already 32: crop only
    x = preprocess_frames(frames, bundle)
    crop = frames[:, :, 8:40].astype(np.float64) / 255.0
    expected = ((crop - np.array(CLIP_MEAN)) / np.array(CLIP_STD)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(x.numpy(), expected, atol=1e-5)


def test_preprocess_resizes_shorter_side(bundle, rng):
    frames = rng.integers(0, 256, (1, 100, 64, 3), dtype=np.uint8)  # portrait: width -> 32, height -> 50
    assert preprocess_frames(frames, bundle).shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match="uint8"):
        preprocess_frames(frames.astype(np.float32), bundle)
    with pytest.raises(ValueError, match=r"\[T, H, W, 3\]"):
        preprocess_frames(frames[0], bundle)


def test_encode_clip_frames_matches_direct_computation(bundle, rng):
    clips = [rng.integers(0, 256, (8, 40, 56, 3), dtype=np.uint8),
             rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)]
    got = encode_clip_frames(bundle, clips, batch_size=5)  # batches straddle the clips
    assert got.shape == (2, 16) and got.dtype == np.float32
    with torch.no_grad():
        expected = []
        for frames in clips:
            out = bundle.model.get_image_features(pixel_values=preprocess_frames(frames, bundle))
            feats = out if isinstance(out, torch.Tensor) else out.pooler_output
            expected.append(_unit(_unit(feats).mean(0)).numpy())
    np.testing.assert_allclose(got, np.stack(expected), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert encode_clip_frames(bundle, []).shape == (0, 16)


def test_sample_frame_indices_are_ers():
    from zsar_bench.features.extract import bit_indices

    for n in (1, 5, 8, 9, 100, 301):
        np.testing.assert_array_equal(sample_frame_indices(n), bit_indices(n, 8))
    np.testing.assert_array_equal(sample_frame_indices(100), [0, 14, 28, 42, 57, 71, 85, 99])
    np.testing.assert_array_equal(sample_frame_indices(5), [0, 1, 2, 3, 4])


# ------------------------------------------------------------------------------------------ text
def test_templates():
    assert len(VIDEO_TEMPLATES) == 28 and len(set(VIDEO_TEMPLATES)) == 28
    assert VIDEO_TEMPLATES[0] == "a photo of {}."
    assert VIDEO_TEMPLATES[-1] == "a demonstration of a person practicing {}."
    assert "a video of a person {}." in VIDEO_TEMPLATES and "a example of a person using {}." in VIDEO_TEMPLATES
    assert all(t.count("{}") == 1 for t in VIDEO_TEMPLATES)
    assert TEMPLATE_SETS["none"] == ("{}",) and TEMPLATE_SETS["video"] == ("a video of a person {}.",)
    assert TEMPLATE_SETS["ensemble"] == VIDEO_TEMPLATES


def test_encode_texts_direct_and_batch_invariant(bundle):
    texts = ["archery", "playing the piano and singing", "a video of a person riding a bike", "x"]
    got = encode_texts(bundle, texts)
    assert got.shape == (4, 16) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(encode_texts(bundle, texts, batch_size=1), got, atol=1e-5)  # padding is masked
    with torch.no_grad():
        enc = bundle.tokenizer([texts[1]], return_tensors="pt")
        direct = _unit(projected(bundle.model.get_text_features(**enc)))[0].numpy()
    np.testing.assert_allclose(got[1], direct, atol=1e-5)
    assert len({tuple(np.round(v, 4)) for v in got}) == 4
    assert encode_texts(bundle, []).shape == (0, 16)


def test_encode_texts_truncates_to_context(bundle):
    head = "playing basketball on a sunny day " * 3  # well past the 24-token context
    a, b = encode_texts(bundle, [head + "with friends", head + "alone at night"])
    np.testing.assert_allclose(a, b, atol=1e-6)  # differences past the context are cut
    assert np.isfinite(a).all()


def test_class_embeddings_single_template_equals_encode_texts(bundle):
    classes = ["archery", "juggling balls", "playing cello"]
    got = class_embeddings(bundle, classes, ("a video of a person {}.",))
    expected = encode_texts(bundle, [f"a video of a person {c}." for c in classes])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(class_embeddings(bundle, classes, TEMPLATE_SETS["none"]),
                               encode_texts(bundle, classes), atol=1e-5)


def test_class_embeddings_ensemble(bundle):
    classes = ["archery", "juggling balls", "playing cello"]
    templates = VIDEO_TEMPLATES[:5]
    got = class_embeddings(bundle, classes, templates)
    per_template = np.stack([encode_texts(bundle, [t.replace("{}", c) for c in classes]) for t in templates])
    mean = per_template.mean(0)
    expected = mean / np.linalg.norm(mean, axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, per_template[0], atol=1e-3)  # the ensemble is not just one template
    with pytest.raises(ValueError, match="exactly one"):
        class_embeddings(bundle, classes, ("no placeholder",))
    with pytest.raises(ValueError, match="no templates"):
        class_embeddings(bundle, classes, ())
