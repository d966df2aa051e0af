"""The System contract and the registry of named systems."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._checks import check_finite, check_positive_int
from .._params import Parameterized
from .._registry import Registry
from .._space import Space
from .._types import CriticalPoint, Samples

__all__ = ["System", "SYSTEMS", "register_system", "make_system", "registered_systems", "bisect_change"]


def bisect_change(before: Callable[[float], bool], a: float, b: float, tol: float) -> float:
    """Where ``before(x)`` turns from true (at ``a``) to false (at ``b``), bisected to ``tol``."""
    while b - a > tol:
        mid = 0.5 * (a + b)
        a, b = (mid, b) if before(mid) else (a, mid)
    return 0.5 * (a + b)


class System(Parameterized, ABC):
    """Something that can be evaluated at a point of a parameter space.

    Subclasses set ``name`` (registry key), ``space`` (axes with default
    bounds), ``phases`` (phase names), ``site_dims`` (names of the configuration
    dims after the sample dim) and ``optional_axes`` (axes with a default value
    that points may omit), and implement :meth:`sample`.

    ``sample(point, n_samples, seed)`` is pure: the same point and seed give the
    same :class:`~phasemapper.Samples`. The space bounds are defaults for
    mapping; :meth:`check_point` enforces only what is physically required.
    """

    name: str = ""
    #: short citation of the reference phase diagram (full sources in the class docstring)
    reference: str = ""
    phases: tuple[str, ...] = ()
    site_dims: tuple[str, ...] = ()
    optional_axes: Mapping[str, float] = {}
    #: constructor parameter that sets the linear size (``--size`` on the CLI), if any
    size_param: str | None = None
    #: dtype of the configurations
    config_dtype: Any = np.int8
    #: True where ``sample`` draws nothing at random (the same point gives the same samples for every seed)
    deterministic: bool = False
    space: Space

    # ------------------------------------------------------------- contract
    @abstractmethod
    def sample(self, point: np.ndarray, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        """Draw ``n_samples`` samples at ``point`` (a ``(ndim,)`` array in axis order)."""

    def _sample_args(
        self, point: Any, n_samples: Any, seed: int | np.random.SeedSequence | None
    ) -> tuple[np.ndarray, int, np.random.SeedSequence]:
        """Validate the arguments of :meth:`sample`: full point, sample count, seed sequence."""
        point = self.points(np.asarray(point, dtype=float).reshape(1, -1))[0]
        n_samples = check_positive_int("n_samples", n_samples)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        return point, n_samples, ss

    def default_labeler(self) -> Any:
        """The :class:`~phasemapper.labelers.Labeler` a campaign uses when given none: here the system's own
        per-point labels (:class:`~phasemapper.labelers.DirectLabeler`); systems with an order parameter or
        another physical criterion name theirs."""
        from ..labelers import DirectLabeler

        phases = tuple(self.phases)
        if len(phases) < 2:
            raise ValueError(
                f"phases: a phase map needs at least two distinct phase names; system {self.name!r} has {list(phases)}"
            )
        return DirectLabeler(phases)

    def site_shape(self) -> tuple[int, ...]:
        """Shape of one configuration."""
        raise NotImplementedError

    def n_sites(self) -> int:
        """Number of sites that per-site observables are normalised by."""
        return int(np.prod(self.site_shape()))

    def size(self) -> int | None:
        """The linear size (value of ``size_param``), or ``None``."""
        return None if self.size_param is None else int(self.params()[self.size_param])

    def check_point(self, point: np.ndarray) -> None:
        """Raise ``ValueError`` naming the axis if ``point`` is physically invalid (here: not finite, or not
        positive on a logarithmic axis)."""
        for axis, value in zip(self.space.axes, point):
            if not math.isfinite(value):
                raise ValueError(f"axis {axis.name!r}: non-finite value {value!r}")
            if axis.scale == "log" and value <= 0:
                raise ValueError(f"axis {axis.name!r}: must be > 0 (a logarithmic axis), got {value:g}")

    def reference_phase(self, points: Any) -> np.ndarray:
        """Phase names at ``points`` from the literature (tests and benchmarks only)."""
        raise NotImplementedError(f"{type(self).__name__} has no reference phase diagram")

    def reference_critical_points(self) -> list[CriticalPoint]:
        """Critical points known from the literature (tests and benchmarks only)."""
        return []

    def reference_transitions(
        self, axis: str, at: Mapping[str, float] | None = None, bounds: tuple[float, float] | None = None
    ) -> list[CriticalPoint]:
        """Where the reference phase changes along ``axis`` on the line through ``at``.

        The line holds every other axis at its value in ``at`` (optional axes
        may be left out and take their defaults). :meth:`reference_phase` is
        read on 401 points across ``bounds`` (default: the space's bounds of
        ``axis``) and each change of phase is bisected to 1e-9 of the range.
        A transition that is one of :meth:`reference_critical_points` (same
        axis, same line) carries that point's citation and uncertainty; the
        others name the reference diagram and the two phases. Systems without
        a reference diagram return ``[]``.

        Examples
        --------
        >>> from phasemapper.systems import BlumeCapel2D
        >>> [round(cp.value, 3) for cp in BlumeCapel2D().reference_transitions("T", at={"D": 1.0})]
        [1.398]
        """
        names = self.space.names
        if axis not in names:
            raise ValueError(f"axis: unknown axis {axis!r} for system {self.name!r}; axes are {list(names)}")
        line = {k: check_finite(f"at[{k!r}]", v) for k, v in dict(at or {}).items()}
        for k in line:
            if k not in names or k == axis:
                raise ValueError(
                    f"at: {k!r} is not another axis of system {self.name!r} (axes {list(names)}, along {axis!r})"
                )
        missing = [n for n in names if n != axis and n not in line and n not in self.optional_axes]
        if missing:
            raise ValueError(f"at: give a value for {missing} (the line along {axis!r} needs every other axis)")
        space_axis = self.space.axes[names.index(axis)]
        low, high = bounds if bounds is not None else (space_axis.low, space_axis.high)
        low, high = check_finite("bounds[0]", low), check_finite("bounds[1]", high)
        if not low < high:
            raise ValueError(f"bounds: low must be below high, got ({low}, {high})")

        cited = [
            cp
            for cp in self.reference_critical_points()
            if cp.axis == axis
            and all(
                math.isclose(line.get(k, self.optional_axes.get(k, math.nan)), v, abs_tol=1e-12)
                for k, v in (cp.at or {}).items()
            )
        ]
        out = []
        for value, before, after in self._reference_changes(axis, line, low, high):
            match = next((cp for cp in cited if abs(cp.value - value) <= 1e-6 * (high - low)), None)
            method = match.method if match else f"reference diagram ({before} -> {after}): {self.reference}"
            out.append(
                CriticalPoint(
                    axis,
                    float(match.value if match else value),
                    float(match.uncertainty if match else math.nan),
                    method,
                    at=line or None,
                )
            )
        return out

    def _reference_changes(
        self, axis: str, line: dict[str, float], low: float, high: float
    ) -> list[tuple[float, str, str]]:
        """``(value, phase before, phase after)`` of each change of :meth:`reference_phase` along the line."""

        def phases(x: np.ndarray) -> np.ndarray:
            return np.asarray(self.reference_phase({axis: x, **{k: np.full(x.size, v) for k, v in line.items()}}))

        try:
            xs = np.linspace(low, high, 401)
            labels = phases(xs)
        except NotImplementedError:
            return []
        out = []
        for i in np.nonzero(labels[1:] != labels[:-1])[0]:
            before = labels[i]

            def still_before(x: float, before: Any = before) -> bool:
                return bool(phases(np.array([x]))[0] == before)

            value = bisect_change(
                still_before,
                float(xs[i]),
                float(xs[i + 1]),
                1e-9 * (high - low),
            )
            out.append((value, str(before), str(labels[i + 1])))
        return out

    # --------------------------------------------------------------- points
    def points(self, points: Any) -> np.ndarray:
        """``points`` as a validated ``(n, ndim)`` array; optional axes may be omitted.

        Accepts an ``(n, k)`` array whose ``k`` columns are the leading axes
        (missing optional axes take their defaults), a 1-D array of values of
        the first axis, or a mapping of equal-length arrays keyed by axis name.
        """
        names = self.space.names
        if isinstance(points, Mapping):
            unknown = set(points) - set(names)
            if unknown:
                raise ValueError(
                    f"unknown axis {sorted(unknown)[0]!r} for system {self.name!r}; axes are {list(names)}"
                )
            full: dict[str, Any] = {}
            length = None
            for n in names:
                if n in points:
                    full[n] = np.atleast_1d(np.asarray(points[n], dtype=float))
                    length = len(full[n]) if length is None else length
                elif n not in self.optional_axes:
                    raise ValueError(f"points are missing the required axis {n!r}")
            for n in names:
                if n not in full:
                    full[n] = np.full(length or 1, self.optional_axes[n], dtype=float)
            arr = self.space._as_array(full)
        else:
            try:
                arr = np.asarray(points, dtype=float)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"points must be numeric: {exc}") from None
            if arr.ndim <= 1:  # values of the first axis
                arr = arr.reshape(-1, 1)
            if arr.ndim != 2:
                raise ValueError(f"points must be a 2-D array (n, ndim), got shape {arr.shape}")
            k = arr.shape[1]
            if k < self.space.ndim:
                missing = names[k:]
                for n in missing:
                    if n not in self.optional_axes:
                        raise ValueError(f"points are missing the required axis {n!r}")
                extra = np.array([self.optional_axes[n] for n in missing], dtype=float)
                arr = np.column_stack([arr, np.broadcast_to(extra, (arr.shape[0], len(extra)))])
            elif k > self.space.ndim:
                raise ValueError(f"points have {k} columns but system {self.name!r} has axes {list(names)}")
        if len(arr) == 0:
            raise ValueError(f"points: no points given for system {self.name!r}")
        for p in arr:
            self.check_point(p)
        return arr


#: every named system: ``phasemapper systems`` lists it, a manifest names its system by it
SYSTEMS: Registry[System] = Registry("system")


def register_system(name: str, factory: Callable[..., System]) -> None:
    """Register ``factory`` under ``name`` for the CLI and :func:`make_system`."""
    SYSTEMS.register(name, factory)


def registered_systems() -> dict[str, Callable[..., System]]:
    """A copy of the registry: name -> factory."""
    return dict(SYSTEMS)


def make_system(name: str, **params: Any) -> System:
    """Build the registered system ``name`` with ``params``; unknown names raise ``ValueError``."""
    return SYSTEMS.build(name, **params)
