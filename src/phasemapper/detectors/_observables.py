"""Physics observables of magnetic scans and the critical point from finite-size scaling."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from sklearn.base import clone

from .._checks import check_choice
from .._types import CriticalPoint
from ..progress import track
from ._detector import Detector
from ._grid import ParameterGrid
from ._scans import (
    check_detector_params,
    extrapolate_to_infinite_size,
    is_temperature_axis,
    scan_sites,
    scans_by_size,
)

__all__ = ["Observables"]


class Observables(Detector):
    """Order parameter, susceptibility, specific heat and Binder cumulant vs one axis, and Tc.

    From scans at several lattice sizes L (same grid of the ``axis``) computes,
    per site and with bootstrap error bars over samples:

    - ``abs_m`` = <|m|>,
    - ``susceptibility`` = N (<m^2> - <|m|>^2) / T,
    - ``specific_heat`` = N (<e^2> - <e>^2) / T^2,
    - ``binder`` = 1 - <m^4> / (3 <m^2>^2),

    and estimates the critical temperature two ways:

    - ``binder_crossing``: where the Binder cumulants of successive sizes cross,
      on curves interpolated between scan points by histogram reweighting
      (linear interpolation of a curved U(T) biases the crossing). Noise can
      make the curves cross several times; the difference of the two curves is
      then fitted (a quadratic least-squares fit) across all the crossings and
      one grid step either side, and the estimate is where the fit crosses
      zero, so no single noisy crossing is taken for the answer. The estimate
      is the crossing of the two largest sizes (the smallest finite-size
      shift); its uncertainty is the bootstrap spread of the same fit,
      combined, with three or more sizes, with the drift from the previous
      pair's crossing (a finite-size systematic). With two sizes the
      finite-size shift of their crossing is not in the uncertainty.
    - ``susceptibility_peak_fss``: the susceptibility peak of each size,
      located on the same reweighted curves, extrapolated as
      ``T*(L) = Tc + a L^(-1/nu)``; the
      uncertainty combines the bootstrap spread with the change when the
      smallest size is left out.

    Any system whose scans carry a per-site order parameter (and an energy, for
    temperature axes) works: Ising, Potts, Blume-Capel, the quantum chain's
    z-basis snapshots, ...

    On a 2-D grid (``axis`` and one other axis that varies, e.g. Blume-Capel's
    ``(T, D)``) each line along ``axis`` is fitted on its own; the curves gain
    the other axis as a dim and every critical point carries its line in ``at``.

    Parameters
    ----------
    axis : str
        The scanned axis.
    order_parameter : str
        Data variable holding the per-site order parameter ``m`` of each sample.
    temperature : bool, optional
        Whether ``axis`` is a temperature (default: ``axis == "T"``). Then
        curves between scan points are histogram-reweighted with the energy and
        the susceptibility and specific heat carry their ``1/T`` and ``1/T^2``;
        otherwise curves are interpolated linearly and those factors are dropped.
    ordered : {"low", "high"}
        The side of the axis where the system orders (low T, low field, ...).
    n_bootstrap : int
        Bootstrap resamples for the error bars and uncertainties.
    nu : float
        Correlation-length exponent for the peak extrapolation (1 for the 2-D
        Ising class, exact).
    seed : int
        Seed of the bootstrap.

    Attributes
    ----------
    observables_ : xarray.Dataset
        Curves with dims ``(L, <axis>)`` and their ``*_err``.
    indicator_ : xarray.DataArray
        The Binder cumulant curves.
    critical_points_ : list of CriticalPoint
        ``binder_crossing`` then ``susceptibility_peak_fss`` (when they exist).
    binder_crossings_ : dict
        ``(L1, L2) -> (value, uncertainty)`` for each pair of successive sizes
        (on a 2-D grid: empty; see ``lines_``).
    susceptibility_peaks_ : dict
        ``L -> (T*, uncertainty)`` (on a 2-D grid: empty; see ``lines_``).
    lines_ : dict
        On a 2-D grid, the value of the other axis -> the fit of that line
        (an :class:`Observables`); empty on a 1-D scan.

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.systems import Ising2D
    >>> from phasemapper.detectors import Observables
    >>> scans = {L: pm.scan(Ising2D(L=L), {"T": [2.0, 2.2, 2.3, 2.4, 2.6]}, 100, seed=0,
    ...                     executor=pm.SerialExecutor(), progress=False) for L in (8, 16)}
    >>> obs = Observables(n_bootstrap=50).fit(scans)
    >>> obs.observables_["binder"].dims
    ('L', 'T')
    """

    def __init__(
        self,
        axis: str = "T",
        *,
        n_bootstrap: int = 200,
        nu: float = 1.0,
        seed: int = 0,
        order_parameter: str = "magnetization",
        temperature: bool | None = None,
        ordered: str = "low",
    ) -> None:
        self.axis = axis
        self.n_bootstrap = n_bootstrap
        self.nu = nu
        self.seed = seed
        self.order_parameter = order_parameter
        self.temperature = temperature
        self.ordered = ordered

    # ---------------------------------------------------------------- fit
    def fit(self, scans: Mapping[Any, xr.Dataset] | Sequence[xr.Dataset] | xr.Dataset) -> Observables:
        check_detector_params(self.n_bootstrap, self.nu)
        check_choice("ordered", self.ordered, ("low", "high"))
        self._is_temperature = is_temperature_axis(self.axis, self.temperature)
        by_size = scans_by_size(scans)
        grids = {
            L: ParameterGrid.from_scan(ds, self.axis) if self.axis in ds.coords else None for L, ds in by_size.items()
        }
        if any(g is not None and len(g.axes) == 2 for g in grids.values()):
            return self._fit_lines(by_size, grids)
        self.lines_: dict[float, Observables] = {}
        rng = np.random.default_rng(self.seed)
        T = self._grid(by_size)
        sizes = list(by_size)

        curves: dict[str, list[np.ndarray]] = {}
        self._data: dict[int, _SizeData] = {}
        for L, ds in track(by_size.items(), "Observables: fit", len(by_size)):
            if self.order_parameter not in ds:
                raise ValueError(f"order_parameter {self.order_parameter!r} is not a variable of the scan at L={L}")
            if self._is_temperature and "energy" not in ds:
                raise ValueError(f"a temperature axis needs an 'energy' variable; the scan at L={L} has none")
            m = np.asarray(ds[self.order_parameter].values, dtype=float)
            e = np.asarray(ds["energy"].values, dtype=float) if "energy" in ds else np.zeros_like(m)
            n_sites = scan_sites(ds)
            idx = rng.integers(0, m.shape[1], size=(self.n_bootstrap, m.shape[1]))
            full = _moments(m, e, T, n_sites, self._is_temperature)
            counts = np.zeros((self.n_bootstrap, m.shape[1]))  # how often each sample is drawn per replica
            np.add.at(counts, (np.arange(self.n_bootstrap)[:, None], idx), 1.0)
            boot = _moments(m, e, T, n_sites, self._is_temperature, counts)  # (boot, point)
            for name, value in full.items():
                curves.setdefault(name, []).append(value)
                curves.setdefault(name + "_err", []).append(boot[name].std(axis=0, ddof=1))
            self._data[L] = _SizeData(T, m, e, n_sites, counts, self._is_temperature)

        self.observables_ = xr.Dataset(
            {name: (("L", self.axis), np.array(v)) for name, v in curves.items()},
            coords={"L": sizes, self.axis: T},
        )
        self.indicator_ = self.observables_["binder"]
        self.critical_points_: list[CriticalPoint] = []
        self.binder_crossings_: dict[tuple[int, int], tuple[float, float]] = {}
        self.susceptibility_peaks_: dict[int, tuple[float, float]] = {}
        self._fit_binder(T, sizes)
        self._fit_susceptibility_peaks(T, sizes)
        return self

    def _fit_lines(self, by_size: dict[int, xr.Dataset], grids: dict[int, ParameterGrid | None]) -> Observables:
        """A 2-D grid: one 1-D fit per line along ``axis``, joined over the other axis."""
        first = next(iter(grids.values()))
        if first is None:
            raise ValueError(f"the scans do not form a grid over {self.axis!r} and another axis")
        for L, g in grids.items():
            if (
                g is None
                or g.axes != first.axes
                or g.shape != first.shape
                or not all(np.allclose(a, b) for a, b in zip(g.values, first.values))
            ):
                raise ValueError(
                    f"scans at different sizes must share the same grid over {list(first.axes)} (L={L} differs)"
                )
        other = first.axes[1]
        rows = {
            L: g.rows() for L, g in grids.items() if g is not None
        }  # the same lines in the same order at every size (checked)
        self.lines_ = {}
        for r, (at, _) in enumerate(rows[next(iter(rows))]):
            lines = {L: ds.isel(point=rows[L][r][1]) for L, ds in by_size.items()}
            self.lines_[at[other]] = clone(self).fit(lines)
        fits = list(self.lines_.values())
        self.observables_ = xr.concat([f.observables_ for f in fits], dim=xr.Variable(other, list(self.lines_)))
        self.observables_ = self.observables_.transpose("L", other, self.axis)
        self.indicator_ = self.observables_["binder"]
        self.critical_points_ = [
            dataclasses.replace(cp, at={other: value})
            for value, fit in self.lines_.items()
            for cp in fit.critical_points_
        ]
        self.binder_crossings_, self.susceptibility_peaks_ = {}, {}
        self._is_temperature = fits[0]._is_temperature
        return self

    def _grid(self, by_size: dict[int, xr.Dataset]) -> np.ndarray:
        grids = []
        for L, ds in by_size.items():
            if self.axis not in ds.coords:
                raise ValueError(f"axis {self.axis!r} is not a coordinate of the scan at L={L}")
            for other in ds.coords:
                if other != self.axis and ds[other].dims == ("point",) and np.unique(ds[other].values).size > 1:
                    raise ValueError(f"Observables scans one axis; axis {other!r} also varies in the scan at L={L}")
            grids.append(np.asarray(ds[self.axis].values, dtype=float))
        T = grids[0]
        if T.size < 3 or np.any(np.diff(T) <= 0):
            raise ValueError(f"axis {self.axis!r} must hold at least 3 increasing values")
        for g in grids[1:]:
            if g.shape != T.shape or not np.allclose(g, T):
                raise ValueError(f"scans at different sizes must share the same {self.axis!r} grid")
        return T

    # ------------------------------------------------------- Binder crossing
    def _fit_binder(self, T: np.ndarray, sizes: list[int]) -> None:
        U = self.observables_["binder"].values
        err = self.observables_["binder_err"].values
        sign = 1.0 if self.ordered == "low" else -1.0  # U_large - U_small goes from + (ordered side) to -
        crossings = []
        for k in range(len(sizes) - 1):
            window = _crossing_window(sign * (U[k + 1] - U[k]), np.hypot(err[k], err[k + 1]))
            if window is None:
                continue
            fine = np.linspace(T[window[0]], T[window[1]], 81)
            a, b = self._data[sizes[k]], self._data[sizes[k + 1]]
            diffs = sign * (b.binder(fine) - a.binder(fine))  # row 0 the data, then each bootstrap replica
            reach = window[1] - window[0]  # a replica's root may lie up to a window's width outside it
            bounds = (T[max(window[0] - reach, 0)], T[min(window[1] + reach, T.size - 1)])
            roots = np.array([_fitted_root(fine, diff, *bounds) for diff in diffs])
            value, reps = roots[0], roots[1:]
            if not np.isfinite(value) or np.isfinite(reps).sum() < 0.9 * reps.size:
                continue  # no crossing the data locate
            stat = float(np.std(reps[np.isfinite(reps)], ddof=1))
            self.binder_crossings_[(sizes[k], sizes[k + 1])] = (float(value), stat)
            crossings.append((float(value), stat))
        if crossings:
            value, stat = crossings[-1]
            drift = abs(crossings[-1][0] - crossings[-2][0]) if len(crossings) > 1 else 0.0
            self.critical_points_.append(
                CriticalPoint(self.axis, value, float(np.hypot(stat, drift)), "binder_crossing")
            )

    # -------------------------------------------- susceptibility peak + FSS
    def _fit_susceptibility_peaks(self, T: np.ndarray, sizes: list[int]) -> None:
        chi = self.observables_["susceptibility"].values
        peaks, reps_all = {}, {}
        for k, L in enumerate(sizes):
            i = int(np.argmax(chi[k]))
            if i == 0 or i == T.size - 1:
                continue  # peak at the edge of the scan: not located
            fine = np.linspace(T[max(i - 2, 0)], T[min(i + 2, T.size - 1)], 81)
            data = self._data[L]
            chi_rows = data.susceptibility(fine)  # row 0 the data, then each replica
            peaks[L] = _argmax_parabola(fine, chi_rows[0])
            reps_all[L] = np.array([_argmax_parabola(fine, chi_r) for chi_r in chi_rows[1:]])
            self.susceptibility_peaks_[L] = (peaks[L], float(reps_all[L].std(ddof=1)))
        if len(peaks) < 2:
            return
        Ls = np.array(sorted(peaks))
        tc, uncertainty = extrapolate_to_infinite_size(
            Ls.astype(float) ** (-1.0 / self.nu),
            np.array([peaks[L] for L in Ls]),
            np.array([self.susceptibility_peaks_[L][1] for L in Ls]),
            np.array([reps_all[L] for L in Ls]),
        )
        self.critical_points_.append(CriticalPoint(self.axis, tc, uncertainty, "susceptibility_peak_fss"))


class _SizeData:
    """Samples of one lattice size, with curves at any T by blended single-histogram reweighting.

    A value at ``t`` between scan points ``T[i] <= t <= T[i+1]`` is the linear
    blend of the estimates reweighted from ``T[i]`` and from ``T[i+1]``
    (Ferrenberg & Swendsen, PRL 61, 2635 (1988)). Curves come as rows
    ``(1 + replica, t)``: row 0 is the data themselves, row ``1 + r`` bootstrap
    replica ``r`` (each sample weighed by its row of ``counts``: how often it is
    drawn), all in one matrix product per moment.
    """

    def __init__(
        self, T: np.ndarray, m: np.ndarray, e: np.ndarray, n_sites: int, counts: np.ndarray, temperature: bool
    ) -> None:
        self.T, self.e, self.n_sites = T, e, n_sites
        self._counts = np.vstack([np.ones(counts.shape[1]), counts])  # the data (each sample once), then the replicas
        self.temperature = temperature  # reweight in 1/T; otherwise plain linear interpolation
        am = np.abs(m)
        self._powers = np.stack([am, am * am, (am * am) ** 2])  # (3, point, sample)

    def _weights(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Bracketing points, blend factors and unnormalized reweighting factors ``(t, sample)`` at ``t``."""
        i = np.clip(np.searchsorted(self.T, t, side="right") - 1, 0, self.T.size - 2)
        lam = np.clip((t - self.T[i]) / (self.T[i + 1] - self.T[i]), 0.0, 1.0)
        weights = []
        for src in (i, i + 1):
            if self.temperature:
                logw = -(1.0 / t - 1.0 / self.T[src])[:, None] * self.n_sites * self.e[src]
                weights.append(np.exp(logw - logw.max(axis=1, keepdims=True)))
            else:
                weights.append(np.ones(self.e[src].shape))
        return i, lam, weights

    def _averages(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Blended reweighted <|m|>, <m^2>, <m^4> at each ``t``, each ``(1 + replica, t)``."""
        i, lam, weights = self._weights(t)
        out = np.zeros((3, self._counts.shape[0], t.size))
        for src, blend, w in ((i, 1.0 - lam, weights[0]), (i + 1, lam, weights[1])):
            moments = self._powers[:, src] * w  # (3, t, sample)
            # sum_s counts[r, s] * x[t, s] for every row r at once
            out += blend * (moments @ self._counts.T).transpose(0, 2, 1) / (w @ self._counts.T).T
        return out[0], out[1], out[2]

    def binder(self, t: np.ndarray) -> np.ndarray:
        _, m2, m4 = self._averages(t)
        return 1.0 - m4 / (3.0 * m2**2)

    def susceptibility(self, t: np.ndarray) -> np.ndarray:
        am, m2, _ = self._averages(t)
        return self.n_sites * (m2 - am**2) / (t if self.temperature else 1.0)


def _moments(
    m: np.ndarray, e: np.ndarray, T: np.ndarray, n_sites: int, temperature: bool, counts: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Observables from per-site ``m``, ``e`` (point, sample); per point, or per bootstrap replica and point.

    ``counts`` (replica, sample): how often each sample is drawn in each replica;
    the replicas' means are then one matrix product per moment instead of a
    gathered copy of the data per replica. Results are ``(point,)`` or ``(replica, point)``.
    """

    def mean(x: np.ndarray) -> np.ndarray:
        return x.mean(axis=-1) if counts is None else (counts @ x.T) / counts.shape[1]

    am = mean(np.abs(m))
    m2 = mean(m * m)
    m4 = mean((m * m) ** 2)
    e1 = mean(e)
    e2 = mean(e * e)
    with np.errstate(invalid="ignore", divide="ignore"):
        binder = 1.0 - m4 / (3.0 * m2**2)
    return {
        "abs_m": am,
        "susceptibility": n_sites * (m2 - am**2) / (T if temperature else 1.0),
        "specific_heat": n_sites * (e2 - e1**2) / (T**2 if temperature else 1.0),
        "binder": binder,
    }


def _crossing_window(d: np.ndarray, sigma: np.ndarray) -> tuple[int, int] | None:
    """The grid points around the crossing of two curves whose difference ``d`` (error ``sigma``) runs from
    positive to negative: from the last point where ``d`` is above zero by two sigma to the first where it is
    below by two sigma (the most significant points on each side where none is), so that every crossing noise
    makes between them lies inside, and the stretches where the curves agree within noise (deep in either
    phase) lie outside. ``None`` when ``d`` does not change sign there.

    Examples
    --------
    >>> d = np.array([0.01, -0.01, 0.3, 0.2, 0.01, -0.02, 0.01, -0.2, -0.3, 0.01])
    >>> _crossing_window(d, np.full(10, 0.05))
    (3, 7)
    """
    z = d / np.where(sigma > 0, sigma, np.inf)
    below = np.flatnonzero(z < -2.0)
    neg = int(below[0]) if below.size else int(np.argmin(z))
    if neg == 0:
        return None
    above = np.flatnonzero(z[:neg] > 2.0)
    pos = int(above[-1]) if above.size else int(np.argmax(z[:neg]))
    if not (d[pos] > 0 > d[neg]):
        return None
    return pos, neg


def _fitted_root(x: np.ndarray, y: np.ndarray, low: float | None = None, high: float | None = None) -> float:
    """Where a quadratic least-squares fit of ``y(x)`` crosses zero from + to - (a straight line's crossing where
    the quadratic has none in the range); ``nan`` when neither crosses that way inside ``[low, high]`` (default:
    the range of ``x``).

    Examples
    --------
    >>> x = np.linspace(0.0, 1.0, 11)
    >>> round(_fitted_root(x, 0.3 - x + 0.2 * (x - 0.3) ** 2), 6)
    0.3
    """
    scale = x[-1] - x[0]
    t = (x - x.mean()) / scale
    t_low = -0.5 if low is None else (low - x.mean()) / scale
    t_high = 0.5 if high is None else (high - x.mean()) / scale
    for degree in (2, 1):
        coef = np.polynomial.polynomial.polyfit(t, y, degree)
        roots = np.polynomial.polynomial.polyroots(coef)
        slope = np.polynomial.polynomial.polyder(coef)
        ok = [
            r.real
            for r in roots
            if abs(r.imag) < 1e-12 and t_low <= r.real <= t_high and np.polynomial.polynomial.polyval(r.real, slope) < 0
        ]
        if ok:
            return float(x.mean() + (x[-1] - x[0]) * min(ok, key=abs))
    return float("nan")


def _argmax_parabola(x: np.ndarray, y: np.ndarray) -> float:
    """Location of the maximum of ``y(x)``, refined by a parabola through its neighbours."""
    j = int(np.argmax(y))
    if 0 < j < x.size - 1:
        y0, y1, y2 = y[j - 1 : j + 2]
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            return float(x[j] + 0.5 * (y0 - y2) / denom * (x[1] - x[0]))
    return float(x[j])
