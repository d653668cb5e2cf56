"""Architectures and input layers; every model is ``nn.Sequential(input_layer, network)``.

Noise is added in pixel space [0, 1] before the model, so normalization must be the model's first
layer (as in Cohen et al.); its constants are non-persistent buffers, outside the state dict, and
the network's state-dict keys start with ``1.`` exactly like the published checkpoints.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from insta_rs.models.names import ARCHS, INPUT_LAYER_KINDS


class MeanLayer(nn.Module):
    """x -> x - mean (per channel): SmoothAdv's mean-subtraction-only layer."""

    def __init__(self, mean: Sequence[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.mean


class MeanStdLayer(nn.Module):
    """x -> (x - mean) / std (per channel): Cohen's normalization layer."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        if len(mean) != len(std):
            raise ValueError(f"input_layer: mean has {len(mean)} entries but std has {len(std)}")
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def build_input_layer(input_layer: dict) -> nn.Module:
    """``{"kind": "none"}`` -> identity, ``{"kind": "mean", "mean"}``, ``{"kind": "meanstd", "mean", "std"}``."""
    kind = input_layer.get("kind")
    if kind == "none":
        return nn.Identity()
    if kind == "mean":
        return MeanLayer(input_layer["mean"])
    if kind == "meanstd":
        return MeanStdLayer(input_layer["mean"], input_layer["std"])
    raise ValueError(f"input_layer.kind = {kind!r} is unknown; use one of {INPUT_LAYER_KINDS}")


class DigitsCNN(nn.Module):
    """Small CNN for 1x8x8 digits: conv 1->16 (3x3), conv 16->32 (3x3, stride 2), fc 512->64->classes."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x), inplace=True)  # in place: no fresh activation buffer per batch
        x = F.relu(self.conv2(x), inplace=True)
        x = F.relu(self.fc1(x.flatten(1)), inplace=True)
        return self.fc2(x)


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """CIFAR ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class CifarResNet(nn.Module):
    """CIFAR ResNet-(6n+2) with the module names of Cohen / SmoothAdv / MACER checkpoints.

    Stages of n BasicBlocks with 16/32/64 planes (stride 2 entering stages 2 and 3), AvgPool2d(8), fc.
    """

    def __init__(self, depth: int, num_classes: int):
        super().__init__()
        if (depth - 2) % 6 != 0:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        n_blocks = (depth - 2) // 6
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, n_blocks, stride=1)
        self.layer2 = self._make_layer(32, n_blocks, stride=2)
        self.layer3 = self._make_layer(64, n_blocks, stride=2)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def _make_layer(self, planes: int, n_blocks: int, stride: int) -> nn.Sequential:
        blocks = [BasicBlock(self.inplanes, planes, stride)]
        self.inplanes = planes
        blocks += [BasicBlock(planes, planes) for _ in range(1, n_blocks)]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def build_network(arch: str, num_classes: int) -> nn.Module:
    """The bare network (no input layer) for ``arch``."""
    if arch == "digits_cnn":
        return DigitsCNN(num_classes)
    if arch == "cifar_resnet20":
        return CifarResNet(20, num_classes)
    if arch == "cifar_resnet110":
        return CifarResNet(110, num_classes)
    if arch == "resnet50":
        from torchvision.models import resnet50
        return resnet50(weights=None, num_classes=num_classes)
    raise ValueError(f"arch = {arch!r} is unknown; use one of {ARCHS}")


def build_model(arch: str, num_classes: int, input_layer: dict) -> nn.Sequential:
    """``nn.Sequential(input_layer, network)``: state-dict keys of the network start with ``1.``."""
    return nn.Sequential(build_input_layer(input_layer), build_network(arch, num_classes))
