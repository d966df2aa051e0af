"""Posterior-based indicators against closed forms and exact enumeration."""

import numpy as np
import pytest
from scipy.special import logsumexp

from phasemapper.detectors._indicators import (
    confusion_accuracy,
    divergence,
    energy_log_posterior,
    extremes_count,
    extremes_proba,
    fisher_metric_fit,
    interior_peak,
    kl_matrix,
    mean_prediction,
    step_edge,
)

from exact_lattice import all_configurations, bond_sum


def _one_hot_log_posterior(n_points, n_samples):
    lp = np.full((n_points, n_samples, n_points), -50.0)
    for i in range(n_points):
        lp[i, :, i] = 0.0
    return lp - logsumexp(lp, axis=-1, keepdims=True)


def test_confusion_perfect_and_uninformative_posteriors():
    n = 9
    assert np.allclose(confusion_accuracy(_one_hot_log_posterior(n, 5)), 1.0)
    # a flat posterior predicts the majority side of every split: accuracy max(c, n-c)/n,
    # with the tie (c/n = 1/2 is not > 1/2) going to "above"
    flat = np.full((n, 5, n), -np.log(n))
    c = np.arange(1, n)
    expected = np.where(c / n > 0.5, c / n, (n - c) / n)
    assert np.allclose(confusion_accuracy(flat), expected)


def test_mean_prediction_and_divergence_of_a_perfect_predictor():
    t = np.linspace(1.0, 2.0, 6)
    d = np.array([0.0, 0.5, 1.0])
    theta = np.array([[a, b] for a in t for b in d])
    lp = _one_hot_log_posterior(len(theta), 3)
    mean = mean_prediction(lp, theta)
    assert np.allclose(mean, theta)
    assert np.allclose(divergence(mean.reshape(6, 3, 2), (t, d)), 2.0)  # d/dt t + d/dd d


def test_interior_peak_finds_a_parabola_vertex_and_ignores_edges():
    x = np.linspace(0, 1, 21)
    y = -((x - 0.437) ** 2) + 0.3 * x  # vertex at 0.437 + 0.15 = 0.587, rising edge at neither end
    assert interior_peak(x, y) == pytest.approx(0.587, abs=1e-9)
    assert np.isnan(interior_peak(x, x))  # monotone: no interior peak


def _ising_3x3_energies():
    """Density of states of the 3x3 periodic Ising model by enumeration."""
    configs = all_configurations([-1, 1], 3)
    return -bond_sum(configs, lambda a, b: a * b).astype(float)


def test_energy_posterior_matches_the_exact_bayes_posterior():
    # samples drawn from the exact Boltzmann distributions of the 3x3 model; the MBAR posterior
    # p(j|E) must match the exact p(E|T_j) / sum_k p(E|T_k) computed from the density of states
    energies = _ising_3x3_energies()
    levels, counts = np.unique(energies, return_counts=True)
    T = np.array([1.5, 2.0, 2.5, 3.0, 3.5])
    rng = np.random.default_rng(0)
    log_pE = np.log(counts)[None, :] - levels[None, :] / T[:, None]
    log_pE -= logsumexp(log_pE, axis=1, keepdims=True)
    samples = np.array([rng.choice(levels, size=4000, p=np.exp(row)) for row in log_pE])
    post = energy_log_posterior(samples, T)
    exact = log_pE - logsumexp(log_pE, axis=0, keepdims=True)  # (class, level)
    for i in range(len(T)):
        for s in range(0, 4000, 397):
            k = np.searchsorted(levels, samples[i, s])
            # free energies from 20 000 samples: a few 1e-2 of statistical error in log p
            assert np.allclose(post[i, s], exact[:, k], atol=0.05)


