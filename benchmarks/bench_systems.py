"""Throughput of every system's sampler, and the end-to-end demo scan, before/after the multi-spin engine.

"before" is Ising2D's ``algorithm="auto"`` (Wolff at h = 0 for T <= 1.2 Tc, the
scalar Metropolis kernel elsewhere); "after" uses the multi-spin engine above
1.2 Tc instead (a subclass here), the candidate dispatch that this benchmark
decides on. The other systems' kernels were not changed by the Speed issue, so
their single row is their current throughput. Prints a table and writes
``benchmarks/results/bench_systems.json``.

Usage: python benchmarks/bench_systems.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import phasemapper as pm
from phasemapper.cli import DEMO, parse_axis, parse_sizes
from phasemapper.systems import TASEP, XY2D, BlumeCapel2D, Hopfield, Ising2D, Potts2D, TransverseFieldIsingChain


class IsingMultispin(Ising2D):
    """Ising2D with multi-spin Metropolis instead of the scalar kernel above 1.2 Tc at h = 0."""

    def algorithm_at(self, T: float, h: float) -> str:
        algorithm = super().algorithm_at(T, h)
        return "multispin" if algorithm == "metropolis" and h == 0 else algorithm


def rate(system, point, n_samples: int) -> float:
    system.sample(point, 4, seed=1)  # compile
    t = time.perf_counter()
    system.sample(point, n_samples, seed=0)
    return n_samples / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and the demo at L = 16, 32 (~1 minute)")
    args = parser.parse_args()
    n = 100 if args.quick else 400
    L = 16 if args.quick else 32
    rows = []
    cases = [
        ("ising2d T=3.0 scalar (auto)", Ising2D(L=L), [3.0, 0.0]),
        ("ising2d T=3.0 multispin", IsingMultispin(L=L), [3.0, 0.0]),
        ("ising2d T=Tc (wolff)", Ising2D(L=L), [2.269185, 0.0]),
        ("potts2d q=3 T=Tc", Potts2D(L=L, q=3), [0.995]),
        ("blume_capel2d D=1.5 T=1.155", BlumeCapel2D(L=L), [1.155, 1.5]),
        ("xy2d T=0.9", XY2D(L=L), [0.9]),
        ("tasep L=200 MC", TASEP(L=200), [0.8, 0.9]),
        ("tfim_chain N=12 h=1", TransverseFieldIsingChain(N=12), [1.0]),
        ("hopfield N=500 alpha=0.1 T=0.2", Hopfield(N=500), [0.1, 0.2]),
    ]
    for name, system, point in cases:
        rows.append({"case": name, "samples_per_s": rate(system, point, n if "hopfield" not in name else 20)})

    _, T = parse_axis(DEMO["axes"][0])
    sizes = [16, 32] if args.quick else parse_sizes(DEMO["sizes"])
    samples = 300 if args.quick else DEMO["samples"]
    e2e = {}
    for label, cls in (("before", Ising2D), ("after", IsingMultispin)):
        pm.scan(cls(L=8), {"T": T[:2]}, 4, seed=0, progress=False)  # compile in the workers' parent
        t = time.perf_counter()
        for size in sizes:
            pm.scan(cls(L=size), {"T": T}, samples, seed=DEMO["seed"], progress=False)
        e2e[label] = time.perf_counter() - t
    e2e["auto_over_multispin"] = e2e["before"] / e2e["after"]

    print(f"\nSampler throughput ({os.cpu_count()} cores; one process per sample() call), L = {L}")
    print(f"{'case':<36} {'samples/s':>12}")
    for r in rows:
        print(f"{r['case']:<36} {r['samples_per_s']:>12.1f}")
    print(f"\nEnd-to-end demo scan (ising2d, T=1.8:2.8:41, sizes {sizes}, {samples} samples, process pool):")
    print(f"auto {e2e['before']:.1f} s, multispin above 1.2 Tc {e2e['after']:.1f} s, ratio {e2e['auto_over_multispin']:.2f}x")

    out = Path(__file__).parent / "results" / "bench_systems.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"quick": args.quick, "cpu_count": os.cpu_count(), "L": L, "throughput": rows,
                               "demo_scan_seconds": e2e, "sizes": sizes, "samples": samples}, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
