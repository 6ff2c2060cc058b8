"""Reliability, bad input (issue 10): every bad input is a one-line ``error: ...`` naming the input and the
fix, exit code 2, no traceback; and no data file can run code (no unpickling of user files).

The cases run in-process through ``zsar_bench.cli.main`` (no subprocess, no training: each fails before any
fold runs), so the whole table takes seconds.
"""
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from zsar_bench import paths
from zsar_bench.cli import main, parse_method_args, run_parser

S8 = ["basketball_layup", "bowling", "clean_and_jerk", "discus_throw", "diving_platform_10m",
      "diving_springboard_3m", "hammer_throw", "high_jump"]
U8 = ["javelin_throw", "long_jump", "pole_vault", "shot_put", "snatch", "tennis_serve", "triple_jump", "vault"]


class _Payload:
    """Unpickling this creates the marker file: proof that a pickle was executed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(autouse=True)
def _restore_globals():
    """cli.main(--data-root ...) and --trust-pickle change process globals: undo them after each case."""
    from zsar_bench.text import wordvectors

    saved = paths._override
    trusted = set(wordvectors._TRUSTED_PICKLES)
    yield
    paths._override = saved
    wordvectors._TRUSTED_PICKLES.clear()
    wordvectors._TRUSTED_PICKLES.update(trusted)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-inputs")

    def split(name, folds, **extra):
        p = d / f"{name}.json"
        p.write_text(json.dumps({"dataset": "olympics", "protocol": name, "version": 1, **extra, "folds": folds}))
        return str(p)

    ok = {"seen": S8, "unseen": U8}
    f = {
        "dir": d,
        "ok": split("ok", [dict(ok, fold=0)]),
        "fold_str_and_int": split("fold_str_and_int", [dict(ok, fold="1"), dict(ok, fold=1)]),
        "fold_float": split("fold_float", [dict(ok, fold=1.5)]),
        "fold_bool": split("fold_bool", [dict(ok, fold=True)]),
        "fold_a": split("fold_a", [dict(ok, fold="a")]),
        "counts_unsen": split("counts_unsen", [dict(ok, fold=0)], counts={"unsen": 8}),
        "class_list": split("class_list", [{"fold": 0, "seen": S8[:-1] + [[S8[-1]]], "unseen": U8}]),
        "one_unseen": split("one_unseen", [{"fold": 0, "seen": ["bowling"], "unseen": ["vault"]}]),
    }
    from zsar_bench.datasets import get_dataset

    ds = get_dataset("olympics")
    rows = [(i, n, ds.builtin_descriptions[i]) for i, n in zip(ds.identifiers, ds.names)]
    (d / "dup.json").write_text(json.dumps([{"word": n, "defn": t} for _, n, t in rows]
                                           + [{"word": rows[3][1], "defn": "described again"}]))
    (d / "dup.tsv").write_text("".join("\t".join(r) + "\n" for r in rows + [(rows[3][0], rows[3][1], "again")]))
    (d / "binary.tsv").write_bytes(bytes(range(256)) * 8)
    (d / "afile").write_text("not a folder")
    marker = d / "PAYLOAD_RAN"
    (d / "evil.kv").write_bytes(pickle.dumps(_Payload(marker)))
    (d / "evil.bin").write_bytes(pickle.dumps(_Payload(marker)))  # a pickle under another name
    np.save(d / "objects.npy", np.array([{"a": 1}, {"b": 2}], dtype=object), allow_pickle=True)
    (d / "index.csv").write_text("video_id,label\nv1,bowling\nv2,vault\n")
    (d / "loop").symlink_to(d / "loop")  # ln -s loop loop: neither a file nor missing
    broken = d / "root_broken" / "features" / "olympics" / "broken"
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text("{oops")
    f.update(marker=marker, broken_root=str(d / "root_broken"))
    return f


def cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_clear_error(rc, err, phrase):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err, err
    assert rc == 2, err
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], f"expected one 'error: ...' line, got:\n{err}"
    assert re.search(phrase, errors[0]), f"{phrase!r} not in: {errors[0]}"


def run_args(tmp_path, *extra, folds="0"):
    base = ["--methods", "label", "--datasets", "olympics", "--no-report", "--no-progress",
            "--records", str(tmp_path / "r.jsonl")]
    return base + (["--folds", folds] if folds is not None else []) + list(extra)


# (case id, argv (with {f[...]} file keys), telling phrase): run-command cases
RUN_CASES = [
    ("folds a", dict(folds="a"), r"--folds 'a'.*not a fold number"),
    ("folds -1", dict(folds="-1"), r"--folds '-1'.*not a fold number"),
    ("folds 3-1", dict(folds="3-1"), r"--folds '3-1'.*empty.*1-3"),
    ("folds ,", dict(folds=","), r"selects no fold"),
    ("seeds a", dict(extra=["--seeds", "a"]), r"--seeds 'a'.*not a seed"),
    ("seeds empty", dict(extra=["--seeds", ""]), r"--seeds ''.*empty seed"),
    ("seeds 2**64", dict(extra=["--seeds", "0,18446744073709551616"]),  # used to fail mid-run (torch.manual_seed)
     r"--seeds '0,18446744073709551616': seed '18446744073709551616' is too large; seeds go from 0 to 2\*\*63-1 "
     r"\(9223372036854775807\)"),
    ("seeds 5000 digits", dict(extra=["--seeds", "9" * 5000]), r"--seeds '9+\.\.\.: seed '9+\.\.\. is too large"),
    ("eszsl.alpha=400", dict(extra=["--method-args", "eszsl.alpha=400"], methods="eszsl"),  # NaN scores mid-run
     r"eszsl\.alpha=400.0: an exponent.*-12 to 12"),
    ("eszsl.gamma=-400", dict(extra=["--method-args", "eszsl.gamma=-400"], methods="eszsl"),
     r"eszsl\.gamma=-400.0: an exponent"),
    ("sae.lam=1e308", dict(extra=["--method-args", "sae.lam=1e308"], methods="sae"), r"sae\.lam=1e\+308: give a weight"),
    ("sae.space=x", dict(extra=["--method-args", "sae.space=x"], methods="sae"), r"sae\.space=x: choose semantic or visual"),
    ("batch_size=0", dict(extra=["--method-args", "label.batch_size=0"]), r"label\.batch_size=0.*at least 1"),
    ("epochs=0", dict(extra=["--method-args", "label.epochs=0"]), r"label\.epochs=0.*at least 1"),
    ("lr=nan", dict(extra=["--method-args", "label.lr=nan"]), r"label\.lr=nan.*finite"),
    ("lr=inf", dict(extra=["--method-args", "label.lr=inf"]), r"label\.lr=inf.*finite"),
    ("lr=-1", dict(extra=["--method-args", "label.lr=-1"]), r"label\.lr=-1.*above 0"),
    ("text_style=bogus", dict(extra=["--method-args", "label.text_style=bogus"]), r"unknown text style 'bogus'"),
    ("text_style={nam}", dict(extra=["--method-args", "label.text_style={{nam}}"]), r"unknown field\(s\) \{nam\}"),
    ("text_style=a video {", dict(extra=["--method-args", "label.text_style=a video {{"]), r"malformed"),
    ("text_style={identifier} only", dict(extra=["--method-args", "label.text_style={{identifier}}"]),
     r"has no \{name\} or \{description\}"),
    ("text_style={name:999999999}", dict(extra=["--method-args", "label.text_style={{name:999999999}}"]),  # MemoryError
     r"label\.text_style=\{name:999999999\}: text template .* formats a field \(\{name:999999999\}\); write the "
     r"fields plain, with no ':' or '!'"),
    ("text_style={name:99999999999}", dict(extra=["--method-args", "label.text_style=a {{name:99999999999}}"]),
     r"formats a field \(\{name:99999999999\}\)"),
    ("text_style={name!r}", dict(extra=["--method-args", "label.text_style=a video of {{name!r}}"]),
     r"formats a field \(\{name!r\}\)"),
    ("text_style={name:{description}}", dict(extra=["--method-args", "label.text_style={{name:{{description}}}}"]),
     r"formats a field \(\{name:\{description\}\}\)"),
    ("epochs=2.7", dict(extra=["--method-args", "label.epochs=2.7"]), r"label\.epochs=2\.7.*expected an integer"),
    ("epochs=abc", dict(extra=["--method-args", "label.epochs=abc"]), r"expected an integer"),
    ("semantic=/missing.bin", dict(methods="eszsl", extra=["--method-args", "eszsl.semantic=/missing.bin"]),
     r"eszsl\.semantic=/missing\.bin.*not found"),
    ("semantic=evil.kv", dict(methods="eszsl", extra=["--method-args", "eszsl.semantic={dir}/evil.kv"]),
     r"gensim pickle.*convert-vectors .*--trust-pickle"),
    ("device gpu", dict(extra=["--device", "gpu"]), r"--device 'gpu'.*auto.*cpu.*cuda:N"),
    ("protocol + split-file", dict(extra=["--protocol", "random-50-50", "--split-file", "{ok}"]),
     r"--protocol random-50-50 and --split-file .* both choose the folds"),
    ("split fold '1' and 1", dict(folds=None, extra=["--split-file", "{fold_str_and_int}"]),
     r"fold_str_and_int\.json: fold #0: 'fold' must be a whole number.*'1'"),
    ("split fold 1.5", dict(folds=None, extra=["--split-file", "{fold_float}"]),
     r"fold_float\.json: fold #0: 'fold' must be a whole number.*1\.5"),
    ("split fold true", dict(folds=None, extra=["--split-file", "{fold_bool}"]),
     r"fold_bool\.json: fold #0: 'fold' must be a whole number"),
    ("split fold 'a'", dict(folds=None, extra=["--split-file", "{fold_a}"]),
     r"fold_a\.json: fold #0: 'fold' must be a whole number.*'a'"),
    ("split counts unsen", dict(folds=None, extra=["--split-file", "{counts_unsen}"]),
     r"counts_unsen\.json: counts has unknown key\(s\) 'unsen'"),
    ("split class as list", dict(folds=None, extra=["--split-file", "{class_list}"]),
     r"class_list\.json: fold #0: 'seen' must list class identifiers as strings"),
    ("split one unseen class", dict(folds=None, extra=["--split-file", "{one_unseen}"]),
     r"one_unseen\.json: fold #0: 'unseen' has 1 class.*at least two"),
    ("descriptions twice (json)", dict(extra=["--descriptions", "{dir}/dup.json"]),
     r"dup\.json: class 'discus_throw' is described twice"),
    ("descriptions twice (tsv)", dict(extra=["--descriptions", "{dir}/dup.tsv"]),
     r"dup\.tsv: class 'discus_throw' is described twice"),
    ("descriptions binary", dict(extra=["--descriptions", "{dir}/binary.tsv"]), r"binary\.tsv: not a UTF-8 text file"),
    ("data root a file", dict(extra=["--data-root", "{dir}/afile"]), r"data root .*afile is a file"),
    ("features ../../../outside", dict(extra=["--features", "../../../outside"]),
     r"'\.\./\.\./\.\./outside' is not a plain name"),
    ("features a/b", dict(extra=["--features", "a/b"]), r"not a plain name"),
    ("corrupt manifest.json", dict(extra=["--features", "broken", "--data-root", "{broken_root}"]),
     r"olympics/broken: .*manifest\.json cannot be read.*re-import"),
    # a symlink loop (ln -s loop loop) used to read as "does not exist" (create it: impossible) or a traceback
    ("records a symlink loop", dict(extra=["--records", "{dir}/loop"]),
     r"records file .*/loop is a symlink loop \(a link that leads back to itself\); remove the link \(rm .*/loop\)"),
    ("records through a symlink loop", dict(extra=["--records", "{dir}/loop/r.jsonl"]),
     r"records file .*/loop/r\.jsonl goes through a symlink loop at .*/loop; remove the link"),
    ("split file a symlink loop", dict(folds=None, extra=["--split-file", "{dir}/loop"]),
     r"split file .*/loop is a symlink loop.*rm .*/loop\) or pass --split-file"),
    ("data root a symlink loop", dict(extra=["--data-root", "{dir}/loop"]),
     r"data root .*/loop is a symlink loop.*rm .*/loop\) or pass --data-root a writable folder"),
    ("data root through a symlink loop", dict(extra=["--data-root", "{dir}/loop/root"]),
     r"data root .*/loop/root goes through a symlink loop at .*/loop; remove that link"),
    ("descriptions a symlink loop", dict(extra=["--descriptions", "{dir}/loop"]),
     r"descriptions file .*/loop is a symlink loop"),
]


def _fill(s, files):
    return s.format(**{k: v for k, v in files.items() if isinstance(v, (str, Path))})


@pytest.mark.parametrize("case,spec,phrase", RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_run_bad_input_is_a_one_line_error(case, spec, phrase, files, tmp_path, capsys):
    argv = run_args(tmp_path, *(_fill(a, files) for a in spec.get("extra", [])), folds=spec.get("folds", "0"))
    if "methods" in spec:
        argv[1] = spec["methods"]
    rc, _, err = cli(capsys, *argv)
    assert_clear_error(rc, err, phrase)
    assert not (tmp_path / "r.jsonl").exists() or not (tmp_path / "r.jsonl").read_text().strip()
    assert not files["marker"].exists()


COMMAND_CASES = [
    ("texts --style {nam}", ["texts", "olympics", "--style", "{{nam}}"], r"unknown field\(s\) \{nam\}"),
    ("texts --style bogus", ["texts", "olympics", "--style", "bogus"], r"unknown text style 'bogus'"),
    ("texts --style {name:999999999}", ["texts", "olympics", "--style", "{{name:999999999}}"],
     r"formats a field \(\{name:999999999\}\)"),
    ("report on a symlink loop", ["report", "--records", "{dir}/loop", "--reports-dir", "{dir}/rep-loop"],
     r"records file .*/loop is a symlink loop.*rm "),
    ("compare on a symlink loop", ["compare", "eszsl", "chance", "--dataset", "olympics", "--records", "{dir}/loop"],
     r"records file .*/loop is a symlink loop.*rm "),
    ("texts binary descriptions", ["texts", "olympics", "--descriptions", "{dir}/binary.tsv"], r"not a UTF-8"),
    ("texts descriptions twice", ["texts", "olympics", "--descriptions", "{dir}/dup.tsv"], r"described twice"),
    ("splits foo", ["splits", "foo", "random-50-50"], r"unknown dataset 'foo'.*Valid choices: .*hmdb51"),
    ("frobnicate", ["frobnicate"], r"unknown command 'frobnicate'.*Commands: list, splits"),
    ("reprot", ["reprot"], r"unknown command 'reprot'. Did you mean: report"),
    ("wv-coverage evil.kv", ["wv-coverage", "olympics", "--vectors", "{dir}/evil.kv"],
     r"evil\.kv is a gensim pickle.*--trust-pickle.*convert-vectors"),
    ("wv-coverage pickle named .bin", ["wv-coverage", "olympics", "--vectors", "{dir}/evil.bin"],
     r"evil\.bin is a gensim pickle"),
    ("wv-coverage missing", ["wv-coverage", "olympics", "--vectors", "{dir}/nope.txt"], r"not found"),
    ("wv-coverage not vectors", ["wv-coverage", "olympics", "--vectors", "{dir}/binary.tsv"],
     r"cannot read word vectors from .*binary\.tsv"),
    ("overlap evil.kv", ["overlap", "k400", "olympics", "--vectors", "{dir}/evil.kv", "--reports-dir", "{dir}/rep"],
     r"evil\.kv is a gensim pickle.*--trust-pickle"),
    ("convert-vectors untrusted", ["convert-vectors", "{dir}/evil.kv", "{dir}/out.txt"], r"--trust-pickle"),
    ("import object-dtype .npy", ["import-features", "olympics", "objset", "{dir}/objects.npy", "--from", "generic",
                                  "--index", "{dir}/index.csv", "--data-root", "{dir}/root_import",
                                  "--allow-empty-classes"],
     r"objects\.npy.*Python objects"),
    ("extract --device gpu", ["extract-features", "olympics", "x", "--videos", "{dir}", "--device", "gpu"],
     r"--device 'gpu'"),
]


@pytest.mark.parametrize("case,argv,phrase", COMMAND_CASES, ids=[c[0] for c in COMMAND_CASES])
def test_command_bad_input_is_a_one_line_error(case, argv, phrase, files, capsys):
    rc, _, err = cli(capsys, *(_fill(a, files) for a in argv))
    assert_clear_error(rc, err, phrase)
    assert not files["marker"].exists(), "a pickle was executed"


def test_read_only_data_root(files, tmp_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anywhere: make the check see what a user would
            real = os.access
            monkeypatch.setattr(paths.os, "access", lambda p, m, *a, **k: False if Path(p) == ro else real(p, m))
        rc, _, err = cli(capsys, *run_args(tmp_path, "--data-root", ro))
        assert_clear_error(rc, err, r"data root .*ro is read-only.*--data-root")
    finally:
        ro.chmod(0o755)


def test_list_features_shows_a_broken_set_instead_of_crashing(files, capsys):
    rc, out, err = cli(capsys, "list", "features", "--format", "json", "--data-root", files["broken_root"])
    assert rc == 0 and "Traceback" not in err
    rows = {r["features"]: r for r in json.loads(out)["features"] if r["dataset"] == "olympics"}
    assert rows["broken"]["installed"] is False and "BROKEN" in rows["broken"]["source"]


@pytest.mark.parametrize("damage", ["truncated features.npy", "missing meta.npz", "object-dtype features.npy",
                                    "corrupt manifest.json"])
def test_damaged_synthetic_cache_says_delete_and_regenerate(damage, olympics_features, tmp_path, capsys):
    from zsar_bench.features.base import feature_root

    src = feature_root("olympics", "synthetic")
    root = tmp_path / "root"
    dst = root / "features" / "olympics" / "synthetic"
    shutil.copytree(src, dst)
    cache = next(dst.rglob("features.npy")).parent
    if damage == "truncated features.npy":
        os.truncate(cache / "features.npy", 100_000)
    elif damage == "missing meta.npz":
        (cache / "meta.npz").unlink()
    elif damage == "object-dtype features.npy":
        np.save(cache / "features.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    else:
        (cache / "manifest.json").write_text("{oops")
    rc, _, err = cli(capsys, *run_args(tmp_path, "--data-root", root))
    assert_clear_error(rc, err, r"(?i)delete")


# -- the pieces behind the table ------------------------------------------------------------------
def test_method_args_split_only_before_method_key():
    got = parse_method_args(["label.text_style=a video of {name}, outdoors,label.lr=1e-3", "er.epochs=2"],
                            ["label", "er"])
    assert got == {"label": {"text_style": "a video of {name}, outdoors", "lr": "1e-3"}, "er": {"epochs": "2"}}


def test_comma_in_a_method_arg_value_reaches_the_method(files, tmp_path, capsys):
    # fold 99 does not exist: the run stops there, after the method args were parsed and validated
    rc, _, err = cli(capsys, *run_args(tmp_path, "--method-args", "label.text_style=a video of {name}, outdoors",
                                       folds="99"))
    assert_clear_error(rc, err, r"folds \[99\] not in")


def test_integer_and_validation_rules_apply_to_every_method(plugins):
    from zsar_bench.method import Method, ParamError, build_method, parse_value

    assert parse_value("10", 3) == 10 and parse_value("1e3", 3) == 1000
    for bad in ("2.7", "abc", "nan", "inf"):
        with pytest.raises(ValueError):
            parse_value(bad, 3)
    assert build_method("label", {"epochs": "4", "text_style": "a video of {name}"}).epochs == 4

    class Plugin(Method):  # not registered: validate_params comes with the base class
        def __init__(self, epochs: int = 3, lr: float = 1e-3, batch_size: int = 8, text_style: str = "name"):
            self.epochs, self.lr, self.batch_size, self.text_style = epochs, lr, batch_size, text_style

    Plugin().validate_params()
    for kw in ({"epochs": 0}, {"epochs": 2.5}, {"lr": float("nan")}, {"batch_size": 0}, {"text_style": "{nam}"}):
        with pytest.raises(ParamError):
            Plugin(**kw).validate_params()


@pytest.mark.parametrize("seeds", [[2**64], [0, 2**63], 2**64, np.uint64(2**64 - 1), [10**5000],
                                   "18446744073709551616"])
def test_a_seed_beyond_int64_is_refused_by_evaluate_before_any_run(seeds, tmp_path):
    """torch.manual_seed refuses 2**64 and more, and records, tables and parquet hold an int64: the API refuses in
    one line what used to fail each run."""
    import zsar_bench
    from zsar_bench.running.planning import PlanError

    rec = tmp_path / "r.jsonl"
    too_large = r"seed .* is too large; seeds go from 0 to 2\*\*63-1 \(9223372036854775807\)"
    with pytest.raises(PlanError, match=too_large) as e:
        zsar_bench.evaluate("chance", "olympics", folds=0, seeds=seeds, records=str(rec), log=lambda m: None)
    assert "\n" not in str(e.value) and len(str(e.value)) < 300
    assert not rec.exists()


def test_the_largest_seed_is_accepted_and_a_config_file_is_checked_too(tmp_path):
    from zsar_bench.running.planning import MAX_SEED, ConfigError, load_config, parse_seeds

    assert MAX_SEED == 2**63 - 1
    assert parse_seeds(f"0,{MAX_SEED},007") == [0, MAX_SEED, 7] and parse_seeds([MAX_SEED]) == [MAX_SEED]
    cfg = tmp_path / "big.yaml"
    cfg.write_text("methods: [chance]\ndatasets: [olympics]\nseeds: [0, 18446744073709551616]\n")
    with pytest.raises(ConfigError, match=r"seeds.*18446744073709551616 is too large"):
        load_config(cfg, run_parser())


def test_a_format_spec_in_a_text_template_is_refused_before_anything_formats():
    """``{name:999999999}`` asked str.format for a 1 GB string per class (MemoryError beyond); only plain fields."""
    from zsar_bench.text.styles import TextStyleError, check_style, class_text
    from zsar_bench.types import ClassInfo

    for bad in ("{name:999999999}", "{name:>5}", "{description!s}", "a {name!r:^20}", "{name:{identifier}}"):
        with pytest.raises(TextStyleError, match="formats a field"):
            check_style(bad)
        with pytest.raises(TextStyleError, match="formats a field"):
            class_text(ClassInfo("a", "run"), bad)
    assert check_style("a video of {name}: {description} ({identifier}) {{literal}}")


def test_feature_set_names_cannot_leave_the_data_root():
    from zsar_bench.features import FeatureStoreError, load_feature_set
    from zsar_bench.features.base import feature_root

    for bad in ("../outside", "..", "a/b", "/abs", "", ".hidden", "a..b"):
        with pytest.raises(FeatureStoreError, match="not a plain name"):
            feature_root("olympics", bad)
    with pytest.raises(FeatureStoreError, match="not a plain name"):
        load_feature_set("../../x", "synthetic")
    assert feature_root("olympics", "tsm-bit").parent.parent.parent == paths.data_root()


def test_kv_pickle_payload_is_never_executed(files, tmp_path):
    from zsar_bench.models.semantic import class_semantics
    from zsar_bench.text.wordvectors import WordVectorError, check_vectors_spec, load_word_vectors
    from zsar_bench.types import ClassInfo

    marker = files["marker"]
    for name in ("evil.kv", "evil.bin"):
        with pytest.raises(WordVectorError, match="pickle"):
            load_word_vectors(str(files["dir"] / name))
        with pytest.raises(WordVectorError, match="convert-vectors"):
            check_vectors_spec(str(files["dir"] / name), for_method=True)
        with pytest.raises(WordVectorError):
            class_semantics([ClassInfo("a", "run")], str(files["dir"] / name))
    assert not marker.exists(), "unpickling ran the file's payload"


def test_trusted_kv_converts_once_to_word2vec_text(tmp_path, capsys):
    from gensim.models import KeyedVectors

    from zsar_bench.text.wordvectors import load_word_vectors

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["ride", "horse"], np.eye(2, 3, dtype=np.float32) + 0.5)
    kv.save(str(tmp_path / "real.kv"))
    rc, out, err = cli(capsys, "convert-vectors", tmp_path / "real.kv", tmp_path / "real.txt", "--trust-pickle")
    assert rc == 0, err
    back = load_word_vectors(str(tmp_path / "real.txt"))
    np.testing.assert_allclose(back["horse"], kv["horse"], atol=1e-5)
    rc, out, err = cli(capsys, "wv-coverage", "olympics", "--vectors", tmp_path / "real.kv", "--trust-pickle",
                       "--format", "json")
    assert rc == 0 and json.loads(out)[0]["dataset"] == "olympics", err


def test_a_config_key_given_twice_is_refused(tmp_path):
    from zsar_bench.running.planning import ConfigError, load_config

    cfg = tmp_path / "dup.yaml"
    cfg.write_text('methods: [eszsl]\ndatasets: [olympics]\nfolds: "0"\nfolds: "1"\n')
    with pytest.raises(ConfigError, match=r"key 'folds' is given twice \(line 4\)"):
        load_config(cfg, run_parser())


def test_a_yaml_anchor_bomb_under_a_valid_key_is_refused_in_a_short_message(tmp_path):
    """Seven levels of nine aliases: 4.8 million values once expanded (the error message that printed them was
    28 MB); refused before anything reads them."""
    from zsar_bench.literature import LiteratureError, parse_literature
    from zsar_bench.running.planning import ConfigError, load_config

    levels = ['&l0 ["x","x","x","x","x","x","x","x","x"]']
    levels += [f"&l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 7)]
    text = f"methods: [eszsl]\ndatasets: [olympics]\nseeds: [{', '.join(levels)}]\n"
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match="expands to more than 100,000 values") as e:
        load_config(cfg, run_parser())
    assert len(str(e.value)) < 300
    with pytest.raises(LiteratureError, match="expands to more than 100,000 values"):
        parse_literature(text, "bomb.yaml")


def _eszsl_rows(n=3):
    from conftest import ROOT

    rows = [json.loads(line) for line in (ROOT / "results" / "records.jsonl").read_text().splitlines()
            if '"method": "eszsl"' in line and '"dataset": "olympics"' in line]
    return rows[:n]


def test_a_byte_order_mark_does_not_cost_the_first_record(tmp_path):
    from zsar_bench.results.records import RecordStore

    rows = _eszsl_rows()
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\n" for r in rows).encode())
    assert [r["fold"] for r in RecordStore(path).read()] == [r["fold"] for r in rows]


@pytest.mark.parametrize("field, value, why", [
    ("fold", "3", "its fold is '3', not a whole number"),
    ("seed", 1.5, "its seed is 1.5, not a whole number"),
    ("top1", 5.0, r"its top1 is 5.0, outside \[0, 1\]"),
    ("top5", "abc", "its top5 is 'abc', not a number"),
])
def test_a_record_with_a_malformed_fold_or_metric_is_left_out_of_the_tables_with_a_warning(field, value, why):
    """The tables skip it (a string fold would count as a fold of its own and hide a missing one); the store
    keeps it: its keys are what makes appends idempotent."""
    from zsar_bench.reports.tables import records_frame

    rows = _eszsl_rows()
    rows[1][field] = value
    with pytest.warns(UserWarning, match=why):
        df, _ = records_frame(rows)
    assert len(df) == 2


def test_a_nan_metric_is_kept_and_said():
    from zsar_bench.reports.tables import records_frame

    rows = _eszsl_rows()
    rows[0]["top1"] = float("nan")
    with pytest.warns(UserWarning, match="has NaN top1: the tables leave the mean of its row empty"):
        df, _ = records_frame(rows)
    assert len(df) == 3


def test_compare_refuses_a_column_that_is_not_a_metric(tmp_path, capsys):
    from conftest import ROOT

    rc = main(["compare", "eszsl", "chance", "--dataset", "olympics", "--records", str(ROOT / "results" / "records.jsonl"),
               "--metric", "fold"])
    err = capsys.readouterr().err
    assert rc == 2 and "--metric fold: not a metric; choose one of top1" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["--methods", "chance", "--datasets", "olympics", "--folds", "0", "--no-report"],
                                  ["report"], ["compare", "eszsl", "chance", "--dataset", "olympics"]])
def test_a_fifo_as_the_records_file_is_refused_instead_of_blocking(argv, tmp_path, capsys):
    fifo = tmp_path / "records.jsonl"
    os.mkfifo(fifo)
    rc = main([*argv, "--records", str(fifo)])
    err = capsys.readouterr().err
    assert rc == 2 and "is not a regular file (a pipe or a device?)" in err and "Traceback" not in err
