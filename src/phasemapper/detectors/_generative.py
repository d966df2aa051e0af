"""Generative models at each point: the generalisation error of RBMs split into model and data errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._checks import check_number, check_positive_int, check_seed
from .._types import CriticalPoint
from ._detector import Detector
from ._grid import ParameterGrid
from ._indicators import grid_resolution, interior_peak
from ._scans import check_detector_params, extrapolate_to_infinite_size, scans_by_size

__all__ = ["RBM", "kl_divergence"]

#: the fewest held-out samples per point for cross-entropies without an exact distribution
MIN_TEST_SAMPLES = 20


def kl_divergence(q: np.ndarray, p: np.ndarray) -> float:
    """``KL(q || p) = sum_v q(v) log(q(v) / p(v))`` in nats (``inf`` where ``p`` misses mass of ``q``).

    Examples
    --------
    >>> round(kl_divergence(np.array([0.5, 0.5]), np.array([0.9, 0.1])), 4)
    0.5108
    """
    q, p = np.asarray(q, dtype=float), np.asarray(p, dtype=float)
    mass = q > 0
    with np.errstate(divide="ignore"):
        return float(np.sum(q[mass] * (np.log(q[mass]) - np.log(p[mass]))))


def system_distribution(ds: xr.Dataset) -> Callable[[dict[str, float]], np.ndarray]:
    """The exact distribution of the scan's own system at a point, for the systems that have one
    (``ising2d``: :func:`~phasemapper.models.ising_distribution`, ``tasep``:
    :func:`~phasemapper.models.tasep_distribution`)."""
    from ..models import ising_distribution, tasep_distribution

    name = ds.attrs.get("system")
    params = json.loads(ds.attrs.get("system_params", "{}"))
    if name == "ising2d":
        return lambda at: ising_distribution(params["L"], at["T"], params.get("J", 1.0), at.get("h", 0.0))
    if name == "tasep":
        return lambda at: tasep_distribution(params["L"], at["alpha"], at["beta"])
    raise ValueError(
        f"exact: the scan's system {name!r} has no exact distribution here (ising2d and tasep do); "
        "give exact=callable(point) -> probabilities over models.all_states"
    )


class RBM(Detector):
    """Restricted Boltzmann machines trained at each point, and the trade-off of their generalisation error.

    After Kim, Lee, Jo & Baek ("Tradeoff of generalization error in unsupervised learning",
    arXiv:2303.05718). At every point and for every number of hidden units in ``hidden``, an RBM
    (:class:`~phasemapper.models.RBM`) is fitted by maximum a posteriori on ``n_train`` configurations,
    ``n_repeats`` times on disjoint training sets, and once on much more data. With ``p`` the model of
    a finite training set and ``p_inf`` the other:

    * generalisation error (averaged over the training sets),
    * model error: what the model class cannot represent,
    * data error: their difference, what a finite training set costs.

    Two modes (``mode_`` per size):

    * ``exact``, when the point's exact distribution ``q`` is known and its ``2^N`` states can be
      enumerated (``N <= MAX_EXACT_VISIBLE``: Ising up to 4 x 4, TASEP chains up to 24 sites):
      ``p_inf`` is fitted to ``q`` itself (maximum likelihood) and the errors are ``KL(q || p)`` and
      ``KL(q || p_inf)``, summed over every state.
    * ``held_out``, otherwise (larger lattices, systems without an exact distribution, or
      ``exact=None``): ``p_inf`` is fitted to all training sets together and the errors are
      cross-entropies on the samples beyond them (at least :data:`MIN_TEST_SAMPLES` per point). They
      exceed the KL divergences by the unknown entropy of ``q``, which cancels in the data error, and
      ``log Z`` stays exact by enumerating the hidden states.

    More hidden units lower the model error and raise the data error; the optimal number minimises
    their sum. The estimate is where the data error of the optimal model peaks along ``axis``, with the
    bootstrap over training sets and the grid's resolution as its uncertainty; whether that is the
    transition is for the benchmark to say (``bench_detectors``). Training uses exact gradients
    (:meth:`~phasemapper.models.RBM.fit_samples`, L-BFGS, a Gaussian prior of precision
    ``prior_precision`` on every parameter), so the number of hidden units is at most
    :data:`~phasemapper.models.MAX_EXACT_VISIBLE`.

    Parameters
    ----------
    axis : str
    hidden : sequence of int, or str
        The numbers of hidden units compared (at least two); a string joins them with ``+``, as the
        command line gives them: ``hidden=1+2+4``.
    n_train : int
        Configurations per training set: the finite data.
    n_repeats : int
        Disjoint training sets per point (``n_repeats * n_train`` samples are needed, and 20 more for
        held-out errors).
    exact : "system", None or callable
        The exact distribution at a point over :func:`~phasemapper.models.all_states`: ``"system"``
        takes the scan's own system's where it has one (Ising and TASEP) and the lattice can be
        enumerated, else held-out errors; ``None``: held-out errors; a callable gets the point as a dict.
    prior_precision : float
        Precision of the Gaussian prior on the parameters (divided by ``n_train`` in the loss).
    max_iter : int
        L-BFGS iterations per model.
    n_bootstrap, nu, seed : as in :class:`Confusion`.

    Attributes
    ----------
    errors_ : xarray.Dataset
        ``generalisation`` (dims ``L, axis, [other axis], hidden, repeat``), ``model``
        (``L, axis, [other axis], hidden``) and ``data`` (their difference, repeats averaged), in nats
        per configuration.
    mode_ : dict
        ``L -> "exact"`` or ``"held_out"``.
    optimal_hidden_ : xarray.DataArray
        The number of hidden units with the least mean generalisation error per point.
    curves_ : dict
        ``data_error`` (at the optimal number of hidden units), ``generalisation_error`` and
        ``model_error`` (both at the optimum) and ``optimal_hidden``, dims ``(L, axis, [other axis])``.
    indicator_ : xarray.DataArray
        ``data_error``.
    critical_points_ : list of CriticalPoint
        Per size and line, and the finite-size extrapolation with several sizes.

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.detectors import RBM
    >>> ds = pm.scan(pm.systems.Ising2D(L=3), {"T": [1.5, 2.5, 3.5]}, 40, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> det = RBM(hidden=(1, 2), n_train=20, n_repeats=2, n_bootstrap=5).fit(ds)
    >>> det.errors_["generalisation"].dims
    ('L', 'T', 'hidden', 'repeat')
    """

    method = "rbm"
    requires = ("torch",)

    def __init__(
        self,
        axis: str = "T",
        *,
        hidden: Sequence[int] = (1, 2, 4, 8),
        n_train: int = 100,
        n_repeats: int = 5,
        exact: str | Callable[[dict[str, float]], np.ndarray] = "system",
        prior_precision: float = 0.1,
        max_iter: int = 300,
        n_bootstrap: int = 200,
        nu: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.axis, self.hidden, self.n_train, self.n_repeats = axis, hidden, n_train, n_repeats
        self.exact, self.prior_precision, self.max_iter = exact, prior_precision, max_iter
        self.n_bootstrap, self.nu, self.seed = n_bootstrap, nu, seed

    def _check(self) -> tuple[int, ...]:
        check_detector_params(self.n_bootstrap, self.nu)
        values: Any = self.hidden
        if isinstance(values, str):  # the command line's form: hidden=1+2+4
            try:
                values = [int(v) for v in values.split("+")]
            except ValueError:
                raise ValueError(f"hidden: numbers joined by '+', got {self.hidden!r}") from None
        if isinstance(values, bytes) or not isinstance(values, Sequence) or len(values) < 2:
            raise ValueError(f"hidden: give at least two numbers of hidden units (hidden=1+2+4), got {self.hidden!r}")
        hidden = tuple(check_positive_int("hidden", h) for h in values)
        if len(set(hidden)) != len(hidden):
            raise ValueError(f"hidden: numbers must differ, got {self.hidden!r}")
        check_positive_int("n_train", self.n_train, 2)
        check_positive_int("n_repeats", self.n_repeats, 2)
        check_number("prior_precision", self.prior_precision, low=0)
        check_positive_int("max_iter", self.max_iter)
        check_seed("seed", self.seed)
        if not (self.exact is None or self.exact == "system" or callable(self.exact)):
            raise ValueError(f"exact: 'system', None or a callable(point) -> probabilities, got {self.exact!r}")
        return tuple(sorted(hidden))

    def fit(self, scans: Mapping[Any, xr.Dataset] | Sequence[xr.Dataset] | xr.Dataset) -> RBM:
        """Fit on one scan, ``{L: scan}`` or a list of scans (1-D lines or 2-D grids)."""
        hidden = self._check()
        by_size = scans_by_size(scans)
        rng = np.random.default_rng(self.seed)
        self.mode_: dict[int, str] = {}
        per_size = []
        with self._fit_progress(by_size):
            for L, ds in by_size.items():
                per_size.append(self._errors(L, ds, hidden))
                self._size_done()
        self.errors_ = xr.concat(per_size, dim=xr.Variable("L", list(by_size)))
        self._summarise(rng)
        return self

    def _errors(self, L: int, ds: xr.Dataset, hidden: tuple[int, ...]) -> xr.Dataset:
        from ..models import RBM as Machine

        if "configuration" not in ds:
            raise ValueError("scan: the RBM detector needs configurations ('configuration')")
        x = np.asarray(ds["configuration"].values)
        bits = x.reshape(x.shape[0], x.shape[1], -1)
        if not np.all(np.isin(bits, (-1, 1))) and not np.all(np.isin(bits, (0, 1))):
            raise ValueError("configuration: the RBM detector needs two-state sites (spins -1/+1 or bits 0/1)")
        bits = (bits > 0).astype(np.int64)
        n_visible = bits.shape[2]
        if bits.shape[1] < self.n_repeats * self.n_train:
            raise ValueError(
                f"n_train: {self.n_repeats} x {self.n_train} training samples needed per point, "
                f"the scan at L={L} has {bits.shape[1]}"
            )
        exact = self._exact_distribution(ds, n_visible)
        self.mode_[L] = "exact" if exact is not None else "held_out"
        n_test = bits.shape[1] - self.n_repeats * self.n_train
        if exact is None and n_test < MIN_TEST_SAMPLES:
            raise ValueError(
                f"n_train: held-out errors need {MIN_TEST_SAMPLES} samples per point beyond the "
                f"{self.n_repeats} x {self.n_train} training samples; the scan at L={L} has {bits.shape[1]}"
            )
        grid = ParameterGrid.from_scan(ds, self.axis)
        generalisation = np.empty((len(grid.index), len(hidden), self.n_repeats))
        model = np.empty((len(grid.index), len(hidden)))
        for p in range(len(grid.index)):
            trains = [bits[p, r * self.n_train : (r + 1) * self.n_train] for r in range(self.n_repeats)]
            fit_reference, error = self._reference_and_error(ds, p, exact, bits[p], trains)
            for k, n_hidden in enumerate(hidden):
                model[p, k] = error(fit_reference(Machine(n_hidden=n_hidden, seed=self.seed)))
                for r, train in enumerate(trains):
                    fitted = Machine(n_hidden=n_hidden, seed=self.seed + r).fit_samples(
                        train, prior_precision=self.prior_precision, max_iter=self.max_iter
                    )
                    generalisation[p, k, r] = error(fitted)
        coords = {**dict(zip(grid.axes, grid.values)), "hidden": list(hidden)}
        dims = (*grid.axes, "hidden")
        out = xr.Dataset(
            {
                "generalisation": (dims + ("repeat",), grid.to_grid(generalisation)),
                "model": (dims, grid.to_grid(model)),
            },
            coords=coords,
        )
        out["data"] = out["generalisation"].mean("repeat") - out["model"]
        return out

    def _reference_and_error(
        self,
        ds: xr.Dataset,
        p: int,
        exact: Callable[[dict[str, float]], np.ndarray] | None,
        samples: np.ndarray,
        trains: list[np.ndarray],
    ) -> tuple[Callable[[Any], Any], Callable[[Any], float]]:
        """At point ``p``: how the large-data machine is fitted, and how any machine is judged. Exact: fitted
        to ``q``, judged by ``KL(q || p)`` over every state. Held out: fitted to all training sets together,
        judged by the cross-entropy on the samples beyond them."""
        if exact is None:
            pool, test = np.concatenate(trains), samples[self.n_repeats * self.n_train :]
            return (
                lambda machine: machine.fit_samples(pool, prior_precision=self.prior_precision, max_iter=self.max_iter),
                lambda machine: -machine.log_likelihood(test),
            )
        point = {str(c): float(ds[c].values[p]) for c in ds.coords if ds[c].dims == ("point",) and c != "point"}
        q = np.asarray(exact(point))
        if q.shape != (2 ** samples.shape[1],) or not np.isclose(q.sum(), 1.0):
            raise ValueError(f"exact: need probabilities over the 2^{samples.shape[1]} states, got shape {q.shape}")
        return (
            lambda machine: machine.fit_distribution(q, max_iter=self.max_iter),
            lambda machine: kl_divergence(q, machine.probabilities_exact()),
        )

    def _exact_distribution(self, ds: xr.Dataset, n_visible: int) -> Callable[[dict[str, float]], np.ndarray] | None:
        """The exact distribution to measure against, or ``None`` for held-out errors."""
        from ..models import MAX_EXACT_VISIBLE

        if callable(self.exact):
            if n_visible > MAX_EXACT_VISIBLE:
                raise ValueError(f"exact: {n_visible} sites cannot be enumerated (at most {MAX_EXACT_VISIBLE})")
            return self.exact
        if self.exact is None or n_visible > MAX_EXACT_VISIBLE:
            return None
        try:
            return system_distribution(ds)
        except ValueError:
            return None

    def _summarise(self, rng: np.random.Generator) -> None:
        errors = self.errors_
        mean = errors["generalisation"].mean("repeat")
        best = mean.argmin("hidden")
        self.optimal_hidden_ = errors["hidden"][best].drop_vars("hidden").rename("optimal_hidden")
        data_error = errors["data"].isel(hidden=best).drop_vars("hidden")
        self.curves_ = {
            "data_error": data_error.rename("data_error"),
            "generalisation_error": mean.isel(hidden=best).drop_vars("hidden").rename("generalisation_error"),
            "model_error": errors["model"].isel(hidden=best).drop_vars("hidden").rename("model_error"),
            "optimal_hidden": self.optimal_hidden_,
        }
        self.indicator_ = self.curves_["data_error"]
        self.critical_points_ = self._locate(rng)

    def _locate(self, rng: np.random.Generator) -> list[CriticalPoint]:
        """The data error's peak per size and line; bootstrap over training sets (the optimum re-chosen)."""
        g = self.errors_["generalisation"]
        others = [d for d in g.dims if d not in ("L", self.axis, "hidden", "repeat")]
        x = np.asarray(g[self.axis].values, dtype=float)
        lines: list[dict[str, float]] = (
            [{}] if not others else [{str(others[0]): float(v)} for v in g[others[0]].values]
        )
        out: list[CriticalPoint] = []
        for line in lines:
            values: list[float] = []
            sigmas: list[float] = []
            sizes: list[float] = []
            replicas: list[np.ndarray] = []
            for L in g["L"].values:
                sub = g.sel({"L": L, **line}).transpose(self.axis, "hidden", "repeat").values
                model = self.errors_["model"].sel({"L": L, **line}).transpose(self.axis, "hidden").values
                value = interior_peak(x, _optimal_data_error(sub, model))
                picks = rng.integers(0, sub.shape[2], size=(self.n_bootstrap, sub.shape[0], sub.shape[2]))
                boot = np.array([interior_peak(x, _optimal_data_error(_take(sub, pick), model)) for pick in picks])
                finite = boot[np.isfinite(boot)]
                if not np.isfinite(value) or finite.size < 2:
                    continue
                sigma = float(np.hypot(finite.std(ddof=1), grid_resolution(x)))
                at = dict(line) or None
                out.append(CriticalPoint(self.axis, float(value), sigma, f"data_error L={int(L)}", at=at))
                values.append(value)
                sigmas.append(sigma)
                sizes.append(float(L))
                replicas.append(np.nan_to_num(boot, nan=value))
            if len(values) >= 2:
                value, sigma = extrapolate_to_infinite_size(
                    np.array(sizes) ** (-1.0 / self.nu), np.array(values), np.array(sigmas), np.array(replicas)
                )
                at = dict(line) or None
                out.insert(0, CriticalPoint(self.axis, value, sigma, "data_error (finite-size extrapolation)", at=at))
        return out


def _take(sub: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """``sub`` ``(point, hidden, repeat)`` with each point's repeats resampled by ``pick`` ``(point, repeat)``."""
    return np.take_along_axis(sub, pick[:, None, :].repeat(sub.shape[1], axis=1), axis=2)


def _optimal_data_error(generalisation: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Per point, the data error of the number of hidden units with the least mean generalisation error."""
    mean = generalisation.mean(axis=2)
    best = mean.argmin(axis=1)
    rows = np.arange(len(best))
    return mean[rows, best] - model[rows, best]
