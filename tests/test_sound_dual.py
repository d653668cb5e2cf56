"""Dual Randomized Smoothing (insta_rs.sound.dual): the certificate's validity on a selector and a classifier whose
smoothed probabilities are known in closed form (simulated counts, many trials), the negative control that
ignores the selector's radius, the exact ball counterexample, the selector labels, the combination rules, the
assignment and the deployed classifier.

Tolerance of the statistical tests as in test_sound_validity.py: over T independent trials the empirical false
rate of a procedure at level alpha exceeds ``alpha + 4 sqrt(alpha (1 - alpha) / T)`` with probability < 1e-4.
"""

import re

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import norm

from insta_rs.certification.records import read_certification, write_certification
from insta_rs.certification.smoothing import Smoother
from insta_rs.certification.stats import cohen_radius, max_certifiable_p, pA_lower_bound
from insta_rs.data.sources import TensorImageDataset
from insta_rs.levels import sigma_levels
from insta_rs.models.architectures import build_model
from insta_rs.search.algorithms import RadiusEstimate
from insta_rs.sound import audit, dual, dual_selector
from insta_rs.sound.falsify import FalsificationSettings, ball_probability, dual_along, falsify, violations_along
from insta_rs.training.config import parse_stage
from insta_rs.training.stage_run import StageOutput, TrainingJob

ALPHA = 0.1
TRIALS = 4000
N0, N = 50, 500
TOLERANCE = 4 * np.sqrt(ALPHA * (1 - ALPHA) / TRIALS)
LEVELS = (1, 16)                      # candidates sigma = 0.25 and 1.0
SIGMAS = dual.candidate_sigmas(LEVELS, 0.25)
SIGMA_SEL = 0.25
SELECTOR_JOB = TrainingJob("digits_cnn", {"kind": "none"}, "sound.dual.selector", torch.device("cpu"))
SELECTOR_SWITCH = 0.85                # the selector picks sigma = 1.0 where u = w.x > 0.85


# ------------------------------------------------ closed form: band classifier, half-space selector (1-D in u)

def band_probabilities(u: np.ndarray, sigma: float) -> np.ndarray:
    """Classifier classes by u = w.x (|w| = 1): 0 for u < 0, 1 on [0, 1), 2 for u >= 1, smoothed at sigma; [len(u), 3]."""
    p0 = norm.cdf(-u / sigma)
    p2 = norm.cdf((u - 1.0) / sigma)
    return np.stack([p0, 1.0 - p0 - p2, p2], axis=-1)


def selector_probabilities(u: np.ndarray) -> np.ndarray:
    """Selector: candidate 1 where u > SELECTOR_SWITCH, smoothed at SIGMA_SEL: P[1] = Phi((u - switch) / sigma_sel)."""
    p1 = norm.cdf((u - SELECTOR_SWITCH) / SIGMA_SEL)
    return np.stack([1.0 - p1, p1], axis=-1)


def deployed(u: np.ndarray) -> np.ndarray:
    """G(u) = argmax_c p_{h(u)}(u, c), h(u) = argmax of the smoothed selector."""
    choice = selector_probabilities(u).argmax(axis=1)
    probabilities = np.where(choice[:, None] == 0, band_probabilities(u, SIGMAS[0]), band_probabilities(u, SIGMAS[1]))
    return probabilities.argmax(axis=1)


def true_radius(u0: float) -> tuple[int, float]:
    """G(u0) and the distance to the nearest change of G (1e-4 grid; along w is the nearest in L2)."""
    offsets = np.arange(-40000, 40001) * 1e-4
    truth = deployed(u0 + offsets)
    changes = np.abs(offsets[truth != truth[40000]])
    return int(truth[40000]), float(changes.min())


