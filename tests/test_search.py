import numpy as np
import pytest

from insta_rs.certification.smoothing import Smoother
from insta_rs.search import algorithms as search


def peaked(peaks: np.ndarray):
    """Unimodal curves: unit u peaks at level peaks[u]."""
    return lambda units, levels: -np.abs(levels - peaks[units]).astype(float)


def test_fgss_finds_maximum_of_unimodal_curves():
    peaks = np.array([1, 4, 7, 12, 16])
    result = search.fgss(peaked(peaks), len(peaks), 16)
    assert np.array_equal(result.level, peaks)


def test_fgss_counts_distinct_levels_and_uses_cache():
    calls = []

    def criterion(units, levels):
        calls.append(len(units))
        return -np.abs(levels - 16).astype(float)  # increasing: start 1 climbs to 16

    result = search.fgss(criterion, 1, 16)
    assert result.level[0] == 16
    assert result.n_levels_evaluated[0] == 16
    assert sum(calls) == 16  # (16, -1) re-uses the cached values of 16 and 15


def test_fgss_evaluates_fewer_levels_than_grid_on_bimodal_curves():
    values = np.array([0, 1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 2, 1.0])
    result = search.fgss(lambda units, levels: values[levels - 1], 1, 16)
    assert result.level[0] == 14  # best of the two local maxima (3 and 14)
    assert result.n_levels_evaluated[0] == 4 + 4  # 1..4 from below, 16..13 from above
    assert search.grid(lambda units, levels: values[levels - 1], 1, 16).n_levels_evaluated[0] == 16


def test_ties_move_on_and_choose_smallest_level():
    flat = lambda units, levels: np.zeros(len(units))
    result = search.fgss(flat, 2, 8, starts=[(1, 1), (8, -1)])
    assert np.all(result.level == 1)  # both starts end at the far end; candidates tie; smallest level
    assert np.all(result.n_levels_evaluated == 8)


def test_custom_starts_and_validation():
    peaks = np.array([5])
    result = search.fgss(peaked(peaks), 1, 16, starts=[(8, -1)])
    assert result.level[0] == 5 and result.n_levels_evaluated[0] == 5
    with pytest.raises(ValueError, match="search.starts"):
        search.fgss(peaked(peaks), 1, 16, starts=[(17, -1)])


def test_grid_evaluates_everything():
    peaks = np.array([3, 9])
    result = search.grid(peaked(peaks), 2, 16)
    assert np.array_equal(result.level, peaks) and np.all(result.n_levels_evaluated == 16)


def test_instance_and_uniform_criteria_on_linear_model(linear_model, linear_inputs):
    """A linear classifier's approximate radius sigma * PhiInv(Phi(d / sigma)) = d for every sigma,
    clamped at p_max: the search prefers small sigma only when clamping binds."""
    smoother = Smoother(linear_model, 2, 4000)
    idx = np.arange(len(linear_inputs))
    criterion = search.instance_criterion(smoother, linear_inputs, idx, 0.25, 4, search.RadiusEstimate(2000, 0.999, 0))
    values = criterion(np.array([0, 0, 0, 0]), np.array([1, 2, 3, 4]))
    distance = abs(linear_model.distance(linear_inputs[:1])[0])
    assert np.allclose(values, np.minimum(distance, np.sqrt([1, 2, 3, 4]) * 0.25 * 3.0902), atol=0.08)
    uniform = search.uniform_criterion(smoother, linear_inputs, idx, 0.25, 4, search.RadiusEstimate(500, 0.999, 0))
    assert uniform(np.array([0]), np.array([2]))[0] >= 0


def test_labelled_uniform_criterion_counts_only_correct_soft_predictions(linear_model, linear_inputs):
    """Eq. 5 with labels: mean_x max(0, sigma PhiInv(g_soft_y)); on the linear classifier g_soft_y = Phi(+-d / sigma),
    so with the true labels it is about mean |d| (clamped), with every label flipped it is 0, and the label-free
    criterion cannot tell the two apart."""
    smoother = Smoother(linear_model, 2, 4000)
    idx = np.arange(len(linear_inputs))
    distance = linear_model.distance(linear_inputs)
    truth = (distance > 0).astype(int)
    sigma0, estimate = 0.25, search.RadiusEstimate(2000, 0.999, 0)
    labelled = search.labelled_uniform_criterion(smoother, linear_inputs, truth, idx, sigma0, 4, estimate)
    flipped = search.labelled_uniform_criterion(smoother, linear_inputs, 1 - truth, idx, sigma0, 4, estimate)
    label_free = search.uniform_criterion(smoother, linear_inputs, idx, sigma0, 4, estimate)
    levels, units = np.array([1, 4]), np.zeros(2, dtype=int)
    expected = [np.mean(np.minimum(np.abs(distance), sigma * 3.0902)) for sigma in (0.25, 0.5)]
    assert np.allclose(labelled(units, levels), expected, atol=0.03)
    assert np.allclose(labelled(units, levels), label_free(units, levels))  # every soft prediction right here
    assert np.all(flipped(units, levels) <= 0.01)
    radius = search.label_aware_radius(smoother, linear_inputs, 1 - truth, idx, np.full(len(idx), 0.5), estimate)
    assert np.all(radius[np.abs(distance) > 0.1] < 0)


def test_every_registered_search_method_is_a_function_of_the_algorithms():
    from insta_rs.search.registry import DEPLOYED_SEARCH, SEARCH_METHODS

    assert DEPLOYED_SEARCH in SEARCH_METHODS
    assert all(callable(getattr(search, name)) for name in SEARCH_METHODS)
    assert SEARCH_METHODS["fgss"].arguments({"starts": [[1, 1], [4, -1]]}) == {"starts": [(1, 1), (4, -1)]}
