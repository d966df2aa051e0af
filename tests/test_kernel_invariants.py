"""Kernels that keep derived state current (cached components, pattern overlaps) keep it exact."""

import numpy as np
import pytest

from phasemapper import kernels
from phasemapper.kernels._rng import new_state


def test_xy_record_loop_keeps_the_cached_spin_components_current():
    # Metropolis writes (cos, sin) of each accepted angle and Wolff reflects the cached vectors
    # (s -> s - 2 (s.r) r) without trigonometry: after many of both, the cache must still be
    # (cos theta, sin theta) to rounding
    L = 8
    rng = np.random.default_rng(0)
    theta = rng.uniform(0.0, 2 * np.pi, size=(L, L))
    work = np.empty((2, L, L))
    n_records = 50
    configs, values = np.empty((n_records, L, L)), np.empty((n_records, 3))
    accepted, flipped = kernels.xy.run_records(
        theta, 1.0, 1.0 / 0.9, n_records, 2, 8, 1.8, new_state(1), np.empty(2 * L * L, dtype=np.int64),
        np.zeros(L * L, dtype=np.bool_), work, configs, values, True)
    assert accepted > 0 and flipped > 0
    np.testing.assert_allclose(work[0], np.cos(theta), atol=1e-12)
    np.testing.assert_allclose(work[1], np.sin(theta), atol=1e-12)
    # the records are the measurements of the stored configurations
    e, m, hel = kernels.xy.measure(configs[-1], 1.0, 1.0 / 0.9)
    np.testing.assert_allclose(values[-1], [e, m, hel])


def test_hopfield_overlaps_and_energy_match_the_explicit_couplings():
    # the kernel never builds W = xi xi^T / N (zero diagonal); its overlaps M = xi^T s must stay exact
    # and its energy per neuron must equal -s.W.s / 2N computed from W
    N, p = 60, 9
    rng = np.random.default_rng(2)
    xi = rng.choice(np.array([-1, 1], dtype=np.int8), size=(N, p))
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=N)
    overlaps = xi.T.astype(np.int64) @ spins
    sum_s, sums = np.zeros(N), np.zeros(3)
    table, h_max = kernels.hopfield.heatbath_thresholds(1.0 / 0.7, N, p)
    flips = kernels.hopfield.glauber_sweeps(spins, xi, overlaps, table, h_max, 1, new_state(3), sum_s, sums)
    assert flips > 0
    np.testing.assert_array_equal(overlaps, xi.T.astype(np.int64) @ spins)
    W = xi.astype(float) @ xi.T.astype(float) / N
    np.fill_diagonal(W, 0.0)
    s = spins.astype(float)
    assert abs(sums[2] - (-0.5 * s @ W @ s / N)) < 1e-12
    assert sums[0] == (xi[:, 0] @ s) / N
    np.testing.assert_array_equal(sum_s, s)


def _wolff_pair(spins, n_records, per_record, p_thr, seed=0):
    L = spins.shape[1]
    configs = np.empty((n_records, 2, L, L), dtype=np.int8)
    e, m = np.empty((n_records, 2)), np.empty((n_records, 2))
    flipped = kernels.ising.run_wolff_pair(spins, n_records, per_record, 1.0, np.uint64(p_thr), new_state(seed),
                                           np.empty((2, L * L), dtype=np.int64),
                                           kernels.ising.neighbour_table(L), configs, e, m, True)
    return flipped, configs, e, m


