"""The two networks ER extracted features with, in plain torch (torchvision and timm are not usable here).

- ``TSMResNet50``: Temporal Shift Module on a ResNet-50 (Lin et al., ICCV 2019), 8 segments,
  1/8 of the channels shifted each way, residual shift ("blockres": the shift sits in front of
  ``conv1`` of every bottleneck, inside the residual branch). Module names follow the official
  TSM code, so the official Kinetics checkpoint
  ``TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e100_dense.pth`` loads with
  ``strict=True`` once the ``module.`` prefix is stripped (``base_model.conv1.weight``,
  ``base_model.layer1.0.conv1.net.weight``, ``new_fc.weight``). The video feature is ER's: the
  2048-d pooled ResNet output averaged over the 8 segments.
- ``BiTResNetV2``: BiT-M R50x1 (Kolesnikov et al., ECCV 2020), pre-activation ResNet-v2 with
  weight-standardised convolutions and GroupNorm(32), ImageNet-21k head (21,843 classes). Module
  names follow timm's ``resnetv2_50x1_bitm_in21k`` (``stem.conv.weight``,
  ``stages.0.blocks.0.downsample.conv.weight``, ``norm.weight``, ``head.fc.weight``); Google's
  original ``BiT-M-R50x1.npz`` (what ER loaded) is converted on load.

Weights come from a local file (``load_tsm`` / ``load_bit``); ``random_init=True`` builds a
seeded random network for tests only.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import FeatureStoreError

TSM_MEAN, TSM_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
BIT_MEAN, BIT_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
IN21K_CLASSES = 21843
K400_CLASSES = 400
RANDOM_SEED = 20211011


# ------------------------------------------------------------------------------------------------ TSM
def temporal_shift(x: torch.Tensor, n_segment: int, fold_div: int) -> torch.Tensor:
    """Shift 1/fold_div of the channels one segment back, 1/fold_div forward (official TSM, not in place)."""
    nt, c, h, w = x.shape
    x = x.view(nt // n_segment, n_segment, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]  # shift left
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]  # shift right
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


class TemporalShift(nn.Module):
    def __init__(self, net: nn.Module, n_segment: int = 8, n_div: int = 8):
        super().__init__()
        self.net = net
        self.n_segment = n_segment
        self.fold_div = n_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_shift(x, self.n_segment, self.fold_div))


class Bottleneck(nn.Module):
    """torchvision's ResNet-50 v1.5 bottleneck (stride on the 3x3 conv)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    """torchvision's resnet50 module layout without ``fc`` (TSN replaces it with dropout)."""

    def __init__(self, layers=(3, 4, 6, 3)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


class TSMResNet50(nn.Module):
    feature_dim = 2048

    def __init__(self, num_segments: int = 8, shift_div: int = 8, num_classes: int = K400_CLASSES):
        super().__init__()
        self.num_segments = num_segments
        self.base_model = ResNet50()
        for layer in (self.base_model.layer1, self.base_model.layer2, self.base_model.layer3, self.base_model.layer4):
            for block in layer:  # "blockres": every block (ResNet-50 has < 23 blocks in layer3)
                block.conv1 = TemporalShift(block.conv1, n_segment=num_segments, n_div=shift_div)
        self.new_fc = nn.Linear(2048, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[B * segments, 3, H, W] -> [B, 2048]: segment-averaged pooled features (ER's video feature)."""
        base = self.base_model(x)
        return base.view(-1, self.num_segments, base.shape[-1]).mean(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.new_fc(self.features(x))


# ------------------------------------------------------------------------------------------------ BiT
class StdConv2d(nn.Conv2d):
    """Weight-standardised conv, padding as timm's get_padding. Standardised as Google's BiT code and the
    bit_pytorch ER used: (w - mean) / sqrt(var + 1e-10) over each output channel (timm uses eps=1e-8)."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, eps: float = 1e-10):
        super().__init__(in_ch, out_ch, kernel_size, stride=stride, padding=((stride - 1) + (kernel_size - 1)) // 2,
                         bias=False)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, m = torch.var_mean(self.weight, dim=[1, 2, 3], keepdim=True, unbiased=False)
        w = (self.weight - m) / torch.sqrt(v + self.eps)
        return F.conv2d(x, w, None, self.stride, self.padding, self.dilation, self.groups)


class GroupNormAct(nn.GroupNorm):
    """GroupNorm(32) followed by ReLU (timm's GroupNormAct)."""

    def __init__(self, num_channels: int, num_groups: int = 32, eps: float = 1e-5):
        super().__init__(num_groups, num_channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(super().forward(x), inplace=True)


class DownsampleConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int):
        super().__init__()
        self.conv = StdConv2d(in_ch, out_ch, 1, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class PreActBottleneck(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int, project: bool):
        super().__init__()
        mid = out_ch // 4
        self.downsample = DownsampleConv(in_ch, out_ch, stride) if project else None
        self.norm1 = GroupNormAct(in_ch)
        self.conv1 = StdConv2d(in_ch, mid, 1)
        self.norm2 = GroupNormAct(mid)
        self.conv2 = StdConv2d(mid, mid, 3, stride=stride)
        self.norm3 = GroupNormAct(mid)
        self.conv3 = StdConv2d(mid, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_preact = self.norm1(x)
        shortcut = x if self.downsample is None else self.downsample(x_preact)
        x = self.conv1(x_preact)
        x = self.conv2(self.norm2(x))
        x = self.conv3(self.norm3(x))
        return x + shortcut


class ResNetStage(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int, depth: int):
        super().__init__()
        self.blocks = nn.Sequential(*[PreActBottleneck(in_ch if i == 0 else out_ch, out_ch, stride if i == 0 else 1,
                                                       project=i == 0) for i in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class ClassifierHead(nn.Module):
    def __init__(self, in_ch: int, num_classes: int):
        super().__init__()
        self.fc = nn.Conv2d(in_ch, num_classes, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean((2, 3), keepdim=True)).flatten(1)


class BiTResNetV2(nn.Module):
    """BiT-M R50x1: ``forward`` gives ImageNet-21k logits [N, 21843]."""

    def __init__(self, layers=(3, 4, 6, 3), width: int = 1, num_classes: int = IN21K_CLASSES):
        super().__init__()
        stem_ch = 64 * width
        self.stem = nn.Sequential(OrderedDict(conv=StdConv2d(3, stem_ch, 7, stride=2), pad=nn.ConstantPad2d(1, 0.0),
                                              pool=nn.MaxPool2d(3, stride=2, padding=0)))
        chans = [256 * width, 512 * width, 1024 * width, 2048 * width]
        stages, prev = [], stem_ch
        for i, (d, c) in enumerate(zip(layers, chans)):
            stages.append(ResNetStage(prev, c, 1 if i == 0 else 2, d))
            prev = c
        self.stages = nn.Sequential(*stages)
        self.norm = GroupNormAct(prev)
        self.head = ClassifierHead(prev, num_classes)
        for name, m in self.named_modules():
            if isinstance(m, nn.Conv2d) and "head" not in name:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.normal_(self.head.fc.weight, std=0.01)
        nn.init.zeros_(self.head.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.stages(self.stem(x))))


# ------------------------------------------------------------------------------------------------ loading
def _read_state_dict(path: str | Path, trust: bool = False) -> dict:
    p = Path(path).expanduser()
    if not p.is_file():
        raise FeatureStoreError(f"weights file {path} not found")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(p))
    if p.suffix == ".npz":
        z = np.load(p)
        return {k: z[k] for k in z.files}
    try:
        obj = torch.load(p, map_location="cpu", weights_only=not trust)
    except Exception as e:  # noqa: BLE001 - pickled non-tensor objects in an old checkpoint
        if trust:
            raise FeatureStoreError(f"cannot read weights {path}: {e}") from e
        raise FeatureStoreError(
            f"{path} holds pickled Python objects besides tensors, which torch refuses to load safely ({type(e).__name__}). "
            "If you trust the file, pass --trust-weights; or re-save just its state_dict with torch.save") from None
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state", "net"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise FeatureStoreError(f"{path} does not contain a state dict")
    return obj


def _strip(sd: dict, prefixes=("module.",)) -> dict:
    out = {}
    for k, v in sd.items():
        for p in prefixes:
            if k.startswith(p):
                k = k[len(p):]
        out[k] = v
    return out


def _load_strict(model: nn.Module, sd: dict, path, what: str) -> None:
    own = model.state_dict()
    for k in own:  # very old checkpoints predate BatchNorm's counter buffer
        if k.endswith("num_batches_tracked") and k not in sd:
            sd[k] = torch.zeros((), dtype=torch.long)
    sd = {k: torch.as_tensor(v) for k, v in sd.items()}
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        missing = [k for k in own if k not in sd]
        unexpected = [k for k in sd if k not in own]
        shapes = [f"{k} {tuple(sd[k].shape)} vs {tuple(own[k].shape)}" for k in own
                  if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
        raise FeatureStoreError(
            f"{path} is not a {what} checkpoint: {len(missing)} missing keys (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:3]}), shape mismatches {shapes[:3]}") from e


def load_tsm(weights: Optional[str | Path] = None, random_init: bool = False, trust: bool = False,
             num_segments: int = 8) -> TSMResNet50:
    if weights is None:
        if not random_init:
            raise FeatureStoreError("TSM needs weights: pass --weights-tsm PATH (the official TSM checkpoint "
                                    "TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e100_dense.pth), "
                                    "or --random-init for tests")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_SEED)
            model = TSMResNet50(num_segments)
        return model.eval()
    sd = _strip(_read_state_dict(weights, trust))
    n_cls = sd["new_fc.weight"].shape[0] if "new_fc.weight" in sd else K400_CLASSES
    model = TSMResNet50(num_segments, num_classes=int(n_cls))
    _load_strict(model, sd, weights, "TSM ResNet-50 (shift 8, blockres)")
    return model.eval()


def convert_bit_npz(z: dict, prefix: str = "resnet/") -> dict:
    """Google's BiT .npz (HWIO kernels) to this module's state dict (as timm's _load_weights does)."""
    def t(a):
        a = np.asarray(a)
        return torch.from_numpy(a.transpose(3, 2, 0, 1).copy() if a.ndim == 4 else a.copy())

    sd = {"stem.conv.weight": t(z[f"{prefix}root_block/standardized_conv2d/kernel"]),
          "norm.weight": t(z[f"{prefix}group_norm/gamma"]), "norm.bias": t(z[f"{prefix}group_norm/beta"]),
          "head.fc.weight": t(z[f"{prefix}head/conv2d/kernel"]), "head.fc.bias": t(z[f"{prefix}head/conv2d/bias"])}
    for i, depth in enumerate((3, 4, 6, 3)):
        for j in range(depth):
            b, bp = f"stages.{i}.blocks.{j}.", f"{prefix}block{i + 1}/unit{j + 1:02d}/"
            for conv, letter in (("conv1", "a"), ("conv2", "b"), ("conv3", "c")):
                sd[f"{b}{conv}.weight"] = t(z[f"{bp}{letter}/standardized_conv2d/kernel"])
            for norm, letter in (("norm1", "a"), ("norm2", "b"), ("norm3", "c")):
                sd[f"{b}{norm}.weight"] = t(z[f"{bp}{letter}/group_norm/gamma"])
                sd[f"{b}{norm}.bias"] = t(z[f"{bp}{letter}/group_norm/beta"])
            if j == 0:
                sd[f"{b}downsample.conv.weight"] = t(z[f"{bp}a/proj/standardized_conv2d/kernel"])
    return sd


def load_bit(weights: Optional[str | Path] = None, random_init: bool = False, trust: bool = False) -> BiTResNetV2:
    if weights is None:
        if not random_init:
            raise FeatureStoreError("BiT needs weights: pass --weights-bit PATH (BiT-M-R50x1.npz from Google, or "
                                    "timm's resnetv2_50x1_bitm_in21k state dict), --no-objects to skip object "
                                    "concepts, or --random-init for tests")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_SEED + 1)
            model = BiTResNetV2()
        return model.eval()
    sd = _read_state_dict(weights, trust)
    if any(k.endswith("root_block/standardized_conv2d/kernel") for k in sd):
        prefix = next(k for k in sd if k.endswith("root_block/standardized_conv2d/kernel"))[:-len("root_block/standardized_conv2d/kernel")]
        try:
            sd = convert_bit_npz(sd, prefix)
        except KeyError as e:
            raise FeatureStoreError(f"{weights}: not a BiT R50x1 .npz (missing {e})") from None
    sd = _strip(sd, ("module.", "model."))
    n_cls = sd["head.fc.weight"].shape[0] if "head.fc.weight" in sd else IN21K_CLASSES
    model = BiTResNetV2(num_classes=int(n_cls))
    _load_strict(model, sd, weights, "BiT ResNetV2-50x1")
    return model.eval()
