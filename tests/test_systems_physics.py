"""Each system's transition located from scans with physics observables, against the literature.

References are cited at each test; tolerances are those of the Systems issue.
"""

import numpy as np
import pytest

import phasemapper as pm
from phasemapper.detectors import HelicityJump, Observables
from phasemapper.systems import (
    TASEP,
    XY2D,
    XY_T_BKT,
    BlumeCapel2D,
    Hopfield,
    Potts2D,
    TransverseFieldIsingChain,
    tasep_bulk,
)


def _scans(factory, points, sizes, n_samples, seed=0):
    return {L: pm.scan(factory(L), points, n_samples, seed=seed, progress=False) for L in sizes}


def _binder(obs):
    return {c.method: c for c in obs.critical_points_}["binder_crossing"]


def test_potts_q3_tc_within_1_percent():
    tc = Potts2D(q=3).critical_temperature  # Baxter 1973: 1/ln(1+sqrt 3)
    T = np.linspace(0.9, 1.1, 21) * tc
    cp = _binder(Observables().fit(_scans(lambda L: Potts2D(L=L, q=3), {"T": T}, (8, 16, 32), 500)))
    assert abs(cp.value / tc - 1) < 0.01
    assert cp.covers(tc, 2.0)


def _bimodal(energy, bins=30):
    """Two separated maxima of the histogram with a dip below half the smaller one between them."""
    hist, _ = np.histogram(energy, bins=bins)
    smooth = np.convolve(hist, np.ones(3) / 3, mode="same")
    peaks = [i for i in range(1, bins - 1) if smooth[i] >= smooth[i - 1] and smooth[i] > smooth[i + 1] and smooth[i] > 0.05 * smooth.max()]
    if len(peaks) < 2:
        return False
    a, b = peaks[0], peaks[-1]
    return smooth[a:b + 1].min() < 0.5 * min(smooth[a], smooth[b])


def test_potts_q10_first_order_bimodal_energy_but_not_q3():
    # q = 10 is first order (Baxter 1973): at the L = 16 pseudo-transition, within 1% above Tc,
    # ordered and disordered states coexist -> bimodal energy histogram
    sys10 = Potts2D(L=16, q=10)
    tc = sys10.critical_temperature
    found = [_bimodal(sys10.sample([f * tc], 1500, seed=0).observables["energy"]) for f in (1.0, 1.005, 1.01)]
    assert any(found)
    # q = 3 is continuous: no coexistence anywhere near its Tc
    sys3 = Potts2D(L=16, q=3)
    tc3 = sys3.critical_temperature
    assert not any(_bimodal(sys3.sample([f * tc3], 1500, seed=0).observables["energy"]) for f in (1.0, 1.005, 1.01))


@pytest.mark.parametrize("D, tc, tolerance", [(0.0, 1.693, 0.01), (1.5, 1.155, 0.02)])
def test_blume_capel_tc(D, tc, tolerance):
    # Tc(D=0) = 1.693 (Kwak et al., PRE 92, 022134 (2015)); Tc(D=1.5) = 1.155 (Beale 1986; Silva et al. 2006)
    T = np.linspace(0.85, 1.15, 25) * tc
    scans = _scans(lambda L: BlumeCapel2D(L=L), {"T": T, "D": np.full_like(T, D)}, (8, 16, 32), 500)
    cp = _binder(Observables().fit(scans))
    assert abs(cp.value / tc - 1) < tolerance
    assert cp.covers(tc, 2.0)


def test_xy_helicity_jump_within_3_percent():
    # T_BKT = 0.8929 (Hasenbusch 2005; Komura & Okabe 2012); universal jump 2T/pi (Nelson & Kosterlitz 1977)
    T = np.linspace(0.8, 1.1, 16)
    det = HelicityJump().fit(_scans(lambda L: XY2D(L=L), {"T": T}, (8, 16, 32), 300))
    cp = det.critical_points_[0]
    assert abs(cp.value / XY_T_BKT - 1) < 0.03
    # finite-size crossings approach T_BKT from above as L grows
    t = [det.crossings_[L][0] for L in (8, 16, 32)]
    assert t[0] > t[1] > t[2] > XY_T_BKT


@pytest.mark.parametrize("alpha,beta", [(0.2, 0.6), (0.7, 0.3), (0.8, 0.9)])
def test_tasep_bulk_density_L200(alpha, beta):
    # Derrida, Evans, Hakim & Pasquier 1993: rho = alpha (LD), 1 - beta (HD), 1/2 (MC)
    s = TASEP(L=200).sample([alpha, beta], 200, seed=0)
    phase, rho, current = tasep_bulk(alpha, beta)
    assert abs(s.observables["bulk_density"].mean() - rho) < 0.02
    assert abs(s.observables["current"].mean() - current) < 0.01
    assert TASEP(L=200).reference_phase([[alpha, beta]])[0] == phase


def test_chain_hc_within_2_percent():
    # h_c = J (Pfeuty 1970); Binder crossing of the z magnetization, N <= 16
    h = np.linspace(0.85, 1.15, 13)
    scans = _scans(lambda N: TransverseFieldIsingChain(N=N), {"h": h}, (8, 12, 16), 2000)
    cp = _binder(Observables(axis="h").fit(scans))
    assert abs(cp.value - 1.0) < 0.02
    assert cp.covers(1.0, 2.0)


def test_hopfield_alpha_c_at_zero_temperature():
    # Amit, Gutfreund & Sompolinsky 1987: alpha_c = 0.138 at T = 0. Estimate: where half of the
    # samples (fresh patterns each) stay in retrieval (overlap > 0.9) at N = 4000, the largest N
    # whose scan runs in about a minute on 2 cores.
    alpha = np.linspace(0.13, 0.17, 9)
    ds = pm.scan(Hopfield(N=4000), {"alpha": alpha, "T": np.zeros_like(alpha)}, 16, seed=0, progress=False)
    retrieved = (ds.overlap > 0.9).mean("sample").values
    k = int(np.nonzero((retrieved[:-1] >= 0.5) & (retrieved[1:] < 0.5))[0][0])
    alpha_c = alpha[k] + (alpha[k + 1] - alpha[k]) * (retrieved[k] - 0.5) / (retrieved[k] - retrieved[k + 1])
    assert abs(alpha_c - 0.138) < 0.02
