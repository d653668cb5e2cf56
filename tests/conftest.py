"""Shared fixtures: small analytic classifiers whose smoothed probabilities are known in closed form."""

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


class LinearBinary(torch.nn.Module):
    """``f(x) = 1 if w.x + b > 0 else 0`` as two logits, steep enough that the softmax is one-hot;
    its Gaussian smoothing has ``P[f(x + sigma eps) = 1] = Phi((w.x + b) / (sigma |w|))``."""

    def __init__(self, weight: torch.Tensor, bias: float):
        super().__init__()
        self.register_buffer("weight", weight.flatten().float())
        self.bias = bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        margin = x.flatten(1) @ self.weight + self.bias
        return torch.stack([torch.zeros_like(margin), 1e4 * margin], dim=1)

    def distance(self, x: torch.Tensor) -> np.ndarray:
        """Signed distance of each input to the decision boundary."""
        margin = x.flatten(1) @ self.weight + self.bias
        return (margin / self.weight.norm()).numpy()


@pytest.fixture
def linear_model() -> LinearBinary:
    generator = torch.Generator().manual_seed(0)
    return LinearBinary(torch.randn(1, 8, 8, generator=generator), bias=0.1)


@pytest.fixture
def linear_inputs() -> torch.Tensor:
    return torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(1))
