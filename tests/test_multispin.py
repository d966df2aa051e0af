"""Multi-spin coded Metropolis: the bitwise rule against the scalar rule, the random bits, and exact results."""

import numpy as np
import pytest

from phasemapper._stats import standard_error
from phasemapper.kernels import multispin as ms
from phasemapper.kernels._rng import new_state
from phasemapper.systems import Ising2D

from exact_ising import enumerate_ising


def test_bitwise_rule_equals_scalar_rule_and_tosses_a_coin_for_level_moves():
    # One half-sweep updates one sublattice, whose sites see only the other: with acceptance 0 (T -> 0) or 1
    # (T -> inf) every flip that changes the energy is decided by the Metropolis rule, and every flip that keeps
    # it is a fair coin (so that no configuration cycles deterministically).
    level_flips = level_sites = 0
    for L in (4, 6):
        for p in (0.0, 1.0):
            rng = np.random.default_rng(L)
            spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(64, L, L))
            words = ms.pack(spins)
            bits = ms.probability_bits(p) if p < 1 else np.full(53, np.uint64(2**64 - 1))
            state = tuple(new_state(L))
            for i in range(L):
                _, *state = ms.update_row(words, i, 0, bits, bits, *map(np.uint64, state))
            new = ms.unpack(words).astype(int)
            old = spins.astype(int)
            nn = np.roll(old, 1, 1) + np.roll(old, -1, 1) + np.roll(old, 1, 2) + np.roll(old, -1, 2)
            dE = 2 * old * nn
            parity0 = (np.add.outer(np.arange(L), np.arange(L)) % 2 == 0)[None].repeat(64, axis=0)
            flipped = new != old
            assert not flipped[~parity0].any()  # the other sublattice waits for its half-sweep
            decided = parity0 & (dE != 0)
            np.testing.assert_array_equal(flipped[decided], (dE < 0)[decided] | (p == 1.0))
            level = parity0 & (dE == 0)
            level_flips += int(flipped[level].sum())
            level_sites += int(level.sum())
    assert level_sites > 1000 and abs(level_flips / level_sites - 0.5) < 4 * 0.5 / np.sqrt(level_sites)


# A 4 x 4 configuration in which every spin has two neighbours up and two down: accepting every level flip
# made a checkerboard sweep map it to its mirror image and back, so a chain that reached it never left.
_LEVEL_CYCLE = np.array([[-1, 1, 1, 1], [-1, 1, -1, -1], [1, 1, -1, 1], [-1, -1, -1, 1]], dtype=np.int8)


def test_no_configuration_traps_the_chain():
    from phasemapper.kernels import _ising

    words = ms.pack(np.repeat(_LEVEL_CYCLE[None], 64, axis=0))
    p4, p8 = ms.acceptance_bits(2.6, 1.0)
    ms.metropolis_sweeps(words, 20, p4, p8, new_state(1))
    replicas = ms.unpack(words)
    trapped = [(r == _LEVEL_CYCLE).all() or (r == -_LEVEL_CYCLE).all() for r in replicas]
    assert sum(trapped) <= 2  # a free chain returns to the pair with probability ~ 2 / 2**16 per look
    scalar = _LEVEL_CYCLE.copy()
    _ising._metropolis_sweeps(scalar, 20, _ising.metropolis_tables(2.6, 1.0, 0.0), new_state(2))
    assert not ((scalar == _LEVEL_CYCLE).all() or (scalar == -_LEVEL_CYCLE).all())


def test_pack_unpack_roundtrip():
    spins = np.random.default_rng(1).choice(np.array([-1, 1], dtype=np.int8), size=(64, 5, 7))
    np.testing.assert_array_equal(ms.unpack(ms.pack(spins)), spins)


