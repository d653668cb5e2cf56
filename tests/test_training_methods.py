"""Parameter-update methods: Gaussian augmentation, the SmoothAdv attack and loss, the MACER loss by hand."""

import math
from statistics import NormalDist

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from insta_rs.training.gaussian import gaussian_loss
from insta_rs.training.macer import macer_loss_from_logits
from insta_rs.training.smoothadv import smoothadv_attack, smoothadv_loss, soft_classifier_loss
from insta_rs.training.soft import draw_noise


def linear_model(seed=0, n_in=4, n_out=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, n_out))


def test_gaussian_loss_uses_each_examples_sigma():
    model = linear_model()
    x, labels = torch.rand(3, 1, 2, 2), torch.tensor([0, 1, 2])
    loss, correct = gaussian_loss(model, x, labels, torch.zeros(3), torch.Generator().manual_seed(0))
    assert loss.item() == pytest.approx(F.cross_entropy(model(x), labels).item(), rel=1e-6)
    sigma = torch.tensor([0.0, 0.0, 5.0])
    loss, _ = gaussian_loss(model, x, labels, sigma, torch.Generator().manual_seed(0))
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    expected = F.cross_entropy(model(x + sigma.view(-1, 1, 1, 1) * noise), labels)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_smoothadv_attack_raises_soft_loss_inside_ball_and_box():
    model = linear_model(seed=1).eval()
    torch.manual_seed(2)
    x = torch.rand(6, 1, 2, 2)
    x[0], x[1, 0, 0] = 0.0, 1.0  # on the box boundary, so the clipping is active
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    sigma = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.25])
    eps = 2 * sigma
    noise = draw_noise(x, 4, torch.Generator().manual_seed(3)) * sigma.view(-1, 1, 1, 1, 1)
    delta = smoothadv_attack(model, x, labels, noise, eps, steps=10)
    with torch.no_grad():
        clean = soft_classifier_loss(model, x, labels, noise)
        attacked = soft_classifier_loss(model, x + delta, labels, noise)
    assert (attacked > clean).all()
    assert (delta.flatten(1).norm(dim=1) <= eps + 1e-6).all()
    assert ((x + delta) >= 0).all() and ((x + delta) <= 1).all()
    assert torch.equal(smoothadv_attack(model, x, labels, noise, torch.zeros(6), steps=10), torch.zeros_like(x))


class ModeRecorder(nn.Module):
    """Linear model that records whether it was in training mode at each forward pass."""

    def __init__(self):
        super().__init__()
        self.net, self.modes = linear_model(), []

    def forward(self, x):
        self.modes.append(self.training)
        return self.net(x)


def test_smoothadv_loss_attacks_in_eval_mode_and_trains_on_all_copies():
    model = ModeRecorder().train()
    x, labels, sigma = torch.rand(2, 1, 2, 2), torch.tensor([0, 1]), torch.tensor([0.25, 0.5])
    loss, correct = smoothadv_loss(model, x, labels, sigma, 2 * sigma, m_train=3, steps=4,
                                   generator=torch.Generator().manual_seed(0))
    assert model.modes == [False] * 4 + [True] and model.training
    noise = draw_noise(x, 3, torch.Generator().manual_seed(0)) * sigma.view(-1, 1, 1, 1, 1)
    delta = smoothadv_attack(model.eval(), x, labels, noise, 2 * sigma, steps=4)
    logits = model.net((x + delta).unsqueeze(1).add(noise).reshape(6, 1, 2, 2))
    assert loss.item() == pytest.approx(F.cross_entropy(logits, labels.repeat_interleave(3)).item(), rel=1e-6)
    assert 0 <= correct.item() <= 2


def softmax2(a, b):
    """Probability of the first of two classes with logits (a, b)."""
    return 1 / (1 + math.exp(b - a))


def test_macer_loss_by_hand():
    logits = torch.tensor([[[0.10, 0.0], [0.05, 0.0]],    # top-1 = label 0, small margin: hinge term counts
                           [[2.00, 0.0], [3.00, 0.0]],    # label 1 but top-1 is 0: no robustness term
                           [[1.00, 0.0], [1.00, 0.0]],    # |PhiInv(p2) - PhiInv(p1)| ~ 10.4 > gamma: left out
                           [[10.0, 0.0], [10.0, 0.0]]],   # p2 underflows to 0: PhiInv = -inf, left out
                          requires_grad=True)
    labels, sigma = torch.tensor([0, 1, 0, 0]), torch.tensor([0.5, 1.0, 0.25, 1.0])
    lam, gamma, beta = 12.0, 8.0, 16.0
    total = macer_loss_from_logits(logits, labels, sigma, lam, gamma, beta)

    def p_label(rows, label):
        p0 = sum(softmax2(a, b) for a, b in rows) / len(rows)
        return p0 if label == 0 else 1 - p0

    rows = logits.tolist()
    classification = sum(-math.log(p_label(r, y) + 1e-10) for r, y in zip(rows, labels.tolist()))
    q1 = (softmax2(16 * 0.10, 0) + softmax2(16 * 0.05, 0)) / 2
    phi_inv = NormalDist().inv_cdf
    robustness = 0.5 / 2 * (phi_inv(1 - q1) - phi_inv(q1) + gamma)
    assert total.item() == pytest.approx((classification + lam * robustness) / 4, rel=1e-5)
    total.backward()
    assert torch.isfinite(logits.grad).all()
