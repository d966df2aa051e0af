"""The BKT temperature from the universal jump of the helicity modulus."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._types import CriticalPoint
from ._detector import Detector
from ._scans import extrapolate_to_infinite_size, first_root, scans_by_size

__all__ = ["HelicityJump"]


class HelicityJump(Detector):
    """T_BKT from where the helicity modulus meets the Nelson-Kosterlitz line ``2 T / pi``.

    For each size L the crossing ``T_L`` of ``Upsilon_L(T)`` with ``2 T / pi`` is
    located (linear interpolation between scan points, bootstrap over samples);
    with two or more sizes the crossings are extrapolated with the
    Kosterlitz-Thouless form ``T_L = T_BKT + c / (ln L)^2`` (weighted least
    squares; uncertainty from the bootstrap combined with the change when the
    smallest size is left out, if there are three or more).
    D. R. Nelson and J. M. Kosterlitz, PRL 39, 1201 (1977); P. Minnhagen, Rev.
    Mod. Phys. 59, 1001 (1987).

    Parameters
    ----------
    axis : str
        The temperature axis.
    variable : str
        Per-sample helicity estimator in the scans (``XY2D`` writes ``helicity``).
    n_bootstrap, seed : int
        Bootstrap resamples and their seed.

    Attributes
    ----------
    indicator_ : xarray.DataArray
        ``Upsilon_L(T)`` with dims ``(L, T)``; ``helicity_err_`` its bootstrap error.
    crossings_ : dict
        ``L -> (T_L, uncertainty)``.
    critical_points_ : list of CriticalPoint
        ``helicity_jump`` (extrapolated when possible).

    Examples
    --------
    >>> import numpy as np, phasemapper as pm
    >>> from phasemapper.systems import XY2D
    >>> from phasemapper.detectors import HelicityJump
    >>> T = np.linspace(0.7, 1.2, 6)
    >>> scans = [pm.scan(XY2D(L=L), {"T": T}, 50, seed=0, executor=pm.SerialExecutor(), progress=False) for L in (4, 8)]
    >>> det = HelicityJump(n_bootstrap=20).fit(scans)
    >>> det.critical_points_[0].method
    'helicity_jump'
    """

    def __init__(self, axis: str = "T", *, variable: str = "helicity", n_bootstrap: int = 200, seed: int = 0) -> None:
        self.axis = axis
        self.variable = variable
        self.n_bootstrap = n_bootstrap
        self.seed = seed

    def fit(self, scans: Mapping[Any, xr.Dataset] | Sequence[xr.Dataset] | xr.Dataset) -> HelicityJump:
        if not isinstance(self.n_bootstrap, int) or self.n_bootstrap < 2:
            raise ValueError(f"n_bootstrap must be an integer >= 2, got {self.n_bootstrap!r}")
        by_size = scans_by_size(scans)
        rng = np.random.default_rng(self.seed)
        curves, errors = [], []
        self.crossings_: dict[int, tuple[float, float]] = {}
        reps: dict[int, np.ndarray] = {}
        for L, ds in by_size.items():
            if self.axis not in ds.coords:
                raise ValueError(f"axis {self.axis!r} is not a coordinate of the scan at L={L}")
            if self.variable not in ds:
                raise ValueError(f"variable {self.variable!r} is not in the scan at L={L}")
            T = np.asarray(ds[self.axis].values, dtype=float)
            y = np.asarray(ds[self.variable].values, dtype=float)
            idx = rng.integers(0, y.shape[1], size=(self.n_bootstrap, y.shape[1]))
            boot = y[:, idx].mean(axis=2).T  # (boot, point)
            mean = y.mean(axis=1)
            curves.append(mean)
            errors.append(boot.std(axis=0, ddof=1))
            line = 2.0 * T / np.pi
            value = first_root(T, mean - line)
            r = np.array([first_root(T, b - line) for b in boot])
            r = r[np.isfinite(r)]
            if np.isfinite(value) and r.size > 1:
                self.crossings_[L] = (value, float(r.std(ddof=1)))
                reps[L] = np.resize(r, self.n_bootstrap)
        T0 = np.asarray(next(iter(by_size.values()))[self.axis].values, dtype=float)
        try:
            self.indicator_ = xr.DataArray(
                np.array(curves), dims=("L", self.axis), coords={"L": list(by_size), self.axis: T0}
            )
            self.helicity_err_ = xr.DataArray(np.array(errors), dims=("L", self.axis), coords=self.indicator_.coords)
        except ValueError:
            raise ValueError(f"scans at different sizes must share the same {self.axis!r} grid") from None
        self.critical_points_: list[CriticalPoint] = []
        Ls = np.array(sorted(self.crossings_))
        if Ls.size == 1:
            value, err = self.crossings_[int(Ls[0])]
            self.critical_points_.append(CriticalPoint(self.axis, value, err, "helicity_jump"))
        elif Ls.size > 1:
            tc, uncertainty = extrapolate_to_infinite_size(
                1.0 / np.log(Ls) ** 2,
                np.array([self.crossings_[int(L)][0] for L in Ls]),
                np.array([self.crossings_[int(L)][1] for L in Ls]),
                np.array([reps[int(L)] for L in Ls]),
            )
            self.critical_points_.append(CriticalPoint(self.axis, tc, uncertainty, "helicity_jump"))
        return self
