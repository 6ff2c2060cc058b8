"""Sweeps from config files (run_bench.py --config FILE.yaml): grids expand to runs keyed exactly like the
same runs asked for with --method-args, shipped configs plan, options pass through, mistakes are clear."""
import json
import textwrap

import pytest

from conftest import ROOT

from zsar_bench import cli
from zsar_bench.cli import run as cli_run
from zsar_bench.running.planning import ConfigError, expand_grid, load_config
from zsar_bench.running.resolve import spec_key


@pytest.fixture
def planned(monkeypatch):
    """Run the command line with run_specs replaced by a recorder: what would run, and with which options."""
    calls = []

    def fake_run_specs(specs, store, **kwargs):
        calls.append((list(specs), kwargs))
        return [], 0

    monkeypatch.setattr(cli_run, "run_specs", fake_run_specs)  # the name the run command calls

    def plan(*argv, tmp):
        calls.clear()
        rc = cli.main([*argv, "--records", str(tmp / "r.jsonl"), "--no-report", "--no-progress"])
        assert rc == 0
        (specs, kwargs), = calls
        return specs, kwargs

    return plan


def keys(specs):
    return [spec_key(s, "features-id") for s in specs]


def write(tmp_path, text, name="sweep.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_a_grid_point_is_keyed_like_the_same_method_args(planned, tmp_path, plugins):
    cfg = write(tmp_path, """
        methods:
          label: {lr: [1e-3, 3.0e-4], epochs: 2}   # YAML reads 1e-3 as text, 3.0e-4 as a number: the same
          eszsl: {}
        datasets: [olympics]
        folds: 0-1
        seeds: [0, 1]
    """)
    from_config, _ = planned("--config", str(cfg), tmp=tmp_path)
    from_cli = []
    common = ["--datasets", "olympics", "--folds", "0-1", "--seeds", "0,1"]
    for margs in ("label.lr=1e-3,label.epochs=2", "label.lr=3e-4,label.epochs=2"):
        from_cli += planned("--methods", "label", "--method-args", margs, *common, tmp=tmp_path)[0]
    from_cli += planned("--methods", "eszsl", *common, tmp=tmp_path)[0]
    assert len(from_config) == len(from_cli) == 12
    assert sorted(keys(from_config)) == sorted(keys(from_cli))
    assert len({k[1] for k in keys(from_config)}) == 3  # two label configurations and eszsl's
    # the config's typed values are the values --method-args gives the method
    from zsar_bench.method import build_method

    for s in from_config:
        twin = next(c for c in from_cli if spec_key(c, "f") == spec_key(s, "f"))
        assert build_method(s.method, s.method_args).get_params() == build_method(twin.method,
                                                                                  twin.method_args).get_params()
        assert s.device == twin.device and s.device in ("cpu", "cuda")


def test_the_default_grid_point_is_the_plain_command(planned, tmp_path):
    sweep, kwargs = planned("--config", str(ROOT / "configs" / "lr_sweep.yaml"), tmp=tmp_path)
    assert len(sweep) == 6 * 5 and {s.fold.fold for s in sweep} == set(range(5)) and kwargs["jobs"] == 2
    plain, _ = planned("--methods", "label,er", "--datasets", "hmdb51", "--folds", "0-4", tmp=tmp_path)
    assert set(keys(plain)) <= set(keys(sweep))  # lr 1e-3 is the default of both


def test_shipped_configs_plan(planned, tmp_path):
    for name in ("er_ablations", "baselines", "lr_sweep"):
        cfg = load_config(ROOT / "configs" / f"{name}.yaml", cli.run_parser())
        assert cfg.methods and cfg.options["datasets"]
    abl, kwargs = planned("--config", str(ROOT / "configs" / "er_ablations.yaml"), tmp=tmp_path)
    assert {s.method for s in abl} == {"er", "er-ed", "er-obj", "er-noer", "er-name"}
    assert len(abl) == 5 * 50 and {s.dataset for s in abl} == {"hmdb51"} and kwargs["jobs"] == 2
    base, _ = planned("--config", str(ROOT / "configs" / "baselines.yaml"), "--folds", "0", tmp=tmp_path)
    assert {s.dataset for s in base} == {"olympics", "hmdb51", "ucf101"} and len(base) == 11 * 3
    assert {"w2v", "eszsl", "sae", "devise", "ale", "sje", "conse", "dem"} <= {s.method for s in base}


def test_command_line_options_override_the_file_and_executor_options_pass_through(planned, tmp_path):
    cfg = write(tmp_path, """
        methods: [eszsl, w2v]
        datasets: olympics,hmdb51
        folds: [0, 1, 2]
        jobs: 2
        threads: 1
        executor: inline
        runs-per-job: 3
    """)
    specs, kwargs = planned("--config", str(cfg), tmp=tmp_path)
    assert len(specs) == 2 * 2 * 3 and kwargs["jobs"] == 2
    assert kwargs["executor"].kind == "inline" and kwargs["executor"].runs_per_job == 3
    specs, kwargs = planned("--config", str(cfg), "--folds", "1", "--datasets", "olympics", "--jobs", "1",
                            tmp=tmp_path)
    assert len(specs) == 2 and {s.fold.fold for s in specs} == {1} and kwargs["jobs"] == 1


def test_union_of_grids_and_modes(planned, tmp_path):
    cfg = write(tmp_path, """
        methods:
          eszsl: [{alpha: [2, 3]}, {gamma: 1}]
        datasets: [olympics]
        folds: 0
        mode: [zsl, gzsl]
    """)
    specs, _ = planned("--config", str(cfg), tmp=tmp_path)
    assert len(specs) == 3 * 2 and {s.mode for s in specs} == {"zsl", "gzsl"}
    assert len({k[1] for k in keys(specs)}) == 3
    fs = write(tmp_path, """
        methods: {eszsl: {}}
        datasets: [olympics]
        folds: 0
        fewshot: [1, 2]
    """, "fs.yaml")
    specs, _ = planned("--config", str(fs), tmp=tmp_path)
    assert sorted(s.mode for s in specs) == ["fewshot-1", "fewshot-2"]


def test_expand_grid_is_the_cartesian_product_in_file_order():
    assert expand_grid({"lr": [1, 2], "epochs": 5, "style": ["a", "b"]}) == [
        {"lr": 1, "epochs": 5, "style": "a"}, {"lr": 1, "epochs": 5, "style": "b"},
        {"lr": 2, "epochs": 5, "style": "a"}, {"lr": 2, "epochs": 5, "style": "b"}]
    assert expand_grid({}) == [{}]


BASE = "datasets: [olympics]\nfolds: 0\n"


@pytest.mark.parametrize("text,key,msg", [
    ("methods: {label: {}}\n" + BASE + "fold: 1\n", "unknown key 'fold'", "Did you mean: folds"),
    ("methods: {label: {}}\n" + BASE + "method_args: {}\n", "unknown key 'method_args'", "under `methods:`"),
    ("methods: {lable: {}}\n" + BASE, "methods.lable", "Did you mean: label"),
    ("methods: {label: {lrr: 1e-3}}\n" + BASE, "methods.label.lrr", "no parameter 'lrr'"),
    ("methods: {label: {epochs: [2, 2.5]}}\n" + BASE, "methods.label.epochs", "not a whole number"),
    ("methods: {er: {use_video: maybe}}\n" + BASE, "methods.er.use_video", "expected a boolean"),
    ("methods: {label: {text_style: 5}}\n" + BASE, "methods.label.text_style", "expected a string"),
    ("methods: {label: {lr: abc}}\n" + BASE, "methods.label.lr", "expected a number"),
    ("methods: {label: {lr: []}}\n" + BASE, "methods.label.lr", "an empty list"),
    ("methods: {label: {lr: {a: 1}}}\n" + BASE, "methods.label.lr", "expected a single value"),
    ("methods: {label: {epochs: 0}}\n" + BASE, "methods.label", "must be at least 1"),
    ("methods: {label: 3}\n" + BASE, "methods.label", "expected a mapping"),
    ("methods: {label: {}}\n" + BASE + "jobs: two\n", "jobs", "expected a whole number"),
    ("methods: {label: {}}\n" + BASE + "executor: cloud\n", "executor", "is not one of"),
    ("methods: {label: {}}\n" + BASE + "overwrite: 1\n", "overwrite", "expected true or false"),
    ("methods: {label: {}}\ndatasets: [hmdb]\n", "datasets", "Did you mean: hmdb51"),
    ("methods: {label: {}}\nfolds: 0\n", "datasets", "missing"),
    ("methods: {label: {}}\ndatasets: [olympics]\nfolds: 3-1\n", "folds", "is empty"),
    ("methods: {label: {}}\ndatasets: [olympics]\nseeds: [0, -1]\n", "seeds", "is not a seed"),
    ("methods: {label: {}}\ndatasets: [olympics]\nmode: zsll\n", "mode", "unknown evaluation mode"),
    ("methods: {label: {}}\ndatasets: [olympics]\nmode: gzsl\nfewshot: 5\n", "mode", "give one of them"),
    ("methods: {label: {}}\ndatasets: [olympics]\nfewshot: [0]\n", "fewshot", "not a positive whole number"),
    ("methods: {label: {}\n", "not valid YAML", ""),
    ("- label\n", "expected a mapping of keys", ""),
])
def test_config_mistakes_name_the_file_and_key(text, key, msg, tmp_path, capsys):
    cfg = write(tmp_path, text, "bad.yaml")
    with pytest.raises(ConfigError) as e:
        load_config(cfg, cli.run_parser())
    assert str(cfg) in str(e.value) and key in str(e.value) and msg in str(e.value)
    rc = cli.main(["--config", str(cfg), "--records", str(tmp_path / "r.jsonl"), "--no-report"])
    err = capsys.readouterr().err
    assert rc == 2 and f"error: {cfg}" in err and key in err and "Traceback" not in err
    assert not (tmp_path / "r.jsonl").exists()


@pytest.mark.parametrize("argv,msg", [
    (["--config", "CFG", "--methods", "eszsl"], "--methods cannot be combined with --config"),
    (["--config", "CFG", "--method-args", "eszsl.alpha=2"], "--method-args cannot be combined with --config"),
    (["--config", "MISSING"], "not found"),
    (["--datasets", "olympics"], "the following arguments are required: --methods (or --config FILE.yaml)"),
])
def test_config_on_the_command_line_errors(argv, msg, tmp_path, capsys):
    cfg = write(tmp_path, "methods: [eszsl]\ndatasets: [olympics]\n")
    argv = [str(cfg) if a == "CFG" else str(tmp_path / "missing.yaml") if a == "MISSING" else a for a in argv]
    rc = cli.main([*argv, "--records", str(tmp_path / "r.jsonl"), "--no-report"])
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and "Traceback" not in err, err


def test_a_config_sweep_runs_and_resumes(tmp_path, olympics_features, capsys):
    cfg = write(tmp_path, """
        methods:
          eszsl: {alpha: [2, 3]}
        datasets: [olympics]
        folds: 0
        executor: inline
    """)
    rec = tmp_path / "r.jsonl"
    args = ["--config", str(cfg), "--records", str(rec), "--no-report", "--no-progress"]
    assert cli.main(args) == 0
    rows = [json.loads(line) for line in rec.read_text().splitlines()]
    assert sorted(r["params"]["alpha"] for r in rows) == [2.0, 3.0]
    capsys.readouterr()
    assert cli.main(["--methods", "eszsl", "--datasets", "olympics", "--folds", "0", "--method-args",
                     "eszsl.alpha=2", "--records", str(rec), "--no-report", "--no-progress", "--executor",
                     "inline"]) == 0
    assert "skipping 1 run(s)" in capsys.readouterr().err and len(rec.read_text().splitlines()) == 2
