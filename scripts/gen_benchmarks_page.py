"""Build the Benchmarks page from benchmarks/results/*.json at docs build time (mkdocs-gen-files).

Each file becomes a section: its date, machine and commit (the file's own ``provenance``; for a file
written without one, the date and commit of the git commit that last changed it, and the machine as the
file records it, if at all), then its numbers as tables. Nothing on the page is typed by hand.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

INTRO = """# Benchmarks

Every number below is read from `benchmarks/results/*.json`, written by the scripts in `benchmarks/`
(`python benchmarks/NAME.py`, or `--quick` for a run of about a minute). Each script compares
phasemapper with the peers its issue names in the same run, as ratios, and prints the same table.
Each section says when, on which machine and at which commit its file was written.
"""


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=10).stdout.strip()
    except OSError:
        return ""


def _provenance(path: Path, data: dict[str, Any]) -> tuple[str, str, str]:
    prov = data.get("provenance")
    if prov:
        m = prov.get("machine", {})
        machine = f"{m.get('host', '?')}: {m.get('processor', '?')}, {m.get('cpu_count', '?')} cores, Python {m.get('python', '?')}"
        return prov.get("date", "?"), machine, prov.get("commit") or "?"
    last = _git("log", "-1", "--format=%cI %H", "--", str(path.relative_to(ROOT)))
    date, _, commit = last.partition(" ")
    m = data.get("machine") or {}
    cores = m.get("cpu_count") or data.get("cpu_count") or data.get("cores")
    machine = (f"{cores} cores" if cores else "not recorded in the file") + (f", Python {m['python']}" if m.get("python") else "")
    return (date or "?") + " (commit date)", machine, commit or "?"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) for x in v) and len(v) <= 6:
        return ", ".join(_fmt(x) for x in v)
    if isinstance(v, dict) and all(not isinstance(x, (dict, list)) for x in v.values()) and len(v) <= 8:
        return "; ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    if isinstance(v, (dict, list)):
        return "…"
    return "" if v is None else str(v).replace("|", "/")


def _table(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "".join("| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |\n" for r in rows)


def _render(value: Any, depth: int = 0) -> str:
    """Lists of records as tables, mappings of records as tables keyed by their name, the rest as key: value."""
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        return _table(value) + "\n"
    if isinstance(value, dict) and value and all(isinstance(r, dict) for r in value.values()):
        flat = all(not isinstance(x, (dict, list)) or _fmt(x) != "…" for r in value.values() for x in r.values())
        if flat or depth >= 2:
            return _table([{"": k, **r} for k, r in value.items()]) + "\n"
        return "".join(f"{'#' * (depth + 4)} {k}\n\n{_render(r, depth + 1)}" for k, r in value.items())
    if isinstance(value, dict):
        scalars = {k: v for k, v in value.items() if _fmt(v) != "…"}
        nested = {k: v for k, v in value.items() if k not in scalars}
        out = _table([{"": k, "value": v} for k, v in scalars.items()]) + "\n" if scalars else ""
        return out + "".join(f"{'#' * (depth + 4)} {k}\n\n{_render(v, depth + 1)}" for k, v in nested.items())
    return f"{_fmt(value)}\n\n"


def page() -> str:
    parts = [INTRO]
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        date, machine, commit = _provenance(path, data)
        parts.append(f"\n## {path.stem}\n\n*{date} · {machine} · commit `{commit[:12]}`"
                     + (" · quick run" if data.get("quick") else "") + "*\n\n")
        body = {k: v for k, v in data.items() if k not in ("provenance", "quick")}
        parts.append(_render(body))
    return "".join(parts)


with mkdocs_gen_files.open("benchmarks.md", "w") as fh:
    fh.write(page())
