"""TASEP vs its master equation, the quantum chain vs free fermions, Hopfield vs enumeration, XY vs integration."""

import itertools

import numpy as np
import pytest
import scipy.linalg

from phasemapper._stats import standard_error
from phasemapper.systems import (
    TASEP,
    XY2D,
    Hopfield,
    TransverseFieldIsingChain,
    free_fermion_ground_energy,
)


# ------------------------------------------------------------------ TASEP
def tasep_stationary(L, alpha, beta):
    """Stationary distribution of the open TASEP master equation on 2**L states (bit i = site i)."""
    n = 1 << L
    Q = np.zeros((n, n))
    for s in range(n):
        occ = [(s >> i) & 1 for i in range(L)]
        if not occ[0]:
            Q[s, s | 1] += alpha
        if occ[L - 1]:
            Q[s, s & ~(1 << (L - 1))] += beta
        for i in range(L - 1):
            if occ[i] and not occ[i + 1]:
                Q[s, (s & ~(1 << i)) | (1 << (i + 1))] += 1.0
    Q -= np.diag(Q.sum(axis=1))
    p = scipy.linalg.null_space(Q.T)[:, 0]
    p /= p.sum()
    occ = ((np.arange(n)[:, None] >> np.arange(L)) & 1).astype(float)
    profile = p @ occ
    current = p @ (occ[:, 0] * (1 - occ[:, 1])) if L > 1 else None
    return profile, current


@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.8, 0.2), (0.9, 0.9), (0.5, 0.5)])
def test_tasep_master_equation(alpha, beta):
    L = 6
    profile, current = tasep_stationary(L, alpha, beta)
    s = TASEP(L=L).sample([alpha, beta], n_samples=3000, seed=4)
    occ = s.configurations.astype(float)
    for i in range(L):
        assert abs(occ[:, i].mean() - profile[i]) < 4 * standard_error(occ[:, i]), (i, occ[:, i].mean(), profile[i])
    J = s.observables["current"]
    assert abs(J.mean() - current) < 4 * standard_error(J), (J.mean(), current)


# ------------------------------------------------------------ quantum chain
@pytest.mark.parametrize("boundary", ["periodic", "open"])
@pytest.mark.parametrize("N,h", [(6, 0.4), (10, 1.0), (12, 1.6)])
def test_chain_ground_energy_free_fermions(N, h, boundary):
    chain = TransverseFieldIsingChain(N=N, boundary=boundary)
    energy, psi = chain.ground_state(h)
    assert energy == pytest.approx(free_fermion_ground_energy(N, 1.0, h, boundary), abs=1e-8)
    # single-shot energy estimates from z and x snapshots average to E0/N
    s = chain.sample([h], n_samples=4000, seed=1)
    e = s.observables["energy"]
    assert abs(e.mean() - energy / N) < 4 * standard_error(e)


def test_chain_snapshot_statistics_match_the_state():
    chain = TransverseFieldIsingChain(N=8)
    _, psi = chain.ground_state(0.7)
    s = chain.sample([0.7], n_samples=4000, seed=2)
    # <m_z^2> from the amplitudes
    z = 1 - 2 * ((np.arange(psi.size)[:, None] >> np.arange(8)) & 1)
    exact_m2 = float(psi**2 @ z.mean(axis=1) ** 2)
    m2 = s.observables["magnetization"] ** 2
    assert abs(m2.mean() - exact_m2) < 4 * standard_error(m2)


# ------------------------------------------------------------------ Hopfield
def test_hopfield_against_enumeration():
    N, alpha, T, n = 10, 0.3, 0.9, 600
    system = Hopfield(N=N, relax_sweeps=100, measure_sweeps=200)
    s = system.sample([alpha, T], n_samples=n, seed=9)
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=N)))
    exact_e, exact_m2 = [], []
    for child in np.random.SeedSequence(9).spawn(n):
        xi = system.patterns(alpha, child.spawn(3)[0])
        W = system.couplings(xi)
        E = -0.5 * np.einsum("si,ij,sj->s", states, W, states)
        w = np.exp(-(E - E.min()) / T)
        w /= w.sum()
        exact_e.append(w @ E / N)
        exact_m2.append(w @ (states @ xi[:, 0] / N) ** 2)
    # paired comparison over the same disorder draws: sample time averages vs exact thermal averages
    for name, exact in (("energy", exact_e), ("overlap2", exact_m2)):
        diff = s.observables[name] - np.array(exact)
        assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(n), (name, diff.mean())


def test_ags_alpha_c():
    from phasemapper.systems import ags_retrieval_temperature

    # Amit, Gutfreund & Sompolinsky 1987: alpha_c(T=0) = 0.138
    assert ags_retrieval_temperature(0.136) > 0 and ags_retrieval_temperature(0.140) == 0


# ------------------------------------------------------------------ XY
def xy_2x2_energy(T, n=64):
    """<E>/N on the 2x2 torus by quadrature over three relative angles (each pair is bonded twice)."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    t1, t2, t3 = np.meshgrid(a, a, a, indexing="ij")
    # sites (0,0)=0, (0,1)=t1, (1,0)=t2, (1,1)=t3; bonds: right and down of each site, L=2 doubles each pair
    E = -2 * (np.cos(t1) + np.cos(t2) + np.cos(t3 - t2) + np.cos(t3 - t1))
    w = np.exp(-(E - E.min()) / T)
    return float((w * E).sum() / w.sum()) / 4


@pytest.mark.parametrize("algorithm", ["auto", "metropolis", "wolff"])
@pytest.mark.parametrize("T", [0.5, 1.2])
def test_xy_2x2_against_quadrature(algorithm, T):
    exact = xy_2x2_energy(T)
    assert exact == pytest.approx(xy_2x2_energy(T, n=96), abs=1e-6)  # quadrature converged
    s = XY2D(L=2, algorithm=algorithm).sample([T], n_samples=4000, seed=3)
    e = s.observables["energy"]
    assert abs(e.mean() - exact) < 4 * standard_error(e), (e.mean(), exact)