def simulated_certification(probabilities: np.ndarray, sigma: float, alpha: float, seed_column: int,
                            rng: np.random.Generator) -> pd.DataFrame:
    """CERTIFY's outcome in our TSV columns for TRIALS independent runs (N0 selection, N estimation draws)."""
    selected = rng.multinomial(N0, probabilities, size=TRIALS).argmax(axis=1)
    counts = rng.multinomial(N, probabilities, size=TRIALS)
    rows = np.arange(TRIALS)
    nA = counts[rows, selected]
    pA_lower = pA_lower_bound(nA, N, alpha)
    predict = np.where(pA_lower >= 0.5, selected, -1)
    counts[rows, selected] = -1
    return pd.DataFrame({"idx": rows, "label": 1, "predict": predict, "radius": cohen_radius(sigma, pA_lower),
                         "correct": (predict == 1).astype(int), "time": 0.0, "sigma": sigma, "pA_lower": pA_lower,
                         "c_hat": selected, "nA": nA, "nB": counts.max(axis=1), "n0A": 0, "n0": N0, "n": N,
                         "alpha": alpha, "seed": seed_column, "n_used": N, "procedure": "cohen"})


def dual_certificates(u0: float, alpha_sel: float, alpha_cls: float, seed: int) -> pd.DataFrame:
    """The Dual RS certification of TRIALS runs at u0, through the package's functions: the selector's certification,
    its assignment, the classifier's from per-level certifications re-certified at alpha_cls, then dual_frame."""
    rng = np.random.default_rng(seed)
    u = np.array([u0])
    selector = simulated_certification(selector_probabilities(u)[0], SIGMA_SEL, alpha_sel, 1, rng)
    level_frames = {level: simulated_certification(band_probabilities(u, sigma)[0], sigma, ALPHA, 0, rng)
                    for level, sigma in zip(LEVELS, SIGMAS)}
    assignment = dual.selector_assignment(selector, LEVELS, 0.25)
    classifier = dual.classifier_from_levels(level_frames, assignment, alpha_cls)
    return dual.dual_frame(selector, classifier, LEVELS, 0.25)


def false_rate(frame: pd.DataFrame, radius: np.ndarray, true_class: int, radius_true: float) -> float:
    certified = frame["predict"].to_numpy() >= 0
    return float(np.mean(certified & ((frame["predict"].to_numpy() != true_class) | (radius > radius_true))))


@pytest.mark.parametrize("u0,alpha_sel", [(0.6, 0.05), (0.6, 0.02), (0.7, 0.05), (1.3, 0.05), (1.3, 0.08)])
def test_dual_certificate_is_valid_in_closed_form(u0, alpha_sel):
    alpha_cls = ALPHA - alpha_sel
    true_class, radius_true = true_radius(u0)
    frame = dual_certificates(u0, alpha_sel, alpha_cls, seed=int(1000 * u0 + 100 * alpha_sel))
    assert np.allclose(frame["alpha"], ALPHA) and np.allclose(frame["alpha_selector"], alpha_sel)
    assert false_rate(frame, frame["radius"].to_numpy(), true_class, radius_true) <= ALPHA + TOLERANCE
    assert (frame["predict"] == true_class).mean() > 0.5 and frame["radius"].max() > 0  # not vacuous


@pytest.mark.parametrize("u0", [0.6, 0.7])
def test_negative_control_ignoring_the_selector_radius_is_caught(u0):
    """Near the selector's switch the level changes within R_cls; claiming R_cls alone (Insta-RS's radius) is false."""
    true_class, radius_true = true_radius(u0)
    assert radius_true == pytest.approx(SELECTOR_SWITCH - u0, abs=2e-4)  # G changes where the selector switches
    frame = dual_certificates(u0, 0.05, 0.05, seed=7)
    ignored = np.where(frame["predict"] >= 0, frame["radius_classifier"], 0.0)
    assert false_rate(frame, ignored, true_class, radius_true) > ALPHA + TOLERANCE
    assert false_rate(frame, frame["radius"].to_numpy(), true_class, radius_true) <= ALPHA + TOLERANCE
    assert dual.selector_binding_share(frame) > 0.9  # R_sel < R_cls: the selector limits the radius here


