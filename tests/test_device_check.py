"""The prepared device check (scripts/device_check.py) in its --small mode on a CPU: every section runs through the
code a GPU run uses, at tiny sizes, and writes its JSON and Markdown (so it cannot rot before a GPU appears)."""
import importlib.util
import json

import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("device_check", ROOT / "scripts" / "device_check.py")
device_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(device_check)


@pytest.mark.slow
def test_small_device_check_runs_every_section_and_writes_its_results(tmp_path, data_root):
    rc = device_check.main(["--small", "--device", "cpu", "--out", str(tmp_path), "--data-root", str(data_root)])
    got = json.loads((tmp_path / "device_check_small.json").read_text())
    failed = {k: v.get("error") for k, v in got["sections"].items() if "error" in v}
    assert rc == 0 and not failed, failed
    env = got["environment"]
    assert env["device"] == "cpu" and env["small"] is True and env["gpu"] is None and env["torch"] and env["threads"] == 1
    s = got["sections"]
    assert [k for k, _ in device_check.SECTIONS] == list(s)
    er = s["er_cpu_vs_device"]
    assert len(er["per_fold"]) == 2 and er["max_abs_diff_top1"] == 0.0  # cpu against cpu: the same seeds agree
    assert all(0 <= r["top1_cpu"] <= 100 and r["s_cpu"] > 0 and r["recorded_device"] == "cpu" for r in er["per_fold"])
    methods = {r["method"]: r for r in s["methods_on_device"]["per_method"]}
    assert set(methods) == set(device_check.LEARNED)
    assert all(r["ok"] and r["fits"] >= 1 and r["steps"] >= 1 and r["amp"] == ["fp32"] and r["fit_s"] > 0
               for r in methods.values())
    calls = s["methods_on_device"]["per_call"]  # every learned method, in three evaluate calls (zsl, few-shot, CLIP)
    assert sorted(n for c in calls for n in c["methods"]) == sorted(device_check.LEARNED) and len(calls) == 3
    step = s["er_paper_step"]
    assert step["cached"]["steps_per_s"] > 0 and step["uncached"]["steps_per_s"] > 0 and step["speedup_cached"] > 0
    clip = s["clip_extraction"]
    assert clip["videos"] == 32 and clip["clips_per_s"] > 0 and clip["network_s"] >= 0 and clip["peak_host_mib"] > 0
    full = s["full_kinetics"]
    assert full["clips"] == 1240 and full["identity"].startswith("synthetic-v2-x1.") and full["recorded_device"] == "cpu"
    assert full["n_train_videos"] == 800 and full["train_s"] > 0 and full["score_s"] > 0
    md = (tmp_path / "device_check_small.md").read_text()
    assert md.startswith("# Device check (--small: tiny sizes)") and "CPU only" in md and "torch 2." in md
    for name in s:
        assert f"## {name}\n" in md
    assert "| clip-adapter |" in md and "| max_abs_diff_top1 | 0.0 |" in md


def test_a_probe_catches_a_parameter_left_on_the_wrong_device():
    """The trainer probe reports a module whose parameters are not on the device asked for (here: 'meta')."""
    import torch

    from zsar_bench.method import FitContext
    from zsar_bench.trainer import TrainConfig, Trainer

    class Toy:
        name = "toy"

    net = torch.nn.Linear(2, 1)
    x = torch.ones(4, 2)
    with device_check.TrainerProbe("meta") as probe:
        Trainer(FitContext(device="cpu", seed=0), TrainConfig(epochs=1, batch_size=2)).fit(
            Toy(), net, 4, lambda idx: net(x[idx]).sum())
    (fit,) = probe.fits
    assert fit["steps"] == 2
    assert "loss on cpu" in fit["wrong"] and any(w.startswith("parameters on ['cpu']") for w in fit["wrong"])
    assert any(w.startswith("optimizer state on ['cpu']") for w in fit["wrong"])
    assert Trainer.fit is not probe._fit or Trainer.fit.__name__ == "fit"  # restored after the block


def test_a_method_row_says_what_was_off_device_or_missing():
    rec = {"top1": 0.5, "train_s": 1.0, "eval_s": 0.5, "device": "cpu"}
    fit = {"method": "x", "wrong": [], "steps": 3, "fit_s": 0.9, "amp": False}
    row = device_check._check_method("x", rec, [fit], None, "cpu")
    assert row["ok"] and row["seconds"] == 1.5 and row["fit_s"] == 0.9 and row["steps"] == 3 and row["amp"] == ["fp32"]
    assert device_check._check_method("x", rec, [fit], None, "cuda")["wrong"] == ["recorded device cpu"]
    assert device_check._check_method("x", rec, [], None, "cpu")["wrong"] == ["never called the common trainer"]
    bad = dict(fit, wrong=["loss on cpu"], amp=True, amp_dtype="bfloat16")
    row = device_check._check_method("x", dict(rec, device="cuda"), [bad], None, "cuda")
    assert not row["ok"] and row["wrong"] == ["loss on cpu"] and row["amp"] == ["bfloat16"]
    assert device_check._check_method("x", None, [], "RuntimeError: boom", "cpu") == {
        "method": "x", "ok": False, "error": "RuntimeError: boom"}
