"""Classifiers whose Gaussian smoothing is known in closed form, for tests and benchmarks."""

from __future__ import annotations

import numpy as np
import torch


class LinearBinary(torch.nn.Module):
    """``f(x) = 1 if w.x + b > 0 else 0`` as two logits, steep enough that the softmax is one-hot;
    its Gaussian smoothing has ``P[f(x + sigma eps) = 1] = Phi((w.x + b) / (sigma |w|))``."""

    def __init__(self, weight: torch.Tensor, bias: float):
        super().__init__()
        self.register_buffer("weight", weight.flatten().float())
        self.input_shape = tuple(weight.shape)
        self.bias = bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        margin = x.flatten(1) @ self.weight + self.bias
        return torch.stack([torch.zeros_like(margin), 1e4 * margin], dim=1)

    def distance(self, x: torch.Tensor) -> np.ndarray:
        """Signed distance of each input to the decision boundary."""
        margin = x.flatten(1) @ self.weight + self.bias
        return (margin / self.weight.norm()).numpy()

    def at_distance(self, distance: np.ndarray) -> torch.Tensor:
        """Inputs (on the normal through the origin) at the given signed distances from the boundary."""
        norm = self.weight.norm()
        offset = torch.as_tensor(distance, dtype=torch.float32) - self.bias / norm
        return (offset[:, None] * self.weight / norm).view(len(offset), *self.input_shape)
