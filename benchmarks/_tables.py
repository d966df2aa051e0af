"""The text tables every benchmark prints beside the JSON it writes."""

from __future__ import annotations

from typing import Any


def print_table(title: str, rows: list[dict[str, Any]] | dict[str, Any]) -> None:
    """``rows`` (dicts, or one dict) as an aligned text table under ``title``."""
    rows = rows if isinstance(rows, list) else [rows]
    if not rows:
        return
    columns = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print(f"\n{title}", flush=True)
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)), flush=True)
