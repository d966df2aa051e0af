"""Both cores: numba ``prange`` inside one chain, or the process pool over points?

The Speed issue asks for whichever is faster end to end. A scan is many
independent points, so two ways to use two cores are:

* ``prange``: one multi-spin chain whose checkerboard half-sweeps split the lattice
  rows between threads (each row with its own xoshiro stream, so the chain is the
  same whatever the thread count); the threads meet at a barrier every half-sweep.
  This variant is written here, for the measurement only.
* ``pool``: phasemapper's default executor, one serial multi-spin chain per point,
  two points at a time in two processes.

Both do the same work (two chains of ``n`` sweeps of 64 replicas at Tc) and are timed
wall-clock in the same run, with the serial kernel on one core as the baseline. The
pool's time includes forking the workers and returning the lattices. Prints a table
and writes ``benchmarks/results/bench_parallel.json``.

Usage: python benchmarks/bench_parallel.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import wait
from pathlib import Path

import numba as nb
import numpy as np

from phasemapper._executors import default_executor
from phasemapper.kernels import multispin
from phasemapper.kernels._multispin import update_row
from phasemapper.kernels._rng import new_state
from phasemapper.systems import ONSAGER_TC
from _provenance import run_provenance  # benchmarks/_provenance.py


@nb.njit(parallel=True, cache=True)
def sweeps_rows_parallel(words, n_sweeps, p4bits, p8bits, states):
    """Checkerboard multi-spin Metropolis with the rows of each half-sweep split between threads
    (the serial kernel's row update, ``multispin.update_row``, one RNG stream per row)."""
    L = words.shape[0]
    for _ in range(n_sweeps):
        for parity in range(2):
            for i in nb.prange(L):
                _, states[i, 0], states[i, 1], states[i, 2], states[i, 3] = update_row(
                    words, i, parity, p4bits, p8bits, states[i, 0], states[i, 1], states[i, 2], states[i, 3])


def serial_chain(L: int, n_sweeps: int, seed: int) -> np.ndarray:
    """One serial multi-spin chain at Tc (the pool's job); returns the lattice."""
    words = np.full((L, L), np.uint64(2**64 - 1))
    p4, p8 = multispin.acceptance_bits(ONSAGER_TC, 1.0)
    multispin.metropolis_sweeps(words, n_sweeps, p4, p8, new_state(seed))
    return words


def parallel_chain(L: int, n_sweeps: int, seed: int) -> np.ndarray:
    words = np.full((L, L), np.uint64(2**64 - 1))
    p4, p8 = multispin.acceptance_bits(ONSAGER_TC, 1.0)
    states = np.stack([new_state(s) for s in np.random.SeedSequence(seed).spawn(L)])
    sweeps_rows_parallel(words, n_sweeps, p4, p8, states)
    return words


def timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 32 and 64 only (~15 s)")
    args = parser.parse_args()
    cores = min(2, os.cpu_count() or 1)
    nb.set_num_threads(cores)
    sizes = (32, 64) if args.quick else (32, 64, 128, 256)
    serial_chain(8, 2, 0)
    parallel_chain(8, 2, 0)  # compile before the pool forks
    rows = []
    print(f"two chains of 64 replicas at Tc, {cores} cores; flips per ns, wall clock")
    print(f"{'L':>5} {'sweeps':>7} {'serial 1 core':>14} {'prange':>9} {'pool':>9} {'prange/serial':>14} {'pool/serial':>12} {'pool/prange':>12}")
    for L in sizes:
        n = max(20, int(2e7 / (L * L)))  # ~0.4 s per chain: shorter chains time the fork, not the kernels
        flips = 2 * n * L * L * 64
        serial = timed(lambda: [serial_chain(L, n, s) for s in (1, 2)])
        prange = timed(lambda: [parallel_chain(L, n, s) for s in (1, 2)])

        def pooled() -> None:
            executor = default_executor(max_workers=cores)
            try:
                wait([executor.submit(serial_chain, L, n, s) for s in (1, 2)])
            finally:
                executor.shutdown()

        pool = timed(pooled)
        row = {"L": L, "sweeps": n, "serial_flips_per_ns": flips / serial / 1e9, "prange_flips_per_ns": flips / prange / 1e9,
               "pool_flips_per_ns": flips / pool / 1e9}
        row.update(prange_vs_serial=serial / prange, pool_vs_serial=serial / pool, pool_vs_prange=prange / pool)
        rows.append(row)
        print(f"{L:>5} {n:>7} {row['serial_flips_per_ns']:>14.2f} {row['prange_flips_per_ns']:>9.2f} "
              f"{row['pool_flips_per_ns']:>9.2f} {row['prange_vs_serial']:>13.2f}x {row['pool_vs_serial']:>11.2f}x "
              f"{row['pool_vs_prange']:>11.2f}x", flush=True)
    out = Path(__file__).parent / "results" / "bench_parallel.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"provenance": run_provenance(), "quick": args.quick, "cores": cores, "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
