"""Wrap a user's own function of a point as a System."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._space import Space
from .._types import Samples
from ._base import System

__all__ = ["FunctionSystem"]


class FunctionSystem(System):
    """A System made from a function of a point: the most direct way to map your own model or experiment.

    ``fn`` receives the point as a dict ``{axis name: value}`` and returns one of

    - a phase **label**: a name from ``phases`` or an integer index into it;
    - a **probability vector** over ``phases`` (non-negative, summing to 1);
    - a **sample**: any numeric array (e.g. a configuration), or a full
      :class:`~phasemapper.Samples` for ``n_samples`` at once.

    If ``fn`` has a parameter named ``rng``, it is called once per sample with
    its own ``numpy.random.Generator`` (noisy measurements, stochastic
    simulations); otherwise it is called once per point and the result is
    repeated. ``fn`` is only called at points inside ``space``. An exception
    (``sys.exit`` too), a NaN or an infinity from ``fn`` is re-raised as
    ``ValueError`` with a note naming the point that caused it.

    Observables: ``label`` (phase index) for labels, plus ``proba_<phase>`` for
    probability vectors; for array samples, ``mean`` (of each sample).

    Parameters
    ----------
    fn : callable
        ``fn(point)`` or ``fn(point, rng)``.
    space : Space
        The axes and their bounds.
    phases : sequence of str, optional
        Phase names (required for labels and probability vectors).
    name : str
        Name used in provenance.

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.systems import FunctionSystem
    >>> def phase(p, rng):
    ...     inside = p["x"] ** 2 + p["y"] ** 2 < 0.5
    ...     noisy = rng.random() < 0.05          # 5% label noise
    ...     return "disk" if inside != noisy else "outside"
    >>> system = FunctionSystem(phase, Space([Axis("x", -1, 1), Axis("y", -1, 1)]), phases=["disk", "outside"])
    >>> bool(system.sample([0.0, 0.1], n_samples=20, seed=0).observables["label"].mean() < 0.5)
    True
    """

    site_dims = ()

    context_params = ("space",)

    def __init__(
        self,
        fn: Callable[..., Any],
        space: Space,
        phases: Sequence[str] | None = None,
        *,
        name: str = "function",
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        if not isinstance(space, Space):
            raise TypeError(f"space must be a phasemapper.Space, got {type(space).__name__}")
        if phases is not None:
            phases = tuple(phases)
            if not phases or not all(isinstance(p, str) for p in phases) or len(set(phases)) != len(phases):
                raise ValueError(f"phases must be distinct strings, got {phases!r}")
        self.fn = fn
        self.space = space
        self.phases = phases or ()
        self.name = name
        try:
            self._takes_rng = "rng" in inspect.signature(fn).parameters
        except (TypeError, ValueError):  # builtins without a signature
            self._takes_rng = False

    def params(self) -> dict[str, Any]:
        """The parameters, ``fn`` by its qualified name (a function is recorded, not rebuilt)."""
        out = super().params()
        if "fn" in out:
            out["fn"] = getattr(self.fn, "__qualname__", repr(self.fn))
        return out

    def site_shape(self) -> tuple[int, ...]:
        return ()

    def reference_phase(self, points: Any) -> np.ndarray:
        """The function's own answer (its most likely phase) at each point, without noise where it takes ``rng``."""
        pts = self.points(points)
        rng = np.random.default_rng(0)
        out = []
        for p in pts:
            s = self.sample(p, 1, seed=int(rng.integers(2**63)))
            out.append(self.phases[int(s.observables["label"][0])])
        return np.array(out)

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        where = {n: float(v) for n, v in zip(self.space.names, point)}
        try:
            return self._sample_at(where, n_samples, ss)
        except (ValueError, TypeError) as exc:
            exc.add_note(f"at point {where}")
            raise

    def _sample_at(self, where: dict[str, float], n_samples: int, ss: np.random.SeedSequence) -> Samples:
        if self._takes_rng:
            values = [self._call(where, np.random.default_rng(child)) for child in ss.spawn(n_samples)]
        else:
            values = [self._call(where, None)] * n_samples
        if len(values) == 1 and isinstance(values[0], Samples):
            return values[0]
        return self._to_samples(values, where)

    # ----------------------------------------------------------------- helpers
    def _call(self, where: dict[str, float], rng: np.random.Generator | None) -> Any:
        try:
            value = self.fn(where, rng=rng) if rng is not None else self.fn(where)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported with the point; sys.exit() ends nothing
            raise ValueError(f"{self.name}: fn raised {type(exc).__name__}: {exc}") from exc
        if isinstance(value, Samples):
            return value
        values = np.asarray(value) if isinstance(value, (float, np.floating, np.ndarray)) else None
        if values is not None and values.dtype.kind == "f" and not np.isfinite(values).all():
            bad = float(values[~np.isfinite(values)].flat[0])
            raise ValueError(f"{self.name}: fn returned {'NaN' if np.isnan(bad) else bad}")
        return value

    def check_point(self, point: np.ndarray) -> None:
        """The point must lie in the declared space: ``fn`` is never called outside it."""
        self.space.validate(np.asarray(point, dtype=float)[None])

    def _label_index(self, value: Any, where: dict[str, float]) -> int:
        if isinstance(value, str):
            if value not in self.phases:
                raise ValueError(f"{self.name}: fn returned unknown phase {value!r}: phases are {list(self.phases)}")
            return self.phases.index(value)
        index = int(value)
        if not 0 <= index < len(self.phases):
            raise ValueError(f"{self.name}: fn returned phase index {index}; there are {len(self.phases)} phases")
        return index

    def _to_samples(self, values: list[Any], where: dict[str, float]) -> Samples:
        first = values[0]
        is_label = isinstance(first, (str, int, np.integer)) and not isinstance(first, bool)
        is_proba = (
            not is_label
            and self.phases
            and np.ndim(first) == 1
            and len(first) == len(self.phases)
            and np.asarray(first).dtype.kind == "f"
        )
        if (is_label or is_proba) and not self.phases:
            raise ValueError(f"{self.name}: fn returned a label but no phases were given")
        if is_label:
            idx = np.array([self._label_index(v, where) for v in values])
            return Samples(idx.astype(np.int8), {"label": idx.astype(float)})
        if is_proba:
            proba = np.asarray(values, dtype=float)
            if (proba < 0).any() or not np.allclose(proba.sum(axis=1), 1.0, atol=1e-6):
                raise ValueError(f"{self.name}: fn returned probabilities that are negative or do not sum to 1")
            idx = proba.argmax(axis=1)
            obs = {"label": idx.astype(float)}
            obs.update({f"proba_{p}": proba[:, k] for k, p in enumerate(self.phases)})
            return Samples(idx.astype(np.int8), obs)
        try:
            configs = np.stack([np.asarray(v) for v in values])
        except ValueError as exc:
            raise ValueError(f"{self.name}: fn returned samples of different shapes") from exc
        if configs.dtype.kind not in "biuf":
            raise TypeError(
                f"{self.name}: fn returned {type(first).__name__}: expected a label, probabilities or a numeric array"
            )
        return Samples(configs, {"mean": configs.reshape(len(values), -1).mean(axis=1).astype(float)})
