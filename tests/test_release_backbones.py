"""The project's TSM and BiT backbones against the release code they must reproduce.

The reference code sits beside the project in ``../shared/reference`` (never copied into it):

- ``tsm/ops``: the official TSM code; the public Kinetics checkpoint
  ``TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e100_dense.pth`` is a state dict of its
  ``TSN`` module, saved under ``module.`` by DataParallel.
- ``er-zsar/code/x_temporal``: the TSN / TSM ResNet-50 the ER release extracted its features with.
- ``er-zsar/code/bit_pytorch/models.py``: the BiT ResNetV2 ER used, with ``load_from`` reading
  Google's ``.npz`` keys.

Each test builds the release module with random weights, writes the weights in the layout the
public checkpoint has (a ``module.``-prefixed TSN state dict; Google's HWIO ``.npz``), loads that
file with the project's loader and checks that both compute the same numbers on the same input.
Release imports that need packages this environment lacks (torchvision, PIL, and the x_temporal
files the release does not ship) get stand-ins in ``sys.modules`` for the test only.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
TSM_CODE = REFERENCE / "tsm"
ER_CODE = REFERENCE / "er-zsar" / "code"
SEGMENTS, SHIFT_DIV, K400 = 8, 8, 400

# float32, same ops in the same order on both sides: differences can only come from the last bits
TIGHT = dict(rtol=1e-5, atol=1e-5)


def _require(*paths: Path) -> None:
    for p in paths:
        if not p.exists():
            pytest.skip(f"release reference code not present: {p} (needs ../shared/reference beside the repo)")


@pytest.fixture
def cpu_settings():
    """One thread (2 shared cores), denormals flushed (random deep networks produce them)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(threads)


@pytest.fixture
def release_imports(monkeypatch):
    """Import release packages (``ops``, ``x_temporal``) for one test only.

    Returns ``use(path, stubs, packages)``: puts ``path`` first on sys.path, hides any module already
    imported under one of ``packages`` (``ops`` is a generic name), and puts ``stubs`` into
    sys.modules. On teardown the release modules imported by the test are dropped and everything
    monkeypatched is restored.
    """
    owned: list[str] = []

    def use(path: Path, stubs: dict, packages: tuple[str, ...]):
        owned.extend(packages)
        for name in [m for m in sys.modules if m.split(".")[0] in packages]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.syspath_prepend(str(path))
        for name, mod in stubs.items():
            monkeypatch.setitem(sys.modules, name, mod)

    yield use
    for name in [m for m in sys.modules if m.split(".")[0] in owned]:
        del sys.modules[name]  # monkeypatch's undo (after this) restores whatever was there before
    importlib.invalidate_caches()


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    return mod


def _torchvision_stand_in() -> types.ModuleType:
    """torchvision is not importable beside the pinned torch: its ResNet-50 (module names = checkpoint
    keys) is stood in by the release's own torchvision-layout ResNet, x_temporal/models/resnet.py."""
    spec = importlib.util.spec_from_file_location("_release_xt_resnet", ER_CODE / "x_temporal" / "models" / "resnet.py")
    resnet = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(resnet)
    models = _module("torchvision.models", ResNet=resnet.ResNet, resnet50=resnet.resnet50)
    tv = _module("torchvision", models=models, transforms=_module("torchvision.transforms"))
    return tv


def _build_official_tsn(use):
    """The official TSM ``TSN`` (tsm/ops/models.py): resnet50, 8 segments, shift 8, blockres, avg consensus."""
    _require(TSM_CODE / "ops" / "models.py", ER_CODE / "x_temporal" / "models" / "resnet.py")
    tv = _torchvision_stand_in()
    pil = _module("PIL", Image=_module("PIL.Image", BILINEAR=2), ImageOps=_module("PIL.ImageOps"))
    use(TSM_CODE, {"torchvision": tv, "torchvision.models": tv.models, "torchvision.transforms": tv.transforms,
                   "PIL": pil, "PIL.Image": pil.Image, "PIL.ImageOps": pil.ImageOps}, ("ops",))
    models = importlib.import_module("ops.models")
    return models.TSN(K400, SEGMENTS, "RGB", base_model="resnet50", consensus_type="avg", dropout=0.5,
                      pretrain="none", is_shift=True, shift_div=SHIFT_DIV, shift_place="blockres",
                      temporal_pool=False, non_local=False, print_spec=False)


