"""PerceptronSGD: the compiled SGD loop against a plain one, the alpha T symmetry of the alpha-scaled hinge loss,
the data's density, and the gradient-descent and noise limits of the replica ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from phasemapper.kernels import family
from phasemapper.kernels._rng import new_state, next_below
from phasemapper.systems import PerceptronSGD, draw_perceptron_data

SMALL = {"d": 16, "n_train": 64, "n_test": 256}


def _plain_sgd(X, y, step, batch_size, max_steps, state):
    """The kernel's algorithm written out in numpy: each epoch shuffles the last order (Fisher-Yates), margins read before each batch's update."""
    P, d = X.shape
    v, steps, order = np.zeros(d), 0, np.arange(P)
    while steps < max_steps:
        for i in range(P - 1, 0, -1):
            j = next_below(state, i + 1)
            order[i], order[j] = order[j], order[i]
        for start in range(0, P, batch_size):
            if steps == max_steps:
                break
            batch = order[start:start + batch_size]
            active = batch[y[batch] * (X[batch] @ v) / math.sqrt(d) < 1.0]
            v = v + step * (y[active, None] * X[active]).sum(0) / math.sqrt(d)
            steps += 1
        if np.all(y * (X @ v) / math.sqrt(d) >= 1.0):
            return v, steps, True
    return v, steps, False


@pytest.mark.parametrize("batch_size, max_steps", [(1, 10**6), (5, 10**6), (3, 7)])
def test_the_compiled_loop_is_the_plain_one(batch_size, max_steps):
    X, y = draw_perceptron_data(np.random.default_rng(1), 40, 8, chi=0.0)
    expected, expected_steps, expected_fitted = _plain_sgd(X, y, 0.3, batch_size, max_steps, new_state(5))
    v = np.zeros(8)
    steps, fitted = family("perceptron").train_hinge(X, y, 0.3, batch_size, max_steps, v, new_state(5))
    assert (steps, fitted) == (expected_steps, expected_fitted)
    np.testing.assert_allclose(v, expected, rtol=1e-12, atol=1e-12)
    if fitted:
        assert np.all(y * (X @ v) / math.sqrt(8) >= 1.0)


def test_alpha_and_T_enter_the_predictor_only_as_their_product():
    system = PerceptronSGD(**SMALL)
    a = system.sample([0.5, 2.0], 4, seed=3)
    b = system.sample([2.0, 0.5], 4, seed=3)
    for key in ("test_error", "norm_ratio", "fitted"):
        np.testing.assert_allclose(a.observables[key], b.observables[key], rtol=1e-12)
    # the weights move alpha times less for the same predictor: ||w - w0|| scales as 1 / alpha
    np.testing.assert_allclose(a.observables["change"], 4.0 * b.observables["change"], rtol=1e-12)
    np.testing.assert_allclose(a.configurations, 4.0 * b.configurations, rtol=1e-5)
    # the stopping time is the learning rate times the steps, and the steps are the same
    np.testing.assert_allclose(a.observables["stopping_time"], 4.0 * b.observables["stopping_time"], rtol=1e-12)


@pytest.mark.parametrize("chi", [0.0, 1.0, 2.5])
def test_the_first_coordinate_has_density_abs_x_to_the_chi_times_a_gaussian(chi):
    X, y = draw_perceptron_data(np.random.default_rng(0), 20_000, 3, chi)
    # |x1| with density ~ |x1|^chi exp(-x1^2 / 2) is chi-distributed with chi + 1 degrees of freedom
    assert stats.kstest(np.abs(X[:, 0]), stats.chi(df=chi + 1).cdf).pvalue > 0.001
    assert stats.kstest(X[:, 1], "norm").pvalue > 0.001
    assert np.array_equal(np.sign(X[:, 0]), y) and abs(y.mean()) < 4 / math.sqrt(20_000)


def test_the_replica_ratio_tends_to_one_near_gradient_descent_and_to_the_cold_factor_under_strong_noise():
    system = PerceptronSGD(d=32, n_train=128, n_test=64, cold_factor=4.0)
    cold = system.sample([1.0, 2.0**-6], 8, seed=0).observables
    hot = system.sample([1.0, 2.0**12], 8, seed=0).observables
    assert cold["fitted"].all() and hot["fitted"].all()
    # gradient descent is the T -> 0 limit: the replicas at T and T / 4 reach the same weights
    assert np.all(np.abs(cold["norm_ratio"] - 1.0) < 0.05)
    # noise-dominated SGD: the weights grow as T, so the ratio tends to 4 (within 3 standard errors of the runs)
    ratio = hot["norm_ratio"]
    assert abs(ratio.mean() - 4.0) < 3 * ratio.std(ddof=1) / math.sqrt(ratio.size)
    assert np.all(hot["rel_change"] > cold["rel_change"])


def test_a_run_stopped_by_max_steps_is_reported_unfitted():
    system = PerceptronSGD(**{**SMALL, "max_steps": 3})
    obs = system.sample([1.0, 0.01], 3, seed=0).observables
    assert not obs["fitted"].any() and not obs["cold_fitted"].any()
    assert np.all(obs["stopping_time"] == pytest.approx(0.01 * 3))
