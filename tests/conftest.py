"""Shared fixtures: small analytic classifiers whose smoothed probabilities are known in closed form."""

import pytest
import torch

from insta_rs.analytic import LinearBinary

torch.set_num_threads(1)


@pytest.fixture
def linear_model() -> LinearBinary:
    generator = torch.Generator().manual_seed(0)
    return LinearBinary(torch.randn(1, 8, 8, generator=generator), bias=0.1)


@pytest.fixture
def linear_inputs() -> torch.Tensor:
    return torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(1))