def _build_er_tsn(use):
    """ER's copy (x_temporal/core/models.py), same settings; the files the release does not ship
    (core/basic_ops, core/transforms, models/slowfast) are stood in; basic_ops by the official TSM's."""
    _require(ER_CODE / "x_temporal" / "core" / "models.py", TSM_CODE / "ops" / "basic_ops.py")
    spec = importlib.util.spec_from_file_location("_release_tsm_basic_ops", TSM_CODE / "ops" / "basic_ops.py")
    basic_ops = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(basic_ops)
    use(ER_CODE, {"torchvision": _module("torchvision"),
                  "x_temporal.core.basic_ops": basic_ops,
                  "x_temporal.core.transforms": _module("x_temporal.core.transforms"),
                  "x_temporal.models.slowfast": _module("x_temporal.models.slowfast")}, ("x_temporal",))
    models = importlib.import_module("x_temporal.core.models")
    return models.TSN(K400, SEGMENTS, "RGB", base_model="resnet50", consensus_type="avg", dropout=0.5,
                      pretrain=False, is_shift=True, shift_div=SHIFT_DIV, shift_place="blockres",
                      temporal_pool=False, non_local=False, print_spec=False)


def _randomise_norms(model: nn.Module, gen: torch.Generator) -> None:
    """Random affine and running statistics, so that a swapped or misplaced norm cannot go unseen."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


def _max_abs(a, b) -> float:
    return float((a - b).abs().max())


# --------------------------------------------------------------------------------------------- TSM
@pytest.mark.parametrize("release", ["official-tsm", "er-x_temporal"])
def test_tsm_matches_release(release, release_imports, cpu_settings, tmp_path):
    from zsar_bench.features.backbones import load_tsm

    build = _build_official_tsn if release == "official-tsm" else _build_er_tsn
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        tsn = build(release_imports)
        gen = torch.Generator().manual_seed(1)
        _randomise_norms(tsn, gen)
        with torch.no_grad():
            tsn.new_fc.weight.normal_(0, 0.01, generator=gen)
            tsn.new_fc.bias.normal_(0, 0.1, generator=gen)
    tsn.eval()

    # the checkpoint as the public file has it: the TSN state dict under DataParallel's "module."
    release_sd = {f"module.{k}": v.clone() for k, v in tsn.state_dict().items()}
    assert "module.base_model.layer1.0.conv1.net.weight" in release_sd and "module.new_fc.weight" in release_sd
    variants = {
        # main.py's save_checkpoint layout
        "wrapped": {"epoch": 100, "arch": "resnet50", "state_dict": release_sd, "best_prec1": 0.0},
        # the bare state dict, as from a torch older than BatchNorm's num_batches_tracked
        "bare-no-counters": {k: v for k, v in release_sd.items() if not k.endswith("num_batches_tracked")},
    }
    gen = torch.Generator().manual_seed(2)
    clip = torch.randn(2, SEGMENTS * 3, 64, 64, generator=gen)  # 2 videos x 8 frames, as TSN.forward takes it
    with torch.no_grad():
        ref_logits = tsn(clip)
        tsn.new_fc = nn.Identity()  # same forward, consensus over the pooled 2048-d features
        ref_feats = tsn(clip)
    assert ref_feats.shape == (2, 2048) and ref_logits.shape == (2, K400)

    stripped = {k[len("module."):]: v for k, v in release_sd.items()}
    for name, ckpt in variants.items():
        path = tmp_path / f"tsm_{name}.pth"
        torch.save(ckpt, path)
        ours = load_tsm(weights=path)
        own = ours.state_dict()
        assert sorted(own) == sorted(stripped), name
        for k, v in stripped.items():
            assert tuple(own[k].shape) == tuple(v.shape), (name, k)
            assert torch.equal(own[k], v), (name, k)
        if name != "wrapped":
            continue  # same tensors in the same modules: the forward pass below covers them all
        with torch.no_grad():
            feats = ours.features(clip.view(-1, 3, 64, 64))
            logits = ours(clip.view(-1, 3, 64, 64))
        print(f"{release}: features max|diff| {_max_abs(feats, ref_feats):.3g} "
              f"(max|f| {float(ref_feats.abs().max()):.3g}), logits max|diff| {_max_abs(logits, ref_logits):.3g} "
              f"(max|logit| {float(ref_logits.abs().max()):.3g})")
        torch.testing.assert_close(feats, ref_feats, **TIGHT)
        # TSN averages the 8 segments' logits, the project applies new_fc to the averaged feature: equal
        # up to float reassociation over 2048 products, so the absolute tolerance follows the logits' scale
        torch.testing.assert_close(logits, ref_logits, rtol=1e-5, atol=1e-5 * float(ref_logits.abs().max()))


# --------------------------------------------------------------------------------------------- BiT
def _load_release_bit():
    path = ER_CODE / "bit_pytorch" / "models.py"
    _require(path)
    spec = importlib.util.spec_from_file_location("_release_bit_models", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _google_npz(model: nn.Module, prefix: str = "resnet/") -> dict:
    """Inverse of the release's ``ResNetV2.load_from``: every parameter under Google's key, kernels
    OIHW -> HWIO (``tf2th`` transposes HWIO by [3, 2, 0, 1]; its inverse is [2, 3, 1, 0])."""
    def tf(t):
        a = t.detach().numpy()
        return np.ascontiguousarray(a.transpose(2, 3, 1, 0) if a.ndim == 4 else a)

    z = {f"{prefix}root_block/standardized_conv2d/kernel": tf(model.root.conv.weight),
         f"{prefix}group_norm/gamma": tf(model.head.gn.weight), f"{prefix}group_norm/beta": tf(model.head.gn.bias),
         f"{prefix}head/conv2d/kernel": tf(model.head.conv.weight), f"{prefix}head/conv2d/bias": tf(model.head.conv.bias)}
    for bname, block in model.body.named_children():
        for uname, unit in block.named_children():
            p = f"{prefix}{bname}/{uname}/"
            for letter, conv, gn in (("a", unit.conv1, unit.gn1), ("b", unit.conv2, unit.gn2), ("c", unit.conv3, unit.gn3)):
                z[f"{p}{letter}/standardized_conv2d/kernel"] = tf(conv.weight)
                z[f"{p}{letter}/group_norm/gamma"] = tf(gn.weight)
                z[f"{p}{letter}/group_norm/beta"] = tf(gn.bias)
            if hasattr(unit, "downsample"):
                z[f"{p}a/proj/standardized_conv2d/kernel"] = tf(unit.downsample.weight)
    return z


def test_bit_matches_release(cpu_settings, tmp_path):
    from zsar_bench.features.backbones import IN21K_CLASSES, load_bit

    release = _load_release_bit()
    assert inspect.signature(release.ResNetV2.__init__).parameters["head_size"].default == IN21K_CLASSES
    head = 64  # a small random head: both sides take the class count from the file
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        ref = release.KNOWN_MODELS["BiT-M-R50x1"](head_size=head)
        _randomise_norms(ref, torch.Generator().manual_seed(1))
        torch.manual_seed(3)
        fresh = release.KNOWN_MODELS["BiT-M-R50x1"](head_size=head)
    ref.eval()

    npz = _google_npz(ref)
    path = tmp_path / "BiT-M-R50x1.npz"
    np.savez(path, **npz)
    # the inversion is right and complete: the release's own loader restores every parameter
    fresh.load_from(np.load(path))
    fresh.eval()
    ref_sd, fresh_sd = ref.state_dict(), fresh.state_dict()
    assert sorted(ref_sd) == sorted(fresh_sd)
    for k in ref_sd:
        assert torch.equal(ref_sd[k], fresh_sd[k]), k

    ours = load_bit(weights=path)
    assert ours.head.fc.weight.shape == (head, 2048, 1, 1)
    n_ours = sum(p.numel() for p in ours.parameters())
    n_ref = sum(p.numel() for p in ref.parameters())
    assert n_ours == n_ref

    # pre-logit features: the release's head.avg output; ours: the final norm's output, averaged
    captured = {}
    h1 = ref.head.avg.register_forward_hook(lambda m, i, o: captured.__setitem__("ref", o.flatten(1).clone()))
    h2 = ours.norm.register_forward_hook(lambda m, i, o: captured.__setitem__("ours", o.mean((2, 3)).clone()))
    try:
        img = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            ref_logits, logits = ref(img), ours(img)
            fresh_logits = fresh(img)
    finally:
        h1.remove()
        h2.remove()
    torch.testing.assert_close(fresh_logits, ref_logits, rtol=0, atol=0)
    print(f"BiT: pre-logits max|diff| {_max_abs(captured['ours'], captured['ref']):.3g} "
          f"(max|f| {float(captured['ref'].abs().max()):.3g}), logits max|diff| {_max_abs(logits, ref_logits):.3g} "
          f"(max|logit| {float(ref_logits.abs().max()):.3g})")
    torch.testing.assert_close(captured["ours"], captured["ref"], **TIGHT)
    torch.testing.assert_close(logits, ref_logits, **TIGHT)