# ------------------------------------------------------------------------------ exact ball counterexample

DIM, RHO = 3072, 60.0
P_MAX = max_certifiable_p(0.001, 100000)


def test_dual_rule_has_no_violation_on_the_exact_counterexample():
    t_grid = np.linspace(20.0, 70.0, 201)
    rho_sel = np.sqrt(RHO ** 2 - DIM * (0.25 ** 2 + 1.0) / 2 + 0.5 ** 2 * DIM)
    for sigmas in ((0.25, 1.0), (1.0, 0.25)):  # small sigma inside the selector's ball, or outside
        result = dual_along(t_grid, RHO, DIM, sigmas, rho_sel, 0.5, P_MAX)
        assert len(np.unique(result.predict)) == 2 and result.radius.max() > 0.5
        assert violations_along(t_grid, result.predict, result.radius) == 0
        ignored = np.where(result.predict >= 0, result.classifier_radius, 0.0)
        assert violations_along(t_grid, result.predict, ignored) > 0  # negative control: R_sel matters here
    report = falsify(FalsificationSettings(n_points=61))
    assert report.dual_violations == 0 and report.rule_violations > 0


def test_dual_along_uses_the_exact_probabilities():
    t = np.array([10.0, 44.0, 60.0])
    rho_sel = 50.0
    result = dual_along(t, RHO, DIM, (0.25, 1.0), rho_sel, 0.5, P_MAX)
    inside = ball_probability(t, rho_sel, 0.5, DIM)
    sigma = np.where(inside > 0.5, 0.25, 1.0)
    p_b = ball_probability(t, RHO, sigma, DIM)
    assert np.array_equal(result.predict, (p_b > 0.5).astype(int))
    top = np.minimum(np.maximum(p_b, 1 - p_b), P_MAX)
    assert np.allclose(result.classifier_radius, sigma * norm.ppf(top))
    assert np.allclose(result.radius, np.minimum(result.classifier_radius,
                                                 0.5 * norm.ppf(np.minimum(np.maximum(inside, 1 - inside), P_MAX))))


# ------------------------------------------------------------------------------------------ combination rules

def test_combine_takes_the_minimum_and_abstains_if_either_abstains():
    result = dual.combine(selector_predict=np.array([0, 1, -1, 2, 0]), selector_radius=np.array([0.3, 0.9, 0.0, 0.5, 0.0]),
                          classifier_predict=np.array([7, 3, 4, -1, 5]), classifier_radius=np.array([0.5, 0.2, 0.6, 0.0, 0.4]))
    assert result.predict.tolist() == [7, 3, -1, -1, 5]
    assert result.radius.tolist() == [0.3, 0.2, 0.0, 0.0, 0.0]  # a certified R_sel = 0 gives radius 0, not abstain


def certification(idx, label, predict, radius, sigma, alpha, seed, c_hat=None):
    """Certification rows whose pA_lower agrees with their radius (Phi(radius / sigma); 0.4 on abstain)."""
    predict = np.asarray(predict)
    pA_lower = np.where(predict >= 0, norm.cdf(np.asarray(radius) / np.asarray(sigma)), 0.4)
    return pd.DataFrame({"idx": idx, "label": label, "predict": predict, "radius": radius,
                         "correct": (predict == np.asarray(label)).astype(int), "time": 0.5, "sigma": sigma,
                         "pA_lower": pA_lower, "c_hat": predict if c_hat is None else c_hat, "nA": 350, "nB": 10,
                         "n0A": 90, "n0": 100, "n": 400, "alpha": alpha, "seed": seed, "n_used": 400,
                         "procedure": "cohen"})


