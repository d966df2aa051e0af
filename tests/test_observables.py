"""Observables: Tc of the 2-D Ising model at the demo's budget, and bad input."""

import numpy as np
import pytest

import phasemapper as pm
from phasemapper.cli import DEMO, parse_axis, parse_sizes
from phasemapper.detectors import Observables
from phasemapper.systems import ONSAGER_TC, Ising2D

from exact_ising import enumerate_ising


@pytest.fixture(scope="module")
def demo_scans():
    """Exactly the demo's scans (grid, sizes, samples, seed)."""
    _, T = parse_axis(DEMO["axes"][0])
    return {
        L: pm.scan(Ising2D(L=L), {"T": T}, DEMO["samples"], seed=DEMO["seed"], progress=False)
        for L in parse_sizes(DEMO["sizes"])
    }


@pytest.fixture(scope="module")
def demo_fit(demo_scans):
    return Observables(seed=DEMO["seed"]).fit(demo_scans)


def test_binder_crossing_within_half_percent_and_covered(demo_fit):
    cp = {c.method: c for c in demo_fit.critical_points_}["binder_crossing"]
    assert abs(cp.value / ONSAGER_TC - 1) < 0.005
    assert cp.covers(ONSAGER_TC, n_sigma=2.0), (cp, ONSAGER_TC)
    assert len(demo_fit.binder_crossings_) == 2


def test_susceptibility_fss_covers_exact(demo_fit):
    cp = {c.method: c for c in demo_fit.critical_points_}["susceptibility_peak_fss"]
    assert cp.covers(ONSAGER_TC, n_sigma=2.0), (cp, ONSAGER_TC)
    # peaks of the finite-size susceptibility lie above Tc and approach it as L grows
    peaks = [demo_fit.susceptibility_peaks_[L][0] for L in (16, 32, 64)]
    assert peaks[0] > peaks[1] > peaks[2] > ONSAGER_TC


def test_curves_have_physical_shape(demo_fit):
    o = demo_fit.observables_
    assert o.binder.dims == ("L", "T")
    # Binder cumulant -> 2/3 deep in the ordered phase, -> 0 deep in the disordered phase
    assert np.all(np.abs(o.binder.isel(T=0) - 2 / 3) < 0.02)
    assert np.all(o.binder.sel(L=64).isel(T=-1) < 0.15)
    # error bars are positive and finite
    for name in ("abs_m", "susceptibility", "specific_heat", "binder"):
        err = o[f"{name}_err"].values
        assert np.all(np.isfinite(err)) and np.all(err > 0)


def test_curves_match_enumeration_L4():
    T = np.array([1.5, 2.27, 3.5])
    ds = pm.scan(Ising2D(L=4), {"T": T}, 3000, seed=2, executor=pm.SerialExecutor(), progress=False)
    obs = Observables(n_bootstrap=100).fit([ds])
    for i, t in enumerate(T):
        exact = enumerate_ising(4, t)
        got = obs.observables_.abs_m.sel(L=4).values[i]
        err = obs.observables_.abs_m_err.sel(L=4).values[i]
        assert abs(got - exact["abs_m"]) < 4 * err


def test_bad_input():
    ds = pm.scan(Ising2D(L=4), {"T": [2.0, 2.5, 3.0]}, 10, seed=0, executor=pm.SerialExecutor(), progress=False)
    with pytest.raises(ValueError, match="full grid over"):  # (T, h) pairs, not a grid
        h = pm.scan(Ising2D(L=4), {"T": [2.0, 2.5, 3.0], "h": [0, 0.1, 0.2]}, 10, seed=0,
                    executor=pm.SerialExecutor(), progress=False)
        Observables().fit([h])
    with pytest.raises(ValueError, match="L=8"):
        Observables().fit({8: ds})
    with pytest.raises(ValueError, match="n_bootstrap"):
        Observables(n_bootstrap=1).fit([ds])
    with pytest.raises(ValueError, match="axis 'beta'"):
        Observables(axis="beta").fit([ds])
    with pytest.raises(ValueError, match="temperature must be True, False or None"):  # "no" is not False
        Observables(temperature="no").fit([ds])
    with pytest.raises(TypeError, match="scans"):
        Observables().fit(42)


def test_2d_grid_is_fitted_line_by_line():
    """On a (T, D) grid every line is exactly the 1-D fit of that line's points, tagged with its D."""
    import itertools

    from phasemapper.systems import BlumeCapel2D

    grid = np.array(list(itertools.product(np.linspace(1.0, 2.0, 7), [0.0, 1.0])))
    scans = {L: pm.scan(BlumeCapel2D(L=L), {"T": grid[:, 0], "D": grid[:, 1]}, 400, seed=L,
                        executor=pm.SerialExecutor(), progress=False) for L in (4, 6)}
    obs = Observables(n_bootstrap=30).fit(scans)
    assert obs.indicator_.dims == ("L", "D", "T") and sorted(obs.lines_) == [0.0, 1.0]
    for D in (0.0, 1.0):
        line = Observables(n_bootstrap=30).fit({L: ds.isel(point=np.nonzero(ds.D.values == D)[0]) for L, ds in scans.items()})
        np.testing.assert_array_equal(obs.observables_["binder"].sel(D=D).values, line.observables_["binder"].values)
        tagged = [cp for cp in obs.critical_points_ if cp.at == {"D": D}]
        assert [(cp.value, cp.uncertainty, cp.method) for cp in tagged] == \
            [(cp.value, cp.uncertainty, cp.method) for cp in line.critical_points_]
        assert tagged  # the Binder curves of L = 4 and 6 cross on both lines
