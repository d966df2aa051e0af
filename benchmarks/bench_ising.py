"""Ising speed: Metropolis flips per ns, and independent samples per second at Tc.

Compares, in one run and on one core each: phasemapper's numba kernels
(multi-spin coded Metropolis with 64 replicas, scalar checkerboard Metropolis,
Wolff), a plain numpy checkerboard Metropolis, and the
``mcising`` package (Rust core) from PyPI. Prints a table and writes
``benchmarks/results/bench_ising.json``.

Independent samples per second = (updates per second, timed without measurement)
/ tau_int, with tau_int the integrated autocorrelation time (Sokal window) of |m|
and of the energy, the larger of the two, measured on each engine's own recorded
chain at Tc (x64 for the multi-spin replicas). For phasemapper the rate delivered
by ``Ising2D.sample`` end to end (thermalization, pilot, spacing and unpacking
included) is reported as well.

Usage: python benchmarks/bench_ising.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from phasemapper._stats import integrated_autocorrelation_time
from phasemapper.kernels import ising as kern
from phasemapper.kernels import multispin
from phasemapper.kernels._rng import new_state
from phasemapper.systems import ONSAGER_TC, Ising2D
from _provenance import run_provenance  # benchmarks/_provenance.py

TC = ONSAGER_TC


# ----------------------------------------------------------------- engines
def phasemapper_metropolis(L: int, n_sweeps: int, record: bool):
    spins = np.ones((L, L), dtype=np.int8)
    state = new_state(1)
    table = kern.metropolis_tables(TC, 1.0, 0.0)
    n_rec = n_sweeps if record else 1
    per = 1 if record else n_sweeps
    e, m = np.empty(n_rec), np.empty(n_rec)
    dummy = np.empty((1, L, L), dtype=np.int8)
    kern.run_metropolis(spins, 2, 1, 1.0, 0.0, table, state, dummy, e, m, False)  # compile / warm
    t = time.perf_counter()
    kern.run_metropolis(spins, n_rec, per, 1.0, 0.0, table, state, dummy, e, m, False)
    return time.perf_counter() - t, e, m


def phasemapper_multispin(L: int, n_sweeps: int, record: bool):
    """Multi-spin coded Metropolis: 64 replicas per call; with ``record``, per-sweep replica means."""
    words = np.full((L, L), np.uint64(2**64 - 1))
    state = new_state(4)
    p4, p8 = multispin.acceptance_bits(TC, 1.0)
    multispin.metropolis_sweeps(words, 2, p4, p8, state)  # compile / warm
    if not record:
        t = time.perf_counter()
        multispin.metropolis_sweeps(words, n_sweeps, p4, p8, state)
        return time.perf_counter() - t, None, None
    e, m = np.empty(n_sweeps), np.empty(n_sweeps)
    t = time.perf_counter()
    for k in range(n_sweeps):
        multispin.metropolis_sweeps(words, 1, p4, p8, state)
        bonds, mag = multispin.measure(words, 1.0)
        e[k] = -bonds.mean()
        m[k] = np.abs(mag).mean()
    return time.perf_counter() - t, e, m


def phasemapper_wolff(L: int, n_clusters: int):
    spins = np.ones((L, L), dtype=np.int8)
    state = new_state(2)
    thr = kern.wolff_threshold(TC, 1.0)
    stack = np.empty(L * L, dtype=np.int64)
    dummy = np.empty((1, L, L), dtype=np.int8)
    e, m = np.empty(n_clusters), np.empty(n_clusters)
    kern.run_wolff(spins, 200, 1, 1.0, thr, state, stack, dummy, e, m, False)  # warm up + thermalize
    t = time.perf_counter()
    flipped = kern.run_wolff(spins, n_clusters, 1, 1.0, thr, state, stack, dummy, e, m, False)
    return time.perf_counter() - t, e, m, flipped


def phasemapper_wolff_pure(L: int, n_clusters: int) -> float:
    """Seconds for ``n_clusters`` Wolff updates at Tc, without per-cluster measurement."""
    spins = np.ones((L, L), dtype=np.int8)
    state = new_state(2)
    thr = kern.wolff_threshold(TC, 1.0)
    stack = np.empty(L * L, dtype=np.int64)
    dummy = np.empty((1, L, L), dtype=np.int8)
    e, m = np.empty(1), np.empty(1)
    kern.run_wolff(spins, 1, 200, 1.0, thr, state, stack, dummy, e, m, False)
    t = time.perf_counter()
    kern.run_wolff(spins, 1, n_clusters, 1.0, thr, state, stack, dummy, e, m, False)
    return time.perf_counter() - t


def phasemapper_wolff_pair_pure(L: int, n_clusters: int) -> float:
    """Seconds for ``n_clusters`` Wolff updates at Tc grown as two interleaved chains (``run_wolff_pair``,
    ``n_clusters / 2`` on each lattice), without per-cluster measurement."""
    spins = np.ones((2, L, L), dtype=np.int8)
    state = new_state(2)
    thr = kern.wolff_threshold(TC, 1.0)
    stacks = np.empty((2, L * L), dtype=np.int64)
    table = kern.neighbour_table(L)
    dummy = np.empty((1, 2, L, L), dtype=np.int8)
    e, m = np.empty((1, 2)), np.empty((1, 2))
    kern.run_wolff_pair(spins, 1, 100, 1.0, thr, state, stacks, table, dummy, e, m, False)
    t = time.perf_counter()
    kern.run_wolff_pair(spins, 1, n_clusters // 2, 1.0, thr, state, stacks, table, dummy, e, m, False)
    return time.perf_counter() - t


def numpy_checkerboard(L: int, n_sweeps: int):
    rng = np.random.default_rng(0)
    s = np.ones((L, L), dtype=np.int64)
    mask = (np.add.outer(np.arange(L), np.arange(L)) % 2).astype(bool)
    beta = 1.0 / TC
    t = time.perf_counter()
    for _ in range(n_sweeps):
        for sub in (mask, ~mask):
            nn = np.roll(s, 1, 0) + np.roll(s, -1, 0) + np.roll(s, 1, 1) + np.roll(s, -1, 1)
            dE = 2 * s * nn
            flip = sub & (rng.random((L, L)) < np.exp(-beta * dE))
            s[flip] *= -1
    return time.perf_counter() - t


def mcising_chain(L: int, n: int, algorithm: str, record: bool):
    import mcising

    sim = mcising.IsingSimulation(L, 1.0, 0.0, 0.0, 0.0, 3, algorithm)
    sim.sweep(200, temperature=TC)
    if not record:
        t = time.perf_counter()
        sim.sweep(n, temperature=TC)
        return time.perf_counter() - t, None, None
    e, m = np.empty(n), np.empty(n)
    t = time.perf_counter()
    for k in range(n):
        sim.sweep(1, temperature=TC)
        e[k] = sim.energy()
        m[k] = sim.magnetization()
    return time.perf_counter() - t, e, m


def tau_of(e, m) -> float:
    return max(integrated_autocorrelation_time(e), integrated_autocorrelation_time(np.abs(m)))


# ----------------------------------------------------------------- benchmark
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and short chains (~1 minute)")
    args = parser.parse_args()
    sizes = [32, 64] if args.quick else [32, 64, 128, 256]
    flips_target = 2e7 if args.quick else 2e8

    rows_flips, rows_samples = [], []
    for L in sizes:
        n = L * L
        sweeps = max(10, int(flips_target / n))
        t_pm, _, _ = phasemapper_metropolis(L, sweeps, record=False)
        ms_sweeps = max(10, sweeps // 8)
        t_ms, _, _ = phasemapper_multispin(L, ms_sweeps, record=False)
        t_mc, _, _ = mcising_chain(L, sweeps, "metropolis", record=False)
        np_sweeps = max(5, sweeps // 50)
        t_np = numpy_checkerboard(L, np_sweeps)
        row = {
            "L": L,
            "phasemapper_multispin": 64 * ms_sweeps * n / t_ms / 1e9,
            "phasemapper_metropolis": sweeps * n / t_pm / 1e9,
            "mcising_metropolis": sweeps * n / t_mc / 1e9,
            "numpy_checkerboard": np_sweeps * n / t_np / 1e9,
        }
        row["multispin_over_mcising"] = row["phasemapper_multispin"] / row["mcising_metropolis"]
        row["phasemapper_over_mcising"] = row["phasemapper_metropolis"] / row["mcising_metropolis"]
        row["phasemapper_over_numpy"] = row["phasemapper_metropolis"] / row["numpy_checkerboard"]
        rows_flips.append(row)

    for L in sizes[:3]:
        n = L * L
        # Metropolis: tau ~ L^2.17 sweeps at Tc; chains of >= 50 tau where affordable
        n_sw = int(min(max(2000, 60 * 0.3 * L**2.17), (4e7 if args.quick else 4e8) / n))
        _, e_pm, m_pm = phasemapper_metropolis(L, n_sw, record=True)
        _, e_ms, m_ms = phasemapper_multispin(L, n_sw, record=True)
        _, e_mc, m_mc = mcising_chain(L, n_sw, "metropolis", record=True)
        n_cl = int(min(20000, (2e7 if args.quick else 2e8) / n * 4))
        _, e_pw, m_pw, _ = phasemapper_wolff(L, n_cl)
        _, e_mw, m_mw = mcising_chain(L, n_cl, "wolff", record=True)
        # update rates without measurement overhead (tau comes from the recorded chains above)
        flips = next(r for r in rows_flips if r["L"] == L)
        sweeps_pm = flips["phasemapper_metropolis"] * 1e9 / n
        sweeps_ms = flips["phasemapper_multispin"] * 1e9 / n
        sweeps_mc = flips["mcising_metropolis"] * 1e9 / n
        t_pw = phasemapper_wolff_pure(L, n_cl)
        t_pw2 = phasemapper_wolff_pair_pure(L, n_cl)
        t_mw, _, _ = mcising_chain(L, n_cl, "wolff", record=False)
        n_samples = 200 if args.quick else 500
        t0 = time.perf_counter()
        Ising2D(L=L, algorithm="wolff").sample([TC, 0.0], n_samples, seed=0)
        t_e2e_w = time.perf_counter() - t0
        t0 = time.perf_counter()
        Ising2D(L=L, algorithm="multispin").sample([TC, 0.0], n_samples, seed=0)
        t_e2e_ms = time.perf_counter() - t0
        row = {
            "L": L,
            "metropolis_sweeps": n_sw,
            # sweeps_ms already counts every replica's sweeps (the flip rate includes the 64 replicas)
            "phasemapper_multispin": sweeps_ms / tau_of(e_ms, m_ms),
            "phasemapper_metropolis": sweeps_pm / tau_of(e_pm, m_pm),
            "mcising_metropolis": sweeps_mc / tau_of(e_mc, m_mc),
            "phasemapper_wolff": n_cl / t_pw / tau_of(e_pw, m_pw),
            # the pair kernel runs the same chain on each lattice, so tau per cluster is the single chain's
            "phasemapper_wolff_pair": n_cl / t_pw2 / tau_of(e_pw, m_pw),
            "mcising_wolff": n_cl / t_mw / tau_of(e_mw, m_mw),
            "phasemapper_sample_end_to_end_wolff": n_samples / t_e2e_w,
            "phasemapper_sample_end_to_end_multispin": n_samples / t_e2e_ms,
            "tau_metropolis_sweeps": tau_of(e_pm, m_pm),
            "tau_wolff_clusters": tau_of(e_pw, m_pw),
        }
        rows_samples.append(row)

    print(f"\nIsing 2-D at Tc, one core each ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)")
    print("\nMetropolis spin flips per ns")
    print(f"{'L':>5} {'multispin':>10} {'scalar':>8} {'mcising':>9} {'numpy':>8} {'ms/mcising':>11} {'scalar/mcising':>15} {'scalar/numpy':>13}")
    for r in rows_flips:
        print(f"{r['L']:>5} {r['phasemapper_multispin']:>10.3f} {r['phasemapper_metropolis']:>8.3f} {r['mcising_metropolis']:>9.3f} "
              f"{r['numpy_checkerboard']:>8.3f} {r['multispin_over_mcising']:>11.1f} {r['phasemapper_over_mcising']:>15.2f} "
              f"{r['phasemapper_over_numpy']:>13.1f}")
    print("\nIndependent samples per second at Tc (updates/s / tau_int)")
    print(f"{'L':>5} {'pm multispin':>13} {'pm metro':>10} {'mcising metro':>14} {'pm wolff':>10} {'pm wolff pair':>14}"
          f" {'mcising wolff':>14} {'sample() wolff':>15} {'sample() multispin':>19}")
    for r in rows_samples:
        print(f"{r['L']:>5} {r['phasemapper_multispin']:>13.1f} {r['phasemapper_metropolis']:>10.1f} {r['mcising_metropolis']:>14.1f} "
              f"{r['phasemapper_wolff']:>10.1f} {r['phasemapper_wolff_pair']:>14.1f} {r['mcising_wolff']:>14.1f}"
              f" {r['phasemapper_sample_end_to_end_wolff']:>15.1f}"
              f" {r['phasemapper_sample_end_to_end_multispin']:>19.1f}")

    out = Path(__file__).parent / "results" / "bench_ising.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "provenance": run_provenance(),
        "quick": args.quick,
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor(), "python": platform.python_version()},
        "temperature": TC,
        "flips_per_ns": rows_flips,
        "independent_samples_per_s": rows_samples,
    }, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