def test_unpack_of_a_stack_is_record_major_and_contiguous():
    # replica r of record k is bit r of words[k], read independently of the vectorised unpack
    words = np.random.default_rng(2).integers(0, 2**64, size=(3, 5, 7), dtype=np.uint64)
    spins = ms.unpack(words)
    assert spins.shape == (192, 5, 7) and spins.dtype == np.int8 and spins.flags.c_contiguous
    for k, r in [(0, 0), (0, 63), (1, 17), (2, 40)]:
        expected = np.where((words[k] >> np.uint64(r)) & np.uint64(1), 1, -1)
        np.testing.assert_array_equal(spins[64 * k + r], expected)
    with pytest.raises(ValueError, match="words"):
        ms.unpack(words.astype(np.int64))


def test_multispin_samples_are_sample_major_in_memory():
    # consumers (bit packing for the pool, copies into the scan's array) read samples contiguously;
    # a transposed view made packing a 4 MB point 20x slower
    out = Ising2D(L=8, algorithm="multispin").sample([3.0, 0.0], 100, seed=1)
    assert out.configurations.flags.c_contiguous and out.configurations.shape == (100, 8, 8)


@pytest.mark.parametrize("p", [0.01831563888873418, 0.3, 0.75])  # exp(-4) among them
def test_bernoulli_bits_are_independent_with_probability_p(p):
    words = ms.bernoulli_words(ms.probability_bits(p), 20000, new_state(5))
    bits = np.unpackbits(words.view(np.uint8), bitorder="little").reshape(-1, 64).astype(float)
    n = bits.shape[0]
    # every replica's bit has frequency p (binomial error), over all 64 replicas jointly
    per_bit = bits.mean(axis=0)
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(per_bit - p) < 4.5 * se)  # 64 tests at ~4.5 sigma
    # no correlation between replicas: the off-diagonal correlations look like noise ~ 1/sqrt(n)
    c = np.corrcoef(bits.T)
    off = c[~np.eye(64, dtype=bool)]
    assert np.abs(off).max() < 5.5 / np.sqrt(n)


@pytest.mark.parametrize("T", [1.5, 2.27, 3.5])
def test_multispin_against_enumeration_L4(T):
    exact = enumerate_ising(4, T)
    s = Ising2D(L=4, algorithm="multispin").sample([T, 0.0], n_samples=4000, seed=11)
    m = s.observables["magnetization"]
    for series, target in ((s.observables["energy"], exact["energy"]), (np.abs(m), exact["abs_m"]), (m**2, exact["m2"])):
        assert abs(series.mean() - target) < 4 * standard_error(series)


def test_multispin_against_scalar_kernel_L16():
    # same physics as the scalar reference kernel at a point where both mix well
    a = Ising2D(L=16, algorithm="multispin").sample([2.6, 0.0], 2000, seed=1).observables["energy"]
    b = Ising2D(L=16, algorithm="metropolis").sample([2.6, 0.0], 2000, seed=1).observables["energy"]
    assert abs(a.mean() - b.mean()) < 4 * np.hypot(standard_error(a), standard_error(b))


def test_replicas_are_independent_chains():
    s = Ising2D(L=8, algorithm="multispin").sample([2.4, 0.0], 64 * 60, seed=2)
    m = np.abs(s.observables["magnetization"]).reshape(60, 64)  # (record, replica)
    c = np.corrcoef(m.T)
    off = c[~np.eye(64, dtype=bool)]
    # per-pair correlations over 60 records have SE ~ 1/sqrt(60) = 0.13; their mean over 2016 pairs far less
    assert abs(off.mean()) < 0.03 and np.abs(off).max() < 0.6


def test_multispin_needs_zero_field():
    with pytest.raises(ValueError, match="'h'"):
        Ising2D(L=4, algorithm="multispin").sample([2.0, 0.1], 10, seed=0)


def test_stored_replicas_show_both_signs_below_tc():
    # a random global flip before each stored record (an exact symmetry at h = 0): replicas started all up
    # must come out up or down with probability 1/2 each (binomial error over 640 samples)
    m = Ising2D(L=8, algorithm="multispin").sample([1.5, 0.0], 640, seed=4).observables["magnetization"]
    assert np.all(np.abs(m) > 0.5)  # ordered
    up = np.mean(m > 0)
    assert abs(up - 0.5) < 4 * np.sqrt(0.25 / 640)


