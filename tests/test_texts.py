"""Class texts: the project's descriptions, --descriptions files, text styles, encoders and their
cache, word vectors."""
import json

import numpy as np
import pytest

from conftest import SHARED_REF, reference
from zsar_bench.datasets import DATASETS, get_dataset
from zsar_bench.text.descriptions import DescriptionsError, load_descriptions
from zsar_bench.text.styles import class_text, class_texts
from zsar_bench.types import ClassInfo

ER_FILES = {"olympics": "OlympicSports16/classes_label_defn.json", "hmdb51": "HMDB51/classes_label_defn.json",
            "ucf101": "UCF101/classes_label_defn.json", "kinetics": "Kinetics/zsl220/classes620_label_defn.json"}


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_class_has_a_distinct_description_of_20_to_45_words(name):
    ds = get_dataset(name)
    desc = ds.builtin_descriptions
    assert set(desc) == set(ds.identifiers)
    for ident, text in desc.items():
        n = len(text.split())
        assert 20 <= n <= 45, f"{name}/{ident}: {n} words"
        assert 1 <= text.count(".") <= 3, f"{name}/{ident}: 1-3 sentences"
        assert "\t" not in text
    assert len(set(desc.values())) == len(desc)


def test_descriptions_are_unique_across_datasets_where_classes_differ():
    texts = [t for n in DATASETS.names() for t in get_dataset(n).builtin_descriptions.values()]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("name", DATASETS.names())
def test_descriptions_are_not_ers_text(name):
    path = SHARED_REF / ER_FILES[name]
    if not path.exists():
        pytest.skip("../shared/reference/er-zsar absent")
    er = json.loads(path.read_text())
    er_texts = {" ".join(str(x.get(k, "")).lower().split()) for x in er for k in ("defn", "cleaned_defn")}
    ours = get_dataset(name).builtin_descriptions
    same = [i for i, t in ours.items() if " ".join(t.lower().split()) in er_texts]
    assert not same


def test_known_er_defects_are_fixed_in_ours():
    assert "ground" in get_dataset("hmdb51").builtin_descriptions["pick"] or "floor" in get_dataset("hmdb51").builtin_descriptions["pick"]
    assert "table" in get_dataset("ucf101").builtin_descriptions["TableTennisShot"]


def test_load_er_format_descriptions(tmp_path):
    path = reference("HMDB51/classes_label_defn.json")
    desc = load_descriptions(path, "hmdb51")
    assert set(desc) == set(get_dataset("hmdb51").identifiers)
    er = {x["word"]: x for x in json.loads(path.read_text())}
    classes = {c.identifier: c for c in get_dataset("hmdb51").classes(desc)}
    # ER's code builds "cleaned_word: cleaned_defn" (cleaned_word falls back to word)
    c = classes["brush_hair"]
    assert class_text(c, "name: description") == f"{er['brush hair']['word']}: {er['brush hair']['cleaned_defn']}"


def test_er_json_class_text_is_cleaned_word_and_cleaned_defn(tmp_path):
    from zsar_bench.datasets import get_dataset

    ds = get_dataset("olympics")
    entries = [{"word": n, "defn": f"raw {n}.", "cleaned_word": f"clean {n}", "cleaned_defn": f"cleaned {n} ."}
               for n in ds.names]
    entries[1] = {"word": ds.names[1], "defn": "only raw ."}  # no cleaned fields: word and defn
    f = tmp_path / "er.json"
    f.write_text(json.dumps(entries))
    classes = ds.classes(load_descriptions(f, "olympics"))
    assert class_text(classes[0], "name: description") == f"clean {ds.names[0]}: cleaned {ds.names[0]} ."
    assert class_text(classes[1], "name: description") == f"{ds.names[1]}: only raw ."
    assert classes[0].name == ds.names[0]  # the readable name (word vectors of baselines) is unchanged


def test_descriptions_file_errors_list_the_classes(tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps([{"word": "bowling", "defn": "rolling a heavy ball"}, {"word": "vault", "defn": "x"}]))
    with pytest.raises(DescriptionsError, match="14 olympics classes have no description: basketball_layup"):
        load_descriptions(f, "olympics")
    f.write_text(json.dumps([{"word": "curling", "defn": "x"}]))
    with pytest.raises(DescriptionsError, match="match no olympics class"):
        load_descriptions(f, "olympics")
    t = tmp_path / "d.tsv"
    t.write_text("# identifier\tname\tdescription\n" + "".join(
        f"{i}\t{n}\tA clip of {n}.\n" for i, n in zip(get_dataset("olympics").identifiers, get_dataset("olympics").names)))
    assert load_descriptions(t, "olympics")["vault"] == "A clip of vault."