def test_dual_frame_bookkeeping_and_checks(tmp_path):
    levels, sigmas = (1, 4, 16), np.array([0.25, 0.5, 1.0])
    # the selector abstains on idx 12 (its N0 choice, candidate 2, is kept in c_hat)
    selector = certification([12, 10, 11], [3, 1, 2], [-1, 0, 1], [0.0, 0.4, 0.1], 0.5, 0.0002, seed=1,
                             c_hat=[2, 0, 1])
    classifier = certification([10, 11, 12], [1, 2, 3], [1, 5, 3], [0.3, 0.35, 0.8], [0.25, 0.5, 1.0], 0.0008, seed=0)
    assignment = dual.selector_assignment(selector, levels, 0.25)
    assert assignment["level"].tolist() == [16, 1, 4] and np.allclose(assignment["sigma"], [1.0, 0.25, 0.5])
    frame = dual.dual_frame(selector, classifier, levels, 0.25)
    assert frame["idx"].tolist() == [10, 11, 12]
    assert frame["predict"].tolist() == [1, 5, -1] and frame["correct"].tolist() == [1, 0, 0]
    assert np.allclose(frame["radius"], [0.3, 0.1, 0.0])
    assert np.allclose(frame["alpha"], 0.001) and np.allclose(frame["alpha_classifier"], 0.0008)
    assert np.allclose(frame["time"], 1.0) and frame["level"].tolist() == [1, 4, 16]
    assert np.allclose(frame["sigma"], sigmas)
    assert dual.selector_binding_share(frame) == 0.5  # idx 11: R_sel 0.1 < R_cls 0.35; idx 10: 0.4 > 0.3
    path = tmp_path / "dual.tsv"
    write_certification(frame, path, dual.EXTRA_COLUMNS)
    back = read_certification(path)
    assert back["radius_selector"].tolist() == [0.4, 0.1, 0.0] and back["seed_selector"].tolist() == [1, 1, 1]
    assert back["alpha"].tolist() == [0.001] * 3
    with pytest.raises(ValueError, match="not at the sigma the selector chose"):
        dual.dual_frame(selector, classifier.assign(sigma=0.25), levels, 0.25)
    with pytest.raises(ValueError, match="same noise seed"):
        dual.dual_frame(selector.assign(seed=0), classifier, levels, 0.25)
    with pytest.raises(ValueError, match="different test examples"):
        dual.dual_frame(selector, classifier.assign(idx=[10, 11, 13]), levels, 0.25)
    with pytest.raises(ValueError, match="outside 0..2"):
        dual.selector_assignment(selector.assign(c_hat=[3, 0, 1]), levels, 0.25)
    with pytest.raises(ValueError, match="ascending"):
        dual.candidate_sigmas((4, 1), 0.25)


def test_classifier_from_levels_equals_a_fresh_certification_at_the_assignment(linear_model, linear_inputs):
    smoother = Smoother(linear_model, num_classes=2, batch_size=512)
    idx = np.arange(100, 100 + len(linear_inputs))
    labels = (linear_model.distance(linear_inputs) > 0).astype(int)
    levels, sigma0, alpha, alpha_cls = (1, 4, 9), 0.25, 0.01, 0.005
    level_frames = {}
    for level in levels:
        sigma = np.full(len(idx), np.sqrt(level) * sigma0)
        result = smoother.certify(linear_inputs, sigma, idx, 20, 200, alpha, seed=3)
        level_frames[level] = pd.DataFrame({"idx": idx, "label": labels, "predict": result.predict,
                                            "radius": result.radius, "correct": result.predict == labels,
                                            "sigma": sigma, "c_hat": result.c_hat, "nA": result.nA, "n": 200,
                                            "alpha": alpha})
    chosen = np.random.default_rng(0).integers(0, 3, len(idx))
    assignment = pd.DataFrame({"idx": idx, "label": labels, "level": np.array(levels)[chosen],
                               "sigma": dual.candidate_sigmas(levels, sigma0)[chosen]})
    picked = dual.classifier_from_levels(level_frames, assignment.iloc[::-1], alpha_cls)
    fresh = smoother.certify(linear_inputs, assignment["sigma"].to_numpy(), idx, 20, 200, alpha_cls, seed=3)
    assert picked["idx"].tolist() == idx[::-1].tolist()
    picked = picked.iloc[::-1]
    assert np.array_equal(picked["predict"], fresh.predict) and np.allclose(picked["radius"], fresh.radius)
    assert np.allclose(picked["sigma"], assignment["sigma"]) and np.allclose(picked["alpha"], alpha_cls)


