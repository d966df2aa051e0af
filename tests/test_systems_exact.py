"""Potts and Blume-Capel against full enumeration of 3x3 lattices (within 4 standard errors)."""

import numpy as np
import pytest

from phasemapper._stats import standard_error
from phasemapper.systems import BlumeCapel2D, Potts2D

from exact_lattice import all_configurations, bond_sum, thermal_average


def _check(samples, exact, n_sites, names):
    for name in names:
        series = samples.observables[name]
        target = exact[name] / n_sites if name == "energy" else exact[name]
        se = standard_error(series)
        assert abs(series.mean() - target) < 4 * se + 1e-12, (name, series.mean(), target, se)


@pytest.mark.parametrize("algorithm", ["auto", "heatbath", "wolff"])
@pytest.mark.parametrize("T", [0.6, 1.0, 1.6])
def test_potts_q3_enumeration_3x3(algorithm, T):
    q, L = 3, 3
    configs = all_configurations(range(q), L)
    energy = -bond_sum(configs, lambda a, b: (a == b).astype(float))
    counts = np.stack([(configs == k).sum(axis=(1, 2)) for k in range(q)], axis=1)
    order = (q * counts.max(axis=1) / L**2 - 1) / (q - 1)
    exact = thermal_average(energy, T, magnetization=order)
    s = Potts2D(L=L, q=q, algorithm=algorithm).sample([T], n_samples=3000, seed=1)
    _check(s, exact, L * L, ["energy", "magnetization"])


@pytest.mark.parametrize("algorithm", ["auto", "heatbath"])
@pytest.mark.parametrize("T,D", [(0.8, 0.0), (1.2, 1.0), (0.7, 1.9), (2.0, -0.5)])
def test_blume_capel_enumeration_3x3(algorithm, T, D):
    L = 3
    configs = all_configurations([-1, 0, 1], L)
    s2 = (configs**2).sum(axis=(1, 2))
    energy = -bond_sum(configs, lambda a, b: (a * b).astype(float)) + D * s2
    exact = thermal_average(
        energy, T, abs_m=np.abs(configs.sum(axis=(1, 2))) / L**2, density=s2 / L**2
    )
    s = BlumeCapel2D(L=L, algorithm=algorithm).sample([T, D], n_samples=3000, seed=2)
    s.observables["abs_m"] = np.abs(s.observables["magnetization"])
    _check(s, exact, L * L, ["energy", "abs_m", "density"])
