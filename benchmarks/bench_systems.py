"""Throughput of every system's sampler and the end-to-end demo scan, before and after the Speed issue.

"before" is the package as it was before the Speed issue (git commit ``BEFORE``,
extracted with ``git archive`` into a temporary directory); "after" is the
working tree. Both are timed in the same run, each in its own subprocess, so
the old kernels stay callable without keeping dead code in the package. The demo's
scan is timed twice: the scans alone, and the ``phasemapper scan`` command as a user
runs it (with its analysis, plot and netCDF output; the median of three rounds that
alternate before and after, with its CPU time); and the same points sampled one
after another on one core, whose sum divided by the cores is a floor under the command's
time that no pool, import or file format removes. For
Ising above 1.2 Tc the multi-spin engine (new in this issue) is timed as an
extra "after" row. Prints a table and writes ``benchmarks/results/bench_systems.json``.

Usage: python benchmarks/bench_systems.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any
from _provenance import run_provenance  # benchmarks/_provenance.py

ROOT = Path(__file__).resolve().parent.parent
#: last commit before the Speed issue's first change
BEFORE = "0fdc96546e25f5a69780132c2ade36fb121921f8"
#: the demo's scan, as ``phasemapper demo`` runs it (see phasemapper.cli.DEMO)
DEMO_T = (1.8, 2.8, 41)
DEMO_SIZES = (16, 32, 64)
DEMO_SAMPLES, DEMO_SEED = 1000, 0


def cases(L: int):
    """(name, system factory, point, n_samples) for the throughput table."""
    from phasemapper.systems import TASEP, XY2D, BlumeCapel2D, Hopfield, Ising2D, Potts2D, TransverseFieldIsingChain

    return [
        ("ising2d T=1.8 (auto)", lambda: Ising2D(L=L), [1.8, 0.0], 1000),
        ("ising2d T=2.6 (auto)", lambda: Ising2D(L=L), [2.6, 0.0], 1000),
        ("ising2d T=3.0 (metropolis)", lambda: Ising2D(L=L, algorithm="metropolis"), [3.0, 0.0], 400),
        ("ising2d T=3.0 (multispin)", lambda: Ising2D(L=L, algorithm="multispin"), [3.0, 0.0], 400),
        ("ising2d T=Tc (wolff)", lambda: Ising2D(L=L, algorithm="wolff"), [2.269185, 0.0], 400),
        ("ising2d T=1.8 (wolff)", lambda: Ising2D(L=L, algorithm="wolff"), [1.8, 0.0], 400),
        ("potts2d q=3 T=Tc", lambda: Potts2D(L=L, q=3), [0.995], 400),
        ("blume_capel2d D=1.5 T=1.155", lambda: BlumeCapel2D(L=L), [1.155, 1.5], 400),
        ("xy2d T=0.9", lambda: XY2D(L=L), [0.9], 400),
        ("tasep L=200", lambda: TASEP(L=200), [0.8, 0.9], 400),
        ("tfim_chain N=12 h=1", lambda: TransverseFieldIsingChain(N=12), [1.0], 400),
        ("hopfield N=500 alpha=0.1 T=0.2", lambda: Hopfield(N=500), [0.1, 0.2], 20),
        ("hopfield N=200 alpha=0.2 T=0.8", lambda: Hopfield(N=200), [0.2, 0.8], 40),
        ("hopfield N=200 alpha=0.05 T=1.4", lambda: Hopfield(N=200), [0.05, 1.4], 40),
    ]


def worker(quick: bool) -> dict:
    """Time the importable ``phasemapper`` (old or new, by PYTHONPATH); runs in a subprocess."""
    import numpy as np

    import phasemapper as pm
    from phasemapper.systems import Ising2D

    L = 16 if quick else 32
    min_time = 0.5 if quick else 3.0
    rows = {}
    for name, make, point, n in cases(L):
        try:
            system = make()
        except ValueError:  # an algorithm this version does not have
            continue
        system.sample(point, 4, seed=1)  # compile
        # several seeds and at least ``min_time`` seconds: tau (hence the spacing) varies from chain to chain
        done, elapsed, seed = 0, 0.0, 0
        while seed < 3 or elapsed < min_time:
            t = time.perf_counter()
            system.sample(point, n, seed=seed)
            elapsed += time.perf_counter() - t
            done, seed = done + n, seed + 1
        rows[name] = done / elapsed
    T = np.linspace(*DEMO_T[:2], DEMO_T[2])
    sizes = DEMO_SIZES[:2] if quick else DEMO_SIZES
    samples = 300 if quick else DEMO_SAMPLES
    pm.scan(Ising2D(L=8), {"T": T[:2]}, 4, seed=0, progress=False)  # compile before the pool forks
    t = time.perf_counter()
    for size in sizes:
        pm.scan(Ising2D(L=size), {"T": T}, samples, seed=DEMO_SEED, progress=False)
    demo_seconds = time.perf_counter() - t
    # the same points sampled one after another on one core: the sampling work itself, which no pool,
    # import or file format removes; divided by the cores it is a floor under the command's time
    serial = 0.0
    for size in sizes:
        system = Ising2D(L=size)
        for i, temperature in enumerate(T):
            t = time.perf_counter()
            system.sample(np.array([temperature]), samples, seed=i)
            serial += time.perf_counter() - t
    return {"throughput": rows, "demo_seconds": demo_seconds, "serial_sampling_seconds": serial,
            "sizes": list(sizes), "samples": samples}


def extract_before(dest: Path) -> Path:
    """``git archive`` the pre-issue ``src/`` into ``dest``; return the directory to put on PYTHONPATH."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
    return dest / "src"