# -------------------------------------------------------------------------------------------- selector labels

@pytest.mark.parametrize("criterion", dual_selector.LABEL_CRITERIA)
def test_candidate_radii_match_the_closed_form_and_share_the_noise(linear_model, linear_inputs, criterion):
    smoother = Smoother(linear_model, num_classes=2, batch_size=4096)  # one-hot softmax: soft score = vote share
    distance = linear_model.distance(linear_inputs)
    labels = (distance > 0).astype(int)
    sigmas, m, p_max = np.array([0.25, 0.5, 1.0]), 4000, 0.999
    estimate = RadiusEstimate(m, p_max, 0)
    radii = dual_selector.candidate_radii(smoother, linear_inputs, labels, np.arange(len(labels)), sigmas, estimate,
                                          criterion)
    p_true = np.clip(norm.cdf(np.abs(distance)[:, None] / sigmas[None, :]), 1 - p_max, p_max)
    slack = 4 * np.sqrt(p_true * (1 - p_true) / m) + 1e-3
    lower = sigmas * norm.ppf(np.clip(p_true - slack, 1 - p_max, p_max))
    upper = sigmas * norm.ppf(np.clip(p_true + slack, 1 - p_max, p_max))
    assert np.all((radii >= lower - 1e-9) & (radii <= upper + 1e-9))
    # common random numbers: P_hat[w.eps > -|d| / sigma] can only fall as sigma grows, example by example
    z = radii / sigmas
    assert np.all(np.diff(z, axis=1) <= 1e-12)
    wrong = dual_selector.candidate_radii(smoother, linear_inputs, 1 - labels, np.arange(len(labels)), sigmas, estimate,
                                          criterion)
    clear = np.abs(distance) > 0.1  # g_y <= Phi(-0.1) = 0.46 at every candidate: wrong everywhere, no label
    assert clear.sum() > 30 and np.all(dual_selector.hard_labels(wrong)[clear] == dual_selector.NO_LABEL)


class FlatSoftmax(torch.nn.Module):
    """The half-space classifier's votes behind a flat softmax over 10 classes (every soft score about 0.1), as a
    SmoothAdv-trained model's can be."""

    def __init__(self, base: torch.nn.Module):
        super().__init__()
        self.base = base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = 1e-8 * self.base(x)
        return torch.cat([logits, torch.zeros(len(x), 8)], dim=1)


def test_votes_label_a_flat_softmax_model_that_soft_scores_cannot(linear_model, linear_inputs):
    labels = (linear_model.distance(linear_inputs) > 0).astype(int)
    idx, sigmas, estimate = np.arange(len(labels)), np.array([0.25, 1.0]), RadiusEstimate(500, 0.999, 0)
    steep = dual_selector.candidate_radii(Smoother(linear_model, 2, 4096), linear_inputs, labels, idx, sigmas, estimate,
                                          "votes")
    flat_smoother = Smoother(FlatSoftmax(linear_model), 10, 4096)
    flat = dual_selector.candidate_radii(flat_smoother, linear_inputs, labels, idx, sigmas, estimate, "votes")
    assert np.array_equal(flat, steep) and np.mean(dual_selector.hard_labels(flat) >= 0) > 0.5
    # Eq. 4's soft score of the label stays near 1/10: every soft radius is negative, nothing gets a label
    soft = dual_selector.candidate_radii(flat_smoother, linear_inputs, labels, idx, sigmas, estimate, "soft")
    assert np.all(soft < 0) and np.all(dual_selector.hard_labels(soft) == dual_selector.NO_LABEL)
    with pytest.raises(ValueError, match="criterion = 'hard'.*soft"):
        dual_selector.candidate_radii(flat_smoother, linear_inputs, labels, idx, sigmas, estimate, "hard")


