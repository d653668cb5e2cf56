"""Empirical audit: it finds over-claimed radii and the Insta-RS counterexample, finds nothing for honest
certificates, and its deployed classifiers run on the package's Smoother."""

import numpy as np
import pandas as pd
import pytest
import torch

from insta_rs.certification.smoothing import Smoother
from insta_rs.certification.stats import max_certifiable_p
from insta_rs.levels import sigma_levels
from insta_rs.sound import audit, cascade, deployed, semi_elastic
from insta_rs.sound.falsify import ball_probability, cascade_along, insta_rs_rule

DIM = 8


def linear_problem():
    """A deterministic half-space classifier through the centre of [0,1]^8, test points on both sides
    (each with its mirror image across the boundary, a test point of the other class)."""
    rng = np.random.default_rng(0)
    w = torch.from_numpy(rng.standard_normal(DIM)).float()
    w /= w.norm()
    center = torch.full((DIM,), 0.5)
    offsets = torch.from_numpy(rng.uniform(0.05, 0.2, 6)).float() * torch.tensor([1, -1, 1, -1, 1, -1.0])
    x = center + offsets[:, None] * w + 0.02 * torch.from_numpy(rng.standard_normal((6, DIM))).float()
    x = torch.cat([x, x - 2 * ((x - center) @ w)[:, None] * w])
    margin = ((x - center) @ w).numpy()
    labels = (margin > 0).astype(int)

    def deployed(points: torch.Tensor) -> np.ndarray:
        return (((points.flatten(1) - center) @ w) > 0).numpy().astype(int)

    def loss_fn(points: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        signed = (points.flatten(1) - center) @ w
        return torch.where(target == 1, -signed, signed)

    return x, labels, np.abs(margin), deployed, loss_fn


def certification(labels, radius):
    return pd.DataFrame({"idx": np.arange(len(labels)), "label": labels, "predict": labels, "radius": radius,
                         "correct": 1})


@pytest.mark.parametrize("use_gradient", [False, True])
def test_finds_over_claimed_radii_and_nothing_for_honest_ones(use_gradient):
    x, labels, distance, deployed, loss_fn = linear_problem()
    settings = audit.AuditSettings(n_examples=12, n_neighbors=3 if not use_gradient else 0, steps=5)
    loss = loss_fn if use_gradient else None
    positions = np.arange(len(x))
    honest = audit.audit_frame(x, labels, certification(labels, 0.95 * distance), positions, deployed, loss, settings)
    assert len(honest) == 12 and not honest["violated"].any()
    over = audit.audit_frame(x, labels, certification(labels, 1.5 * distance), positions, deployed, loss, settings)
    assert over["violated"].all() and over["confirmed"].all()
    assert np.all(over["closest"] > 1 / 1.5 - 1e-6) and np.all(over["closest"] <= 1.0)
    row = audit.summarize(over, "toy", "over", n_certified=12)
    assert row["confirmed"] == 12 and row["confirmed_rate"] == 1.0
    assert "| toy | over | 12 | 12 | 12 | 12 |" in audit.markdown_table([row])


def test_skips_abstentions_and_zero_radii():
    x, labels, distance, deployed, _ = linear_problem()
    frame = certification(labels, 1.5 * distance)
    frame.loc[:5, "predict"] = -1
    frame.loc[6:8, "radius"] = 0.0
    result = audit.audit_frame(x, labels, frame, np.arange(len(x)), deployed, None, audit.AuditSettings())
    assert sorted(result["idx"]) == [9, 10, 11]


def test_finds_the_insta_rs_counterexample_but_not_against_the_cascade():
    """The exact ball classifier of the falsification (d = 3072): deployed Insta-RS vs deployed cascade."""
    dim, rho = 3072, 60.0
    sigmas, p_max = sigma_levels(0.25, 16), max_certifiable_p(0.001, 100000)
    t = np.array([28.9, 29.0, 31.0, 33.0])
    x = torch.zeros(len(t), dim, dtype=torch.float64)
    x[:, 0] = torch.from_numpy(t)

    def rule_at(points):
        distances = points.flatten(1).norm(dim=1).numpy()
        return insta_rs_rule(ball_probability(distances[:, None], rho, sigmas[None, :], dim), sigmas, p_max)

    def cascade_at(points):
        return cascade_along(points.flatten(1).norm(dim=1).numpy(), rho, dim, sigmas, p_max)

    settings = audit.AuditSettings(n_examples=4, n_neighbors=2, n_line=16, steps=0, box=None)
    rule = rule_at(x)
    labels = rule.predict
    insta = audit.audit_frame(x, labels, certification(labels, rule.radius), np.arange(len(t)),
                              lambda p: rule_at(p).predict, None, settings)
    assert insta["violated"].sum() >= 2  # both sides of the switch at 29.02 claim more than the gap
    predict, radius = cascade_at(x)
    cascade = audit.audit_frame(x, labels, certification(predict, radius), np.arange(len(t)),
                                lambda p: cascade_at(p)[0], None, settings)
    assert len(cascade) > 0 and not cascade["violated"].any()


# --------------------------------------------------------------------------- deployed classifiers (Smoother)

@pytest.fixture
def smoother(linear_model):
    return Smoother(linear_model, num_classes=2, batch_size=512, device="cpu")


def test_deployed_classifiers_answer_like_the_half_space_far_from_it(smoother, linear_model, linear_inputs):
    distance = linear_model.distance(linear_inputs)
    far = np.abs(distance) > 0.6
    assert far.sum() >= 3
    x, truth = linear_inputs[torch.from_numpy(far)], (distance[far] > 0).astype(int)
    sigmas = sigma_levels(0.25, 4)
    predictors = {
        "fixed": deployed.fixed_sigma_predictor(smoother, 0.25, 200, 0.001, seed=0),
        "insta_rs": deployed.insta_rs_predictor(smoother, 0.25, 4, {"m": 32, "starts": [[1, 1], [4, -1]]},
                                                max_certifiable_p(0.001, 200), 200, 0.001, seed=0),
        "cascade": cascade.cascade_predictor(smoother, sigmas, 20, 300, 0.01, 0.5, seed=0),
        "semi_elastic": semi_elastic.semi_elastic_predictor(smoother, torch.rand(30, 1, 8, 8),
                                                            {"k": 5, "r": 0.01, "sigma_b": 0.25, "m": 1.0}, 200, 0.001,
                                                            seed=0),
    }
    for name, predict in predictors.items():
        answers = predict(x)
        assert answers.shape == truth.shape, name
        assert np.all(answers == truth), name


def test_criterion_margin_loss_rises_towards_the_boundary(linear_model, linear_inputs):
    loss_fn = audit.criterion_margin_loss(linear_model, sigma_levels(0.25, 4), 64, seed=0)
    distance = linear_model.distance(linear_inputs)
    row = int(np.argmax(np.abs(distance)))  # the farthest point: probabilities saturate, the logit does not
    x = linear_inputs[row:row + 1].clone().requires_grad_(True)
    target = torch.tensor([int(distance[row] > 0)])
    loss = loss_fn(x, target)
    (grad,) = torch.autograd.grad(loss.sum(), x)
    moved = x.detach() + 0.2 * grad / grad.norm()
    assert loss_fn(moved, target).item() > loss.item()
    assert abs(linear_model.distance(moved)[0]) < abs(distance[row])


def test_every_audited_mode_names_its_deployed_classifier_and_certification():
    from insta_rs.layout import Layout
    from insta_rs.sound import dual, semi_elastic
    from insta_rs.sound.modes import AUDIT_MODES, SOUND_MODES, audited_mode, audited_modules, certification_path

    assert all(callable(mode.deployed()) for mode in AUDIT_MODES.values())
    assert AUDIT_MODES["insta_rs"].deployed() is deployed.insta_rs
    assert AUDIT_MODES["level<k>"].deployed() is deployed.fixed_level
    assert [SOUND_MODES[name].audit.deployed() for name in ("cascade", "semi_elastic", "dual")] == [
        cascade.deployed, semi_elastic.deployed, dual.deployed]
    assert [SOUND_MODES[name].certificate() for name in ("cascade", "semi_elastic", "dual")] == [
        cascade.certificate, semi_elastic.certificate, dual.certificate]
    assert audited_modules() == ["insta_rs.sound.cascade", "insta_rs.sound.deployed", "insta_rs.sound.dual",
                                 "insta_rs.sound.semi_elastic"]
    assert audited_mode("level3") is AUDIT_MODES["level<k>"]
    with pytest.raises(ValueError, match="sound.audit.modes: unknown mode 'levels'"):
        audited_mode("levels")
    layout = Layout("r")
    assert [certification_path(layout, "m", mode) for mode in ("insta_rs", "cascade", "level3")] == [
        layout.assigned("m", "fgss"), layout.sound("m", "cascade"), layout.level("m", 3)]
    assert AUDIT_MODES["dual"].reads(layout, "m") == [layout.model_file("m", "selector.pt")]
    assert AUDIT_MODES["semi_elastic"].reads(layout, "m") == [layout.knn_meta("m")]
    assert AUDIT_MODES["cascade"].reads(layout, "m") == []
    # one query's forward passes (the audit's cost): the cascade's N0 + N at each of K levels, Dual RS's two PREDICTs
    config = {"noise": {"n_levels": 4}, "certify": {"n0": 20}, "sound": {"audit": {"n_predict": 200}}}
    assert [audited_mode(mode).query_passes(config) for mode in ("cascade", "dual", "semi_elastic", "level2")] == [
        4 * 220, 400, 200, 200]
