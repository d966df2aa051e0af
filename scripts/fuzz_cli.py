"""Drive the command line with malformed, extreme and hostile values and count how each ends.

Every option of ``map``, ``scan``, ``resume``, ``plot`` and ``report`` gets each value of a table (negative,
zero, huge, non-finite, non-numeric, empty, paths outside the run). A command ends well if it exits 0 (the
value was valid and the command did its work, on a small problem), 3 with the table of failed evaluations
(a valid but hopeless value: a timeout of 1e-300 s), or 2 with exactly one line on stderr and no traceback;
anything else is printed in full. After each refused command the ``--out`` directory must be absent
or usable by a corrected command. Run from the repository root::

    python scripts/fuzz_cli.py            # every case, two at a time
    python scripts/fuzz_cli.py --jobs 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

NUMBERS = ["-1", "0", "1.5", "1e400", "nan", "inf", "-inf", "abc", "", "99999999999999999999999", "0x10", "1e-300"]
AXES = ["T=1:2:nan", "T=2:1:3", "T=1:2:0", "T=1:2:99999999999", "T", "=1:2", "T=a:b", "nosuch=1:2", "T=1,inf",
        "T=1:2:3:4", "T=-5:-1", "T=" + "1," * 5000 + "2"]
NAMES = ["nosuch", "", "../../etc/passwd", "x" * 5000, "grid;rm -rf /"]

MAP = ["map", "ising2d", "--size", "4", "--samples", "20", "--budget", "4", "--batch-size", "4", "--workers", "1"]
SCAN = ["scan", "ising2d", "--axis", "T=2:2.5:3", "--size", "4", "--samples", "20", "--workers", "1"]


#: how a command may end: it did its work, its evaluations failed and it said so, or it refused in one line
GOOD = ("ran", "ran, evaluations failed (exit 3, each error counted)", "refused")


def cases(tmp: Path) -> list[tuple[list[str], bool]]:
    """(argv, needs_out): each hostile value on each option, the others small and valid."""
    out: list[tuple[list[str], bool]] = []
    for option in ["--budget", "--batch-size", "--samples", "--size", "--seed", "--entropy-goal", "--time-limit",
                   "--timeout", "--workers"]:
        out += [([*_without(MAP, option), option, value], True) for value in NUMBERS]
    out += [(["map", "hopfield", "--axis", value, "--budget", "4", "--workers", "1"], True) for value in AXES]
    out += [([*MAP, option, value], True) for option in ["--planner", "--model", "--prior", "--dask"] for value in NAMES]
    out += [(["map", "calphad", "--experiment", "--no-theory", "--budget", "4", "--workers", "1", option, value], True)
            for option in ["--detection-limit", "--flip"] for value in NUMBERS]
    for option in ["--size", "--samples", "--seed", "--workers"]:
        out += [([*_without(SCAN, option), option, value], True) for value in NUMBERS]
    out += [(["scan", "ising2d", "--axis", value, "--size", "4", "--samples", "20"], True) for value in AXES]
    out += [([*SCAN, "--detect", value], True) for value in NAMES + ["pca,nosuch", ","]]
    for prior in ["[" * 100_000, "{}", "[1, 2]", '{"x": NaN}', "not json", ""]:
        path = tmp / f"prior{len(out)}.json"
        path.write_text(prior)
        out.append(([*MAP, "--prior", str(path)], True))
    for command in ["resume", "plot", "report"]:
        out += [([command, value], False) for value in ["", "/", "/etc", "/etc/passwd", str(tmp / "absent"), "x" * 5000]]
    return out


def _without(argv: list[str], option: str) -> list[str]:
    if option not in argv:
        return list(argv)
    k = argv.index(option)
    return argv[:k] + argv[k + 2:]


def run(argv: list[str], needs_out: bool, tmp: Path, k: int) -> dict:
    out = tmp / f"run{k}"
    full = [sys.executable, "-m", "phasemapper", *argv] + (["--out", str(out), "--no-progress"] if needs_out else [])
    try:
        proc = subprocess.run(full, capture_output=True, text=True, timeout=300, cwd=tmp)
    except subprocess.TimeoutExpired:
        return {"argv": argv, "verdict": "hung (300 s)"}
    lines = proc.stderr.strip().splitlines()
    if proc.returncode == 0:
        verdict = "ran"
    elif proc.returncode == 3 and "evaluations failed:" in proc.stderr and "Traceback" not in proc.stderr:
        verdict = "ran, evaluations failed (exit 3, each error counted)"
    elif proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr:
        verdict = "refused"
        if needs_out and out.exists() and any(out.iterdir()):
            verdict = "refused, but left a directory"
    else:
        verdict = f"exit {proc.returncode}, {len(lines)} stderr lines"
    return {"argv": [a[:60] for a in argv], "verdict": verdict, "stderr": proc.stderr[-2000:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        todo = cases(tmp)
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda item: run(*item[1], tmp, item[0]), enumerate(todo)))
    counts: dict[str, int] = {}
    for r in results:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
        if r["verdict"] not in GOOD:
            print(json.dumps(r, indent=1))
    print(f"{len(results)} commands: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    sys.exit(0 if set(counts) <= set(GOOD) else 1)


if __name__ == "__main__":
    main()