def test_selector_without_any_label_is_refused_with_advice(tmp_path):
    base = TensorImageDataset(torch.zeros(8, 1, 8, 8), torch.zeros(8, dtype=torch.long))
    stage = parse_stage({"method": "gaussian", "sigma": 0.05, "epochs": 1, "batch_size": 4, "lr": 0.05}, "fixed",
                        "sound.dual.selector.train")
    with pytest.raises(ValueError, match="no training example has a selector label.*criterion: votes"):
        dual_selector.train_selector(base, np.full(8, dual_selector.NO_LABEL), (1, 4), 0.25, stage, SELECTOR_JOB,
                                     StageOutput(tmp_path / "selector.pt"))
    assert not (tmp_path / "selector.pt").exists()


def test_hard_labels_rules():
    radii = np.array([[0.1, 0.3, 0.2],      # best candidate
                      [0.2, 0.2, -0.1],     # tie: the smaller sigma
                      [-0.1, -0.3, -0.2],   # wrong everywhere: no label
                      [0.0, 0.0, 0.0],      # unsure everywhere (g_y = 1/2): no label
                      [-0.5, 0.0, 0.01]])
    assert dual_selector.hard_labels(radii).tolist() == [1, 0, -1, -1, 2]
    frame = dual_selector.labels_frame(np.arange(5), np.array([3, 1, 4, 1, 5]), (1, 4, 16), radii)
    assert frame["selector_level"].tolist() == [4, 1, -1, -1, 16]


def test_labels_round_trip_and_checks(tmp_path):
    radii = np.array([[0.1, 0.3], [-0.1, -0.2], [0.4, 0.2]])
    frame = dual_selector.labels_frame(np.array([2, 0, 1]), np.array([1, 2, 3]), (2, 8), radii)
    path = tmp_path / "labels.tsv"
    dual_selector.write_labels(frame, path)
    assert dual_selector.read_labels(path, (2, 8), 3).tolist() == [-1, 0, 1]
    with pytest.raises(ValueError, match="candidate levels"):
        dual_selector.read_labels(path, (1, 8), 3)
    with pytest.raises(ValueError, match="indices"):
        dual_selector.read_labels(path, (2, 8), 4)


# ------------------------------------------------------------------------------------------- selector training

def test_selector_trains_on_the_labelled_examples_only(tmp_path):
    generator = torch.Generator().manual_seed(0)
    bright = torch.arange(160) % 2 == 1
    images = torch.where(bright, 0.7, 0.3).view(-1, 1, 1, 1) + 0.1 * torch.randn(160, 1, 8, 8, generator=generator)
    labels = bright.numpy().astype(int)
    labels[:10] = dual_selector.NO_LABEL
    base = TensorImageDataset(images, torch.zeros(160, dtype=torch.long))
    assert len(dual_selector.RelabelledDataset(base, labels)) == 150
    stage = parse_stage({"method": "gaussian", "sigma": 0.05, "epochs": 8, "batch_size": 16, "lr": 0.05},
                        "fixed", "sound.dual.selector.train")
    record = dual_selector.train_selector(base, labels, (2, 9), 0.25, stage, SELECTOR_JOB,
                                          StageOutput(tmp_path / "selector.pt", history_path=tmp_path / "history.tsv"))
    assert record["num_classes"] == 2 and dual_selector.selector_settings(record) == ([2, 9], 0.25, 0.05)
    assert record["meta"]["history"][-1]["accuracy"] > 0.8
    with pytest.raises(ValueError, match="not a Dual RS selector"):
        dual_selector.selector_settings({"meta": {"identity": {"step": "fixed_sigma"}}})