def test_auto_uses_multispin_off_the_critical_window_and_wolff_in_it():
    small, large = Ising2D(L=16), Ising2D(L=32)
    assert small.algorithm_at(2.269, 0.0) == "multispin" and large.algorithm_at(2.269, 0.0) == "wolff"
    assert large.algorithm_at(1.8, 0.0) == "multispin" and large.algorithm_at(2.269, 0.1) == "metropolis"


@pytest.mark.parametrize("T", [1.8, 2.55])
def test_pilot_tau_matches_a_long_run(T):
    """The pilot's tau (autocorrelation averaged over the 64 replicas, 20 taus) against the tau of a
    run 30-100x longer, at L = 32. The replica-mean series the pilot used before fails both: its
    pilots ranged 1.0-5.0 (long run 2.56) at T = 1.8 and averaged 8.96 (long run 16.3) at T = 2.55."""
    from phasemapper._stats import integrated_autocorrelation_time
    from phasemapper.systems._ising import _MultispinChain

    system = Ising2D(L=32)

    def chain(seed):
        init, state = np.random.SeedSequence(seed).spawn(2)
        c = _MultispinChain(system, T, 0.0, "multispin", new_state(state))
        c.initialise(np.random.default_rng(init), ordered=T < system.critical_temperature)
        c.thermalize(200)
        return c

    long = chain(1000)
    long.thermalize(2000)
    _, obs = long.advance(20_000, 1, store=False)
    reference = max(integrated_autocorrelation_time(s) for s in long.tau_series(obs))
    pilots = np.array([chain(seed).pilot() for seed in range(8)])
    # Madras-Sokal: relative error sqrt(2 (2 M + 1) / (64 n)) <= 15% per pilot (M ~ 5 tau, n >= 20 tau);
    # the mean of 8 is within 3 of its standard errors (~ 16%) plus the long run's own ~2%
    assert abs(pilots.mean() / reference - 1) < 0.18, (pilots, reference)
    assert np.all(np.abs(pilots / reference - 1) < 0.5), (pilots, reference)


def test_measure_counts_every_replicas_bonds_and_magnetization():
    # the bit-sliced (Harley-Seal) counts must equal the sums over the unpacked +-1 replicas, for sizes whose
    # word count is and is not a multiple of the 8-word block (L = 2, 3, 5, 8, 13) and beyond one level of the
    # eights counter (L = 40: 1600 and 3200 words)
    from phasemapper.kernels import multispin

    for L in (2, 3, 5, 8, 13, 40):
        rng = np.random.default_rng(L)
        for words in (rng.integers(0, 2**64, size=(L, L), dtype=np.uint64), np.zeros((L, L), dtype=np.uint64),
                      np.full((L, L), np.uint64(0xFFFFFFFFFFFFFFFF))):
            bonds, mag = multispin.measure(words, 1.0)
            s = multispin.unpack(words).astype(np.int64)
            want_bonds = (s * np.roll(s, -1, axis=2)).sum(axis=(1, 2)) + (s * np.roll(s, -1, axis=1)).sum(axis=(1, 2))
            np.testing.assert_array_equal(bonds, want_bonds)
            np.testing.assert_array_equal(mag, s.sum(axis=(1, 2)))


def test_records_of_each_replica_are_spaced_by_two_autocorrelation_times():
    # each replica's chain advances ceil(2 tau) sweeps between its records, so consecutive records of one replica
    # are nearly independent: their integrated autocorrelation time stays near 1 (1.27 for an exponential decay
    # sampled at two times its scale), not the 10-20 of records spaced by a few sweeps near Tc
    from phasemapper._stats import integrated_autocorrelation_time

    for T in (2.15, 2.3):
        s = Ising2D(L=24, algorithm="multispin").sample([T, 0.0], 64 * 100, seed=3)
        series = np.abs(s.observables["magnetization"]).reshape(-1, 64)  # (record, replica)
        assert s.metadata["steps_between_samples"] >= 2 * s.metadata["autocorrelation_time"]
        assert integrated_autocorrelation_time(series) < 1.6, T
