"""What every detector does with scans: sort them by lattice size, read their sizes, find roots of curves, and
extrapolate finite-size estimates to the infinite system."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import xarray as xr

from .._checks import check_number, check_positive_int

__all__ = [
    "scans_by_size",
    "scan_size",
    "scan_sites",
    "is_temperature_axis",
    "check_detector_params",
    "first_root",
    "extrapolate_to_infinite_size",
]


def check_detector_params(n_bootstrap: Any, nu: Any) -> None:
    """The bootstrap count and the finite-size exponent every detector takes."""
    check_positive_int("n_bootstrap", n_bootstrap, 2)
    check_number("nu", nu, low=0.0, low_open=True)


def is_temperature_axis(axis: str, temperature: Any) -> bool:
    """Whether ``axis`` is a temperature: ``temperature`` if given, else ``axis == "T"``."""
    if temperature not in (None, True, False):
        raise ValueError(f"temperature must be True, False or None, got {temperature!r}")
    return axis == "T" if temperature is None else bool(temperature)


def scan_size(ds: xr.Dataset) -> int:
    """The linear size of a scan's system (``attrs["size"]``, else the last site dim)."""
    if "size" in ds.attrs:
        return int(ds.attrs["size"])
    return int(ds["configuration"].shape[-1])


def scan_sites(ds: xr.Dataset) -> int:
    """Number of sites the per-site observables are normalised by (``attrs["n_sites"]``, else the lattice)."""
    if "n_sites" in ds.attrs:
        return int(ds.attrs["n_sites"])
    return int(np.prod(ds["configuration"].shape[2:]))


def scans_by_size(scans: Mapping[Any, xr.Dataset] | Sequence[xr.Dataset] | xr.Dataset) -> dict[int, xr.Dataset]:
    """Normalise ``{L: scan}``, a list of scans or one scan to ``{L: scan}`` sorted by L.

    ``L`` is read from the scan's lattice (the size of its last site dim); an
    integer key that disagrees with it raises ``ValueError``.
    """
    if isinstance(scans, xr.Dataset):
        items: list[tuple[Any, xr.Dataset]] = [(None, scans)]
    elif isinstance(scans, Mapping):
        items = list(cast(Mapping[Any, xr.Dataset], scans).items())  # a Dataset is a Mapping too: taken above
    elif isinstance(scans, Sequence):
        items = [(None, s) for s in scans]
    else:
        raise TypeError(
            f"scans must be a Dataset, a dict {{L: Dataset}} or a list of Datasets, got {type(scans).__name__}"
        )
    out: dict[int, xr.Dataset] = {}
    for key, ds in items:
        if not isinstance(ds, xr.Dataset):
            raise TypeError(f"scans must be xarray Datasets, got {type(ds).__name__}")
        if "configuration" not in ds:
            raise ValueError("scan has no 'configuration' variable")
        L = scan_size(ds)
        if isinstance(key, (int, np.integer)) and int(key) != L:
            raise ValueError(f"scan given for L={key} has lattice size {L}")
        if L in out:
            raise ValueError(f"two scans have lattice size L={L}")
        out[L] = ds
    if not out:
        raise ValueError("no scans given")
    return dict(sorted(out.items()))


def first_root(x: np.ndarray, y: np.ndarray) -> float:
    """First + to - sign change of ``y(x)``, linearly interpolated; ``nan`` if none."""
    change = np.nonzero((y[:-1] > 0) & (y[1:] <= 0))[0]
    if change.size == 0:
        return np.nan
    j = int(change[0])
    return float(x[j] + (x[j + 1] - x[j]) * y[j] / (y[j] - y[j + 1]))


def extrapolate_to_infinite_size(
    x: np.ndarray, values: np.ndarray, sigmas: np.ndarray, replicas: np.ndarray
) -> tuple[float, float]:
    """Intercept at ``x = 0`` of a weighted line through finite-size estimates ``values(x)``.

    ``x`` is the scaling variable of each size (``L^(-1/nu)``, ``1/(ln L)^2``, ...),
    ``replicas`` the ``(size, bootstrap)`` estimates. The uncertainty combines the
    bootstrap spread of the intercept with its change when the smallest size is
    left out (three or more sizes), a finite-size systematic.
    """
    sig = np.maximum(sigmas, 1e-12)
    value = _weighted_intercept(x, values, sig)
    spread = np.array([_weighted_intercept(x, replicas[:, b], sig) for b in range(replicas.shape[1])])
    systematic = abs(value - _weighted_intercept(x[1:], values[1:], sig[1:])) if x.size > 2 else 0.0
    return value, float(np.hypot(spread.std(ddof=1), systematic))


def _weighted_intercept(x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> float:
    """Intercept of a weighted least-squares line y = c + a x."""
    w = 1.0 / sigma**2
    A = np.column_stack([np.ones_like(x), x])
    coef = np.linalg.lstsq(A * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    return float(coef[0])
