"""Failed evaluations as data: a record per failure, a table of them, the warning and the error that report them."""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

__all__ = [
    "PhaseMapperWarning",
    "EvaluationError",
    "Failure",
    "failure_table",
    "failures",
    "error_message",
    "warn_failures",
]


class PhaseMapperWarning(UserWarning):
    """Something finished, but not everything in it went well (e.g. some evaluations failed)."""


@dataclass(frozen=True)
class Failure:
    """One evaluation that failed for good: where, after how many attempts, and the last error (one line)."""

    point: Mapping[str, float]
    error: str
    attempts: int
    key: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "point": dict(self.point), "attempts": self.attempts, "error": self.error}


def error_message(exc: BaseException) -> str:
    """``"Type: message [note] ..."`` on one line (a system's note says at which point it failed).

    Examples
    --------
    >>> exc = ValueError("bad label 'ferr'")
    >>> exc.add_note("at point {'T': 2.0}")
    >>> error_message(exc)
    "ValueError: bad label 'ferr' [at point {'T': 2.0}]"
    """
    text = "".join(traceback.format_exception_only(type(exc), exc)[:1])
    notes = "".join(f" [{note}]" for note in getattr(exc, "__notes__", ()))
    return " ".join((text.strip() + notes).split())


def _error_kind(error: str) -> str:
    """The error without a note naming its point, so the same failure at many points counts once."""
    return error.split(" [at point ", 1)[0]


def summarize(failures: Sequence[Failure], n_total: int | None = None, limit: int = 5) -> str:
    """Each distinct error with its count and the first point that raised it, most common first.

    Examples
    --------
    >>> f = [Failure({"x": 0.1}, "ValueError: bad", 3), Failure({"x": 0.2}, "ValueError: bad", 3)]
    >>> print(summarize(f, 4))
    2 of 4 evaluations failed:
      2 x ValueError: bad (first at x=0.1)
    """
    counts = Counter(_error_kind(f.error) for f in failures)
    first: dict[str, Failure] = {}
    for f in failures:
        first.setdefault(_error_kind(f.error), f)
    of = f" of {n_total}" if n_total is not None else ""
    lines = [f"{len(failures)}{of} evaluations failed:"]
    for kind, count in counts.most_common(limit):
        where = ", ".join(f"{k}={v:.6g}" for k, v in first[kind].point.items())
        lines.append(f"  {count} x {kind} (first at {where})")
    if len(counts) > limit:
        lines.append(f"  ... and {len(counts) - limit} other errors")
    return "\n".join(lines)


class EvaluationError(RuntimeError):
    """Nothing succeeded: every evaluation tried so far failed. ``failures`` holds them (:class:`Failure`)."""

    def __init__(self, failures: Sequence[Failure], n_total: int | None = None, context: str = "") -> None:
        self.failures = list(failures)
        self.n_total = n_total
        head = f"{context}: " if context else ""
        super().__init__(head + "no evaluation succeeded; " + summarize(self.failures, n_total))


def warn_failures(failures: Sequence[Failure], n_total: int) -> None:
    """Warn (:class:`PhaseMapperWarning`, at the caller's line) that ``len(failures)`` of ``n_total`` evaluations
    failed, with the most common error."""
    if not failures:
        return
    counts = Counter(_error_kind(f.error) for f in failures)
    kind, count = counts.most_common(1)[0]
    warnings.warn(
        f"{len(failures)} of {n_total} evaluations failed; most common: {kind} ({count} times)",
        PhaseMapperWarning,
        stacklevel=_outside_the_package(),
    )


def _outside_the_package() -> int:
    """The ``stacklevel`` of the first caller outside this package (for ``warnings.warn`` called from here)."""
    package = os.path.dirname(__file__)
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def failure_table(failures: Sequence[Failure]) -> Any:
    """The failures as a ``pandas.DataFrame``: one row each, a column per axis, ``attempts`` and ``error``.

    Examples
    --------
    >>> table = failure_table([Failure({"T": 2.0}, "ValueError: bad", 3, key=7)])
    >>> table.loc[7].to_dict()
    {'T': 2.0, 'attempts': 3, 'error': 'ValueError: bad'}
    """
    import pandas as pd

    rows = [{"key": f.key, **dict(f.point), "attempts": f.attempts, "error": f.error} for f in failures]
    columns = ["key", *dict.fromkeys(k for f in failures for k in f.point), "attempts", "error"]
    return pd.DataFrame(rows, columns=columns).set_index("key")


def failures(result: Any) -> Any:
    """The failed evaluations of a scan Dataset (``attrs["failures"]``) or a campaign result, as a table.

    Examples
    --------
    >>> import xarray as xr
    >>> len(failures(xr.Dataset()))
    0
    """
    import json

    if not hasattr(result, "attrs"):
        return result.failures
    records = result.attrs.get("failures", "[]")
    records = json.loads(records) if isinstance(records, str) else records
    return failure_table([Failure(r["point"], r["error"], r["attempts"], r.get("key")) for r in records])
