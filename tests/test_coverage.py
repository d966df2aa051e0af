"""Error bars that can be believed: over 20 independent seeds of a cheap setting with a known answer, the answer lies
within two reported standard deviations in at least 85% of the seeds (95% for calibrated Gaussian errors).

The known answers are exact: the Binder cumulants and susceptibilities of the periodic 4 x 4 and 6 x 6 Ising
models from exact state counts (exact_ising.ising_state_counts), and, for the optimal indicators, the same
estimator on samples drawn from the exact energy distributions, 50 times more of them than a seed has.
"""

from __future__ import annotations

import numpy as np
import pytest

import phasemapper as pm
from phasemapper.detectors import Observables, OptimalIndicators
from phasemapper.systems import Ising2D

from exact_ising import exact_finite_size_answers, exact_scan

SEEDS = range(1, 21)
SIZES = (4, 6)
T = np.linspace(1.9, 3.1, 13)
TC = 2.0 / np.log1p(np.sqrt(2.0))  # Onsager


def _share_within_two_sigma(z: list[float]) -> float:
    assert len(z) >= 20, f"a coverage check needs at least 20 seeds, got {len(z)}"
    return float(np.mean(np.abs(np.asarray(z)) <= 2.0))


@pytest.fixture(scope="module")
def exact_answers():
    """The Binder crossing of L = 4 and 6, and the 1/L extrapolation of their susceptibility peaks, exactly."""
    return exact_finite_size_answers(*SIZES)


@pytest.fixture(scope="module")
def monte_carlo_fits():
    """Observables and OptimalIndicators fitted on 20 independent Monte Carlo scans of L = 4 and 6."""
    fits = []
    for seed in SEEDS:
        big = {L: pm.scan(Ising2D(L=L), {"T": T}, 10000, seed=seed, executor=pm.SerialExecutor(), progress=False)
               for L in SIZES}
        small = {L: ds.isel(sample=slice(0, 400)) for L, ds in big.items()}
        fits.append((Observables().fit(big), OptimalIndicators().fit(small)))
    return fits


def test_binder_crossing_and_susceptibility_fss_error_bars_cover_the_exact_answer(exact_answers, monte_carlo_fits):
    z: dict[str, list[float]] = {name: [] for name in exact_answers}
    for obs, _ in monte_carlo_fits:
        for cp in obs.critical_points_:
            z[cp.method].append((cp.value - exact_answers[cp.method]) / cp.uncertainty)
    for name, values in z.items():
        assert _share_within_two_sigma(values) >= 0.85, (name, np.round(values, 2))


def test_the_optimal_indicators_error_bars_cover_their_noise_free_reading(monte_carlo_fits):
    rng = np.random.default_rng(2026)
    reference = OptimalIndicators(n_bootstrap=20).fit({L: exact_scan(L, T, 20000, rng) for L in SIZES})
    truth = {cp.method: cp for cp in reference.critical_points_}
    assert len(truth) >= 6
    z: dict[str, list[float]] = {name: [] for name in truth}
    for _, det in monte_carlo_fits:
        for cp in det.critical_points_:
            if cp.method in truth:  # the reference's own (grid) uncertainty counts too
                z[cp.method].append((cp.value - truth[cp.method].value) / np.hypot(cp.uncertainty,
                                                                                    truth[cp.method].uncertainty))
    for name, values in z.items():
        assert _share_within_two_sigma(values) >= 0.85, (name, np.round(values, 2))


def test_a_new_users_binder_crossing_covers_onsager():
    # Ising L = 12 and 24, 15 temperatures in [2.10, 2.45], 400 samples, seeds 1-6: the reported uncertainty of the
    # Binder crossing covers Onsager's Tc within 2 sigma in at least 5 of the 6 (before the joint fit across noisy
    # crossings and the fixed Metropolis kernel: z from -12.9 to +1.7, 3 of 6; after: 6 of 6)
    grid = np.linspace(2.10, 2.45, 15)
    z = []
    with pm.ProcessPool(2) as pool:
        for seed in range(1, 7):
            scans = pm.scan_sizes([Ising2D(L=12), Ising2D(L=24)], {"T": grid}, 400, seed=seed, executor=pool,
                                  progress=False)
            cp = next(c for c in Observables().fit(scans).critical_points_ if c.method == "binder_crossing")
            z.append((cp.value - TC) / cp.uncertainty)
    assert sum(abs(v) <= 2.0 for v in z) >= 5, np.round(z, 2)


def test_several_crossings_are_read_with_one_fit_across_them():
    from phasemapper.detectors._observables import _fitted_root

    x = np.linspace(2.20, 2.30, 41)
    smooth = 0.3 * (2.26 - x)  # one crossing at 2.26
    wiggle = smooth + 0.004 * np.sin(2 * np.pi * (x - 2.20) / 0.02)  # noise that crosses zero three times
    roots = x[:-1][np.sign(wiggle[:-1]) != np.sign(wiggle[1:])]
    spread = roots[-1] - roots[0]
    assert len(roots) >= 3 and 2.26 - roots[0] > spread / 3  # the first crossing alone misses the transition
    assert abs(_fitted_root(x, wiggle) - 2.26) < spread / 5
