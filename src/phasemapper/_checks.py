"""Checks of user-given values: each returns the value in its plain type or raises an error naming the field.

A wrong type raises ``TypeError``, a value out of range ``ValueError``; both messages start with the
field's name, so a constructor, the CLI and a manifest report the same line.

Examples
--------
>>> check_positive_int("n_samples", 100)
100
>>> check_number("flip", 0.7, low=0.0, high=0.5)
Traceback (most recent call last):
...
ValueError: flip must be in [0.0, 0.5], got 0.7
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "MAX_COUNT",
    "MAX_SEED",
    "check_bool",
    "check_choice",
    "check_finite",
    "check_memory",
    "check_number",
    "check_positive_int",
    "check_positive_number",
    "check_seed",
    "physical_memory",
]

#: the largest seed: seeds are stored as 64-bit signed integers (netCDF attributes, the ledger)
MAX_SEED = 2**63 - 1
#: the largest count of evaluations, samples or points one request may ask for
MAX_COUNT = 2**31 - 1


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_positive_int(name: str, value: Any, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """``value`` as int, unless it is not an integer in ``[minimum, maximum]`` (by default at least 1 and at
    most ``MAX_COUNT``, so it fits the types it is stored as)."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_seed(name: str, value: Any) -> int:
    """A seed: an integer in ``[0, MAX_SEED]``."""
    return check_positive_int(name, value, minimum=0, maximum=MAX_SEED)


def check_finite(name: str, value: Any) -> float:
    """``value`` as float, unless it is not a finite number."""
    if not _is_number(value):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_number(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as float, unless it is not a finite number in the interval from ``low`` to ``high``
    (either may be ``None``; ``low_open``/``high_open`` exclude the end).

    Examples
    --------
    >>> check_number("radius", 0.2, low=0, high=1, low_open=True, high_open=True)
    0.2
    """
    x = check_finite(name, value)
    below = low is not None and (x <= low if low_open else x < low)
    above = high is not None and (x >= high if high_open else x > high)
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}")
    return x


def check_positive_number(name: str, value: Any, unit: str = "") -> float | None:
    """``value`` as float (``None`` passes), unless it is not a finite number > 0; ``unit`` completes the
    message (``" of seconds"``)."""
    if value is None:
        return None
    if not _is_number(value) or not (math.isfinite(float(value)) and value > 0):
        raise ValueError(f"{name} must be a finite positive number{unit}, got {value!r}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` unless it is not ``True`` or ``False`` (``numpy.bool_`` included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """``value`` unless it is not one of ``choices``."""
    if not any(value == c and type(value) is type(c) for c in choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def physical_memory() -> int:
    """Bytes of memory this machine has (``os.sysconf``; a large figure where it does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 2**50


def check_memory(what: str, n_points: int, n_samples: int, sites: int) -> None:
    """Refuse a request whose configurations alone (at least one byte per site) cannot fit in this machine's
    memory, with one line naming the figure.

    Examples
    --------
    >>> check_memory("the scan", 41, 1000, 32 * 32)
    >>> check_memory("the scan", 41, 10**12, 32 * 32)
    Traceback (most recent call last):
    ...
    ValueError: the scan needs at least 4.2e+16 bytes for its configurations (41 points x 1000000000000 samples x 1024 sites), more than this machine's memory ...
    """
    need = int(n_points) * int(n_samples) * max(int(sites), 1)
    have = physical_memory()
    if need > have:
        raise ValueError(
            f"{what} needs at least {need:.2g} bytes for its configurations ({n_points} points x "
            f"{n_samples} samples x {sites} sites), more than this machine's memory "
            f"({have / 2**30:.0f} GiB)"
        )
