"""Tests for insta_rs.models.architectures: parameter counts, published module names, input layers, shapes."""

import pytest
import torch

from insta_rs.models.architectures import ARCHS, build_model

torch.set_num_threads(1)

NONE = {"kind": "none"}
INPUT_SHAPES = {"digits_cnn": (1, 8, 8), "cifar_resnet20": (3, 32, 32), "cifar_resnet110": (3, 32, 32),
                "resnet50": (3, 224, 224)}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts():
    assert n_params(build_model("cifar_resnet110", 10, NONE)) == 1_730_714  # published ResNet-110
    assert n_params(build_model("cifar_resnet20", 10, NONE)) == 272_474
    assert n_params(build_model("resnet50", 1000, NONE)) == 25_557_032  # torchvision ResNet-50


def test_resnet110_module_names_match_published_checkpoints():
    keys = set(build_model("cifar_resnet110", 10, NONE).state_dict())
    for key in ["1.conv1.weight", "1.bn1.running_mean", "1.layer1.17.conv2.weight", "1.layer2.0.downsample.0.weight",
                "1.layer2.0.downsample.1.num_batches_tracked", "1.layer3.17.bn2.bias", "1.fc.weight", "1.fc.bias"]:
        assert key in keys
    assert not any(".layer1.0.downsample" in k or ".layer1.18." in k or ".layer4." in k for k in keys)
    assert all(k.startswith("1.") for k in keys)
    assert sum(k.endswith("conv1.weight") for k in keys) == 1 + 54


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_shapes(arch):
    model = build_model(arch, 7, NONE).eval()
    with torch.no_grad():
        logits = model(torch.rand(2, *INPUT_SHAPES[arch]))
    assert logits.shape == (2, 7)


def test_input_layers_are_exact_and_outside_state_dict():
    mean, std = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]
    x = torch.rand(2, 3, 32, 32)
    meanstd = build_model("cifar_resnet20", 10, {"kind": "meanstd", "mean": mean, "std": std})
    mean_only = build_model("cifar_resnet20", 10, {"kind": "mean", "mean": mean})
    expected = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert torch.allclose(meanstd[0](x), expected)
    assert torch.allclose(mean_only[0](x), x - torch.tensor(mean).view(1, 3, 1, 1))
    assert torch.equal(build_model("digits_cnn", 10, NONE)[0](x), x)
    assert set(meanstd.state_dict()) == set(build_model("cifar_resnet20", 10, NONE).state_dict())
    assert meanstd[0].mean.device == meanstd.to("cpu")[0].mean.device  # buffers move with the model


def test_bad_arch_and_input_layer():
    with pytest.raises(ValueError, match="arch"):
        build_model("vgg16", 10, NONE)
    with pytest.raises(ValueError, match="input_layer.kind"):
        build_model("digits_cnn", 10, {"kind": "standardize"})
    with pytest.raises(ValueError, match="std"):
        build_model("digits_cnn", 10, {"kind": "meanstd", "mean": [0.5], "std": [0.1, 0.2]})