# ------------------------------------------------------------------------------------------ deployed classifier

def test_dual_predictor_answers_like_the_half_space_and_abstains_with_its_selector(linear_model, linear_inputs):
    direction = linear_model.weight.view(1, 1, 8, 8) / linear_model.weight.norm()
    side = torch.from_numpy(np.sign(linear_model.distance(linear_inputs))).float().view(-1, 1, 1, 1)
    x = linear_inputs + side * direction  # at least 1 from the classifier's hyperplane
    distance = linear_model.distance(x)
    classifier = Smoother(linear_model, num_classes=2, batch_size=512)
    # selector: candidate 1 on one side of another hyperplane, through the first far point
    weight = torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(5))
    selector_model = type(linear_model)(weight, bias=-float(x[0].flatten() @ weight.flatten()))
    selector = Smoother(selector_model, num_classes=2, batch_size=512)
    predict = dual.dual_predictor(classifier, dual.SmoothedSelector(selector, 0.25, 0.001, seed=1000),
                                  sigma_levels(0.25, 2), 200, 0.001, seed=0)
    answers = predict(x)
    truth = (distance > 0).astype(int)
    assert answers[0] == -1  # the selector's smoothed probability is 1/2 there: PREDICT abstains
    certain = np.abs(selector_model.distance(x)) > 0.5
    assert certain.sum() >= 5 and np.all(answers[certain] == truth[certain])


def test_training_split_labels_do_not_depend_on_the_chunking_and_log_progress(caplog):
    digits = {"name": "digits", "num_classes": 10, "validation_size": 200}
    torch.manual_seed(0)
    smoother = Smoother(build_model("digits_cnn", 10, {"kind": "none"}), num_classes=10, batch_size=4096)
    with caplog.at_level("INFO", logger="insta_rs.sound.dual_selector"):
        whole = dual_selector.label_training_split(smoother, digits, (1, 4), 0.25, RadiusEstimate(20, 0.99, seed=4),
                                                   chunk=5000)
    chunked = dual_selector.label_training_split(smoother, digits, (1, 4), 0.25, RadiusEstimate(20, 0.99, seed=4),
                                                 chunk=300)
    pd.testing.assert_frame_equal(whole, chunked)
    assert whole["index"].tolist() == list(range(len(whole))) and set(whole["label"]) == set(range(10))
    assert "levels by class" in caplog.text
    passes = len(whole) * 2 * 20  # training examples x candidate levels x m: the log counts every forward pass
    logged = rf"\b{passes}/{passes} forward passes of the labels \([\d.]+/s, ETA 0s\)"
    assert re.search(logged, caplog.text), caplog.text


def test_dual_from_level_files_writes_the_dual_frame(tmp_path):
    levels = (1, 4)
    selector = certification([0, 1], [2, 3], [1, 0], [0.6, 0.2], 0.5, 0.0005, seed=1)
    paths = {}
    for level, sigma in zip(levels, dual.candidate_sigmas(levels, 0.25)):
        paths[level] = tmp_path / f"level{level}.tsv"
        write_certification(certification([0, 1], [2, 3], [2, 3], [0.4, 0.5], sigma, 0.001, seed=0), paths[level])
    write_certification(selector, tmp_path / "selector.tsv")
    frame = dual.dual_from_level_files(tmp_path / "selector.tsv", paths, levels, 0.25, 0.0005, tmp_path / "dual.tsv")
    back = read_certification(tmp_path / "dual.tsv")
    assert back["predict"].tolist() == frame["predict"].tolist() == [2, 3]
    assert np.allclose(back["sigma"], [0.5, 0.25]) and np.allclose(back["alpha"], 0.001)
    assert np.all(back["radius"] <= back["radius_selector"] + 1e-6)