def test_text_styles():
    c = ClassInfo("brush_hair", "brush hair", "A person brushes long hair.")
    assert class_text(c, "name") == "brush hair"
    assert class_text(c, "description") == "A person brushes long hair."
    assert class_text(c, "name: description") == "brush hair: A person brushes long hair."
    assert class_text(c, "a video of a person {name}") == "a video of a person brush hair"
    with pytest.raises(ValueError, match="unknown text style"):
        class_text(c, "bogus")
    with pytest.raises(ValueError, match="has no description"):
        class_texts([ClassInfo("x", "x")], "description")


def test_encoder_matches_sentence_transformers_and_caches(tmp_path):
    from sentence_transformers import SentenceTransformer

    from zsar_bench.text.encoders import get_text_encoder, packaged_minilm_path

    enc = get_text_encoder("minilm")
    texts = ["a person dives into a pool", "two boxers in a ring"]
    v = enc.encode(texts)
    st = SentenceTransformer(packaged_minilm_path(), device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(v / np.linalg.norm(v, axis=1, keepdims=True), st, atol=1e-5)
    assert "@" in enc.identity and len(enc.cache.get_many(texts)) == 2  # cached by identity incl. weights hash
    calls = []
    orig = enc.encoder.encode
    enc.encoder.encode = lambda t: calls.append(t) or orig(t)
    try:
        np.testing.assert_array_equal(enc.encode(texts), v)
        assert not calls
    finally:
        enc.encoder.encode = orig


def test_word_vectors_formats_and_name_means(tmp_path):
    from gensim.models import KeyedVectors

    from zsar_bench.text.wordvectors import coverage_report, load_word_vectors, name_vector

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["brush", "hair", "ride", "horse"], np.eye(4, 3, dtype=np.float32) + 0.5)
    kv.save_word2vec_format(str(tmp_path / "w.bin"), binary=True)
    kv.save_word2vec_format(str(tmp_path / "w.txt"), binary=False)
    (tmp_path / "glove.txt").write_text("".join(f"{w} {' '.join(map(str, kv[w]))}\n" for w in kv.index_to_key))
    for f in ("w.bin", "w.txt", "glove.txt"):
        loaded = load_word_vectors(str(tmp_path / f))
        vec, missing = name_vector(loaded, "brush hair")
        np.testing.assert_allclose(vec, (kv["brush"] + kv["hair"]) / 2, atol=1e-5)
        assert missing == []
    assert name_vector(loaded, "brush teeth")[1] == ["teeth"]
    glove = load_word_vectors("glove50")
    assert glove.vector_size == 50
    rep = coverage_report("hmdb51", glove)
    assert rep["classes_without_vector"] == 0 and rep["word_coverage"] == 1.0
    with pytest.raises(Exception, match="not found"):
        load_word_vectors(str(tmp_path / "nope.bin"))


def test_imagenet21k_concepts_become_lemma_definition_texts(tmp_path):
    """ER's object stream: BiT's ImageNet-21k lemma/WordNet-id files -> "lemma: definition"."""
    from zsar_bench.features.importers import bit_vocabulary, wordnet_definitions

    if wordnet_definitions(["n02084071"]) is None:
        pytest.skip("WordNet not installed for nltk (make setup installs it from Debian's wordnet-base)")
    (tmp_path / "lemmas.txt").write_text("dog, domestic_dog, Canis_familiaris\nbarbell\n")
    (tmp_path / "wnids.txt").write_text("n02084071\nn02790996\n")
    vocab, ids = bit_vocabulary(tmp_path / "lemmas.txt", tmp_path / "wnids.txt", log=lambda *_: None)
    assert ids == ["n02084071", "n02790996"]
    texts = vocab.texts()
    assert texts[0].startswith("dog, domestic dog, canis familiaris: a member of the genus canis")
    assert texts[1].startswith("barbell: ") and "weight" in texts[1]