def run_worker(src: Path, quick: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "NUMBA_CACHE_DIR": str(Path(tempfile.gettempdir()) / f"nb-{src.parent.name}")}
    cmd = [sys.executable, __file__, "--worker"] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cli_command(src: Path, quick: bool, out_dir: Path) -> tuple[list[str], dict[str, str]]:
    """``phasemapper scan ising2d`` with the demo's settings, importing the package from ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src), "NUMBA_CACHE_DIR": str(Path(tempfile.gettempdir()) / f"nb-{src.parent.name}")}
    sizes = DEMO_SIZES[:2] if quick else DEMO_SIZES
    cmd = [sys.executable, "-m", "phasemapper", "scan", "ising2d", "--axis", f"T={DEMO_T[0]}:{DEMO_T[1]}:{DEMO_T[2]}",
           "--size", ",".join(map(str, sizes)), "--samples", str(300 if quick else DEMO_SAMPLES),
           "--seed", str(DEMO_SEED), "--out", str(out_dir), "--no-progress"]
    return cmd, env


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system of the command and of its pool's workers) of one run."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)  # counts grandchildren (workers) once waited for
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)


def time_cli(sources: dict[str, Path], quick: bool, out_dir: Path, repeats: int) -> dict[str, dict[str, Any]]:
    """The command as a user runs it (scan, analysis, plot, netCDF) from each source tree: one run each
    to pay for numba's compilation, then ``repeats`` rounds that alternate the trees, so a machine
    drifting during the benchmark moves both alike. Median wall and CPU time per tree, and every run."""
    commands = {name: cli_command(src, quick, out_dir) for name, src in sources.items()}
    for cmd, env in commands.values():
        run_timed(cmd, env)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sources}
    for _ in range(repeats):
        for name, (cmd, env) in commands.items():
            runs[name].append(run_timed(cmd, env))
    return {name: {"wall_s": statistics.median(w for w, _ in r), "cpu_s": statistics.median(c for _, c in r),
                   "runs_wall_s": [w for w, _ in r]} for name, r in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 16 and the demo at L = 16, 32 with 300 samples (~1 minute)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.quick)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        before_src = extract_before(Path(tmp))
        before = run_worker(before_src, args.quick)
        after = run_worker(ROOT / "src", args.quick)
        cli = time_cli({"before": before_src, "after": ROOT / "src"}, args.quick, Path(tmp) / "run",
                       repeats=1 if args.quick else 3)
    for run, timing in ((before, cli["before"]), (after, cli["after"])):
        run["cli_seconds"], run["cli_cpu_seconds"], run["cli_runs"] = timing["wall_s"], timing["cpu_s"], timing["runs_wall_s"]

    L = 16 if args.quick else 32
    print(f"\nSampler throughput through sample(), samples/s, L = {L} ({os.cpu_count()} cores; one process each)")
    print(f"{'case':<34} {'before':>10} {'after':>10} {'after/before':>13}")
    rows = []
    for name in after["throughput"]:
        b, a = before["throughput"].get(name), after["throughput"][name]
        ratio = a / b if b else None
        rows.append({"case": name, "before": b, "after": a, "ratio": ratio})
        print(f"{name:<34} {b if b else float('nan'):>10.1f} {a:>10.1f} {ratio if ratio else float('nan'):>12.2f}x")
    speedup = before["demo_seconds"] / after["demo_seconds"]
    print(f"\nDemo scan end to end (ising2d T=1.8:2.8:41, sizes {after['sizes']}, {after['samples']} samples, "
          f"process pool): before {before['demo_seconds']:.1f} s, after {after['demo_seconds']:.1f} s, {speedup:.2f}x")
    cli_speedup = before["cli_seconds"] / after["cli_seconds"]
    print(f"'phasemapper scan ising2d' with those settings, as a user runs it (scan, Binder and susceptibility "
          f"analysis, plot, netCDF): before {before['cli_seconds']:.1f} s, after {after['cli_seconds']:.1f} s, "
          f"{cli_speedup:.2f}x")
    cores = os.cpu_count() or 1
    for when in ("before", "after"):
        run = before if when == "before" else after
        print(f"  {when}: runs {', '.join(f'{w:.2f}' for w in run['cli_runs'])} s (median shown above); "
              f"{run['cli_cpu_seconds']:.1f} s of CPU (the command and its workers), "
              f"{run['cli_cpu_seconds'] / run['cli_seconds']:.2f} of {cores} cores busy on average")
    floor = after["serial_sampling_seconds"] / cores
    print(f"Sampling floor: the demo's points sampled serially take {after['serial_sampling_seconds']:.1f} s "
          f"(before: {before['serial_sampling_seconds']:.1f} s), at least {floor:.1f} s on {cores} cores, so the "
          f"command can be at most {before['cli_seconds'] / floor:.2f}x faster than before with these kernels")

    out = Path(__file__).parent / "results" / "bench_systems.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "provenance": run_provenance(),
        "quick": args.quick, "cpu_count": os.cpu_count(), "L": L, "before_commit": BEFORE, "throughput": rows,
        "demo": {"before_s": before["demo_seconds"], "after_s": after["demo_seconds"], "speedup": speedup,
                 "sizes": after["sizes"], "samples": after["samples"]},
        "cli": {"before_s": before["cli_seconds"], "after_s": after["cli_seconds"], "speedup": cli_speedup,
                "before_cpu_s": before["cli_cpu_seconds"], "after_cpu_s": after["cli_cpu_seconds"],
                "before_runs_s": before["cli_runs"], "after_runs_s": after["cli_runs"]},
        "serial_sampling": {"before_s": before["serial_sampling_seconds"], "after_s": after["serial_sampling_seconds"],
                            "floor_s": floor, "max_cli_speedup": before["cli_seconds"] / floor},
    }, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
