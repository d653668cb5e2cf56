"""Shared fixtures: small analytic classifiers whose smoothed probabilities are known in closed form, and the
session's one complete run of the tiny workflow config (tests/tiny_workflow.py)."""

import shutil
from pathlib import Path

import pytest
import torch
from analytic import LinearBinary
from tiny_workflow import COPY_IGNORE, REPO, snakemake

torch.set_num_threads(1)


@pytest.fixture
def linear_model() -> LinearBinary:
    generator = torch.Generator().manual_seed(0)
    return LinearBinary(torch.randn(1, 8, 8, generator=generator), bias=0.1)


@pytest.fixture
def linear_inputs() -> torch.Tensor:
    return torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="session")
def repo_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("repo") / "insta-rs"
    shutil.copytree(REPO, copy, symlinks=True, ignore=COPY_IGNORE)
    return copy


@pytest.fixture(scope="session")
def tiny_run(repo_copy) -> Path:
    """The checkout copy with a complete run of the tiny config in it (the working directory is the checkout,
    as for a user)."""
    snakemake(repo_copy, None)
    return repo_copy