def test_wolff_pair_grows_exact_clusters_on_each_lattice_independently():
    # the branch-free growth in its two limits, where every cluster is known exactly:
    # p_add = 0 -> single sites; p_add = 1 from a uniform lattice -> the whole lattice flips each time
    L, n_records, per_record = 6, 5, 3
    spins = np.ones((2, L, L), dtype=np.int8)
    flipped, configs, e, m = _wolff_pair(spins, n_records, per_record, 0)
    assert flipped == 2 * n_records * per_record
    always = np.iinfo(np.uint64).max
    spins = np.ones((2, L, L), dtype=np.int8)
    flipped, configs, e, m = _wolff_pair(spins, n_records, per_record, always)
    assert flipped == 2 * n_records * per_record * L * L
    # an odd number of whole-lattice flips per record: the sign alternates record by record, on both lattices
    expected = np.array([(-1) ** (k + 1) for k in range(n_records)]) * L * L
    np.testing.assert_array_equal(m, np.stack([expected, expected], axis=1))
    np.testing.assert_array_equal(e, np.full((n_records, 2), -2.0 * L * L))


def test_wolff_pair_records_are_the_measurements_of_the_stored_lattices():
    L = 8
    rng = np.random.default_rng(4)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(2, L, L))
    threshold = kernels.ising.wolff_threshold(2.3, 1.0)
    flipped, configs, e, m = _wolff_pair(spins, 20, 2, threshold, seed=5)
    assert flipped > 0
    for k in range(20):
        for lane in range(2):
            np.testing.assert_allclose((e[k, lane], m[k, lane]), kernels.ising.energy_magnetization(configs[k, lane], 1.0, 0.0))
    np.testing.assert_array_equal(configs[-1], spins)  # the last record is the final state
    assert not np.array_equal(configs[:, 0], configs[:, 1])  # two chains, not one copied


def test_neighbours_match_modular_arithmetic_on_every_site():
    # the helper returns unsigned indices (numba's negative-index wraparound is skipped); they must be
    # the periodic neighbours (i -+ 1, j -+ 1 mod L) for every site, including L = 2 and odd L
    # the table the Wolff pair kernel reads holds the same four, in the same order (so its clusters, and
    # every random number, are those of the arithmetic)
    from phasemapper.kernels._lattice import neighbour_table, neighbours

    for L in (2, 3, 5, 8):
        n = L * L
        table = neighbour_table(L)
        assert table.shape == (n, 4) and table.dtype == np.uint32
        for site in range(n):
            i, j = divmod(site, L)
            want = (((i - 1) % L) * L + j, ((i + 1) % L) * L + j, i * L + (j - 1) % L, i * L + (j + 1) % L)
            got = neighbours(np.int64(site), L, n)
            assert tuple(int(v) for v in got) == want, (L, site)
            assert tuple(int(v) for v in table[site]) == want, (L, site)
    for bad in (1, 0, 2.0, True, 70_000):
        with pytest.raises(ValueError, match="L must be"):
            neighbour_table(bad)


def test_burn_in_as_one_record_runs_the_same_chain_as_one_record_per_step():
    # chains flagged single_record_burn_in thermalize with advance(1, k) instead of advance(k, 1): that
    # skips k - 1 discarded measurements and must leave the state and the random stream exactly as before
    from phasemapper.systems import Ising2D
    from phasemapper.systems._ising import _Chain, _MultispinChain

    cases = [(_Chain, "metropolis", 2.0), (_Chain, "wolff", 2.27), (_MultispinChain, "multispin", 2.4)]
    for chain_type, algorithm, T in cases:
        assert chain_type.single_record_burn_in
        system = Ising2D(L=12, algorithm=algorithm)
        chains = []
        for records, per_record in ((7, 1), (1, 7)):
            chain = chain_type(system, T, 0.0, algorithm, new_state(5))
            chain.initialise(np.random.default_rng(1), ordered=False)
            chain.advance(records, per_record, store=False)
            chains.append(chain)
        a, b = chains
        np.testing.assert_array_equal(a.state, b.state)
        np.testing.assert_array_equal(*(c.words if algorithm == "multispin" else c.spins for c in chains))
        # and the next stored records agree too
        ca, oa = a.advance(3, 2, store=True)
        cb, ob = b.advance(3, 2, store=True)
        np.testing.assert_array_equal(ca, cb)
        np.testing.assert_array_equal(oa["energy"], ob["energy"])