def test_fisher_fit_recovers_var_e_over_t4_from_exact_divergences():
    # exact KL between Boltzmann distributions of the 3x3 model; the convex-potential fit
    # must give the exact Fisher information Var(E)/T^4 in the interior of the grid
    energies = _ising_3x3_energies()
    T = np.linspace(1.5, 3.5, 21)
    log_p = -energies[None, :] / T[:, None]
    log_p -= logsumexp(log_p, axis=1, keepdims=True)
    p = np.exp(log_p)
    kl = np.einsum("ic,ic->i", p, log_p)[:, None] - p @ log_p.T
    var = p @ energies**2 - (p @ energies) ** 2
    exact = var / T**4
    _, _, g = fisher_metric_fit(kl, T, window=3)
    assert np.allclose(g[3:-3], exact[3:-3], rtol=0.03)


def test_kl_matrix_of_an_exact_posterior_is_the_exact_kl():
    energies = _ising_3x3_energies()
    levels, counts = np.unique(energies, return_counts=True)
    T = np.array([2.0, 2.2, 2.4])
    log_pE = np.log(counts)[None, :] - levels[None, :] / T[:, None]
    log_pE -= logsumexp(log_pE, axis=1, keepdims=True)
    post = log_pE - logsumexp(log_pE, axis=0, keepdims=True)
    rng = np.random.default_rng(1)
    idx = np.array([rng.choice(levels.size, size=200_000, p=np.exp(row)) for row in log_pE])
    lp = np.stack([post[:, idx[i]].T for i in range(3)])  # (point, sample, class)
    exact = np.exp(log_pE) @ log_pE.T
    exact = np.diag(exact)[:, None] - exact
    se = 4 * np.sqrt(np.exp(log_pE) @ (log_pE.T**2)).max() / np.sqrt(200_000)
    assert np.allclose(kl_matrix(lp), exact, atol=se)


def test_step_edge_is_the_half_way_crossing_of_the_drop_and_ignores_rising_curves():
    x = np.linspace(0, 1, 11)
    # a peak of 3 at x = 0.3, then a plateau of 1 (the median from the peak on): half-way level 2,
    # crossed between x = 0.4 (y = 2.5) and x = 0.5 (y = 1.5), at 0.45 by linear interpolation
    y = np.array([1, 1.5, 2, 3, 2.5, 1.5, 1, 1, 1, 1, 1], dtype=float)
    assert step_edge(x, y) == pytest.approx(0.45, abs=1e-12)
    assert np.isnan(step_edge(x, x))  # the maximum is the last point: no drop after it


def test_extremes_proba_of_two_temperatures_is_the_logistic_likelihood_ratio():
    # one training point at each end: the Bayes classifier of p(E|T_lo) against p(E|T_hi) is
    # sigmoid((1/T_lo - 1/T_hi) E + log Z(T_lo) - log Z(T_hi)), with Z from the 3x3 density of states
    energies = _ising_3x3_energies()
    levels, counts = np.unique(energies, return_counts=True)
    T = np.array([1.5, 2.0, 2.5, 3.0, 3.5])
    log_pE = np.log(counts)[None, :] - levels[None, :] / T[:, None]
    log_pE -= logsumexp(log_pE, axis=1, keepdims=True)
    post = (log_pE - logsumexp(log_pE, axis=0, keepdims=True)).T[None]  # (point, sample = level, class)
    log_z = logsumexp(np.log(counts)[None, :] - levels[None, :] / T[[0, -1], None], axis=1)
    logit = (1 / T[0] - 1 / T[-1]) * levels + log_z[0] - log_z[1]
    assert np.allclose(extremes_proba(post, 1)[0], 1 / (1 + np.exp(-logit)))
    # two at each end: the classes are the mixtures of their points' distributions
    p_lo, p_hi = np.exp(log_pE[:2]).mean(axis=0), np.exp(log_pE[-2:]).mean(axis=0)
    assert np.allclose(extremes_proba(post, 2)[0], p_hi / (p_lo + p_hi))


@pytest.mark.parametrize("fraction", [0.0, 0.5, -0.1, "0.2", True])
def test_extremes_count_rejects_a_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        extremes_count(41, fraction)
