"""Adaptive planners: boundary uncertainty of a phase map, and quadtree refinement."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .._checks import MAX_COUNT, check_number, check_positive_int
from .._space import Space
from ._base import Planner, nearest_distinct

__all__ = ["Boundary", "Entropy", "Refine"]


#: the most candidate points an acquisition scores per batch (each is a model prediction)
MAX_CANDIDATES = 2**20


class Boundary(Planner):
    """Evaluate where the phase map is least sure of the phase: its boundaries, batch-diversified.

    Starts with ``n_initial`` Sobol points; afterwards fits ``model`` (a
    :class:`~phasemapper.maps.PhaseMap`, by default a
    :class:`~phasemapper.maps.GPClassifierMap`) to everything told and scores
    ``n_candidates`` Sobol candidates by the model's :meth:`acquisition`
    (for the GP: the posterior probability that the map's phase is wrong there,
    the point's expected share of the misclassified area — high along
    boundaries the data have not yet pinned down and where nothing is known,
    zero where the phase is settled, however noisy its labels), plus the
    attention of a stated prior boundary. A batch is chosen greedily: after each pick, the
    scores around it (and around pending points) are damped by
    ``1 - exp(-d^2 / 2 r^2)`` (unit-cube distance ``d``), so one batch does not
    crowd one spot.

    Parameters
    ----------
    space : Space
    phases : sequence of str
    model : PhaseMap, optional
        The map to steer by; its priors steer the planner too.
    n_initial : int, optional
        Space-filling points before the first fit (default ``4 * 2**ndim``).
    n_candidates : int
        Candidate points scored per ask.
    radius : float, optional
        Diversification radius ``r`` in unit-cube units (default
        ``0.5 * n**(-1/ndim)`` with ``n`` the number of points told, pending and asked).

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.planners import Boundary
    >>> space = Space([Axis("x", 0, 1), Axis("y", 0, 1)])
    >>> planner = Boundary(space, ["left", "right"], seed=0)
    >>> for _ in range(3):
    ...     pts = planner.ask(8)
    ...     planner.tell(pts, (pts[:, 0] > 0.5).astype(int))
    >>> bool(abs(planner.ask(4)[:, 0] - 0.5).max() < 0.25)
    True
    """

    context_params: ClassVar[tuple[str, ...]] = ("space", "model")

    def __init__(
        self,
        space: Space,
        phases: Sequence[str],
        *,
        model: Any = None,
        n_initial: int | None = None,
        n_candidates: int = 2048,
        radius: float | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(space, seed=seed)
        from ..maps import GPClassifierMap, PhaseMap

        self.phases = tuple(phases)
        if model is None:
            model = GPClassifierMap(space, self.phases)
        if not isinstance(model, PhaseMap):
            raise TypeError(f"model must be a phasemapper.maps.PhaseMap, got {type(model).__name__}")
        if tuple(model.check().phases) != self.phases or model.space != space:
            raise ValueError("model must be built on the planner's space and phases")
        self.model = model
        self.n_initial = 4 * 2**space.unit_ndim if n_initial is None else check_positive_int("n_initial", n_initial, 2)
        n_candidates = check_positive_int("n_candidates", n_candidates, 16, MAX_CANDIDATES)
        if radius is not None:
            radius = check_number("radius", radius, low=0, high=1, low_open=True, high_open=True)
        self.n_candidates, self.radius = n_candidates, radius
        self._fitted_on: tuple | None = None

    def steering_map(self) -> Any:
        return self.model

    def fitted_map(self) -> Any:
        """The model fitted to everything told so far (refit only when the told set changed)."""
        pts, vals = self.data()
        signature = (tuple(sorted(self._told)), self.model.priors.version)
        if self._fitted_on != signature and len(pts):
            self.model.fit(pts, vals)
            self._fitted_on = signature
        return self.model

    def _n_initial_after_priors(self) -> int:
        """Space-filling points still needed: fewer where the model's priors already state the phase."""
        if not len(self.model.priors):
            return self.n_initial
        from scipy.stats import qmc

        probe = self.space.from_cube(qmc.Sobol(self.space.unit_ndim, seed=np.random.default_rng(0)).random_base2(8))
        held = float(self.model.priors.certainty(probe).mean())
        return max(2, math.ceil(self.n_initial * (1.0 - held)))

    def _ask(self, n: int) -> np.ndarray:
        from scipy.stats import qmc

        initial = self._initial(n)
        if initial is not None:
            return initial
        model = self.fitted_map()
        sampler = qmc.Sobol(
            d=self.space.unit_ndim, scramble=True, seed=np.random.default_rng([self.seed, len(self._told)])
        )
        cand = self.space.from_cube(sampler.random_base2(math.ceil(math.log2(self.n_candidates))))
        return self._diversified(cand, self._score(model, cand), n)

    def ask_among(self, candidates: np.ndarray, n: int) -> np.ndarray:
        """Up to ``n`` of ``candidates`` (not told, not pending): the space-filling start moved to the
        nearest candidates, then the best-scored candidates, batch-diversified (see
        :class:`~phasemapper.planners.Pool`). Nothing is marked pending."""
        initial = self._initial(n)
        if initial is not None:
            return nearest_distinct(self.space, initial, candidates)
        return self._diversified(candidates, self._score(self.fitted_map(), candidates), n)

    def _initial(self, n: int) -> np.ndarray | None:
        """The space-filling points still due before the first fit, or ``None`` once the map steers."""
        from scipy.stats import qmc

        taken = len(self._told) + len(self._pending)
        n_initial = self._n_initial_after_priors()
        if not (taken < n_initial or not self._told):
            return None
        sampler = qmc.Sobol(d=self.space.unit_ndim, scramble=True, seed=np.random.default_rng(self.seed))
        seq = self.space.from_cube(sampler.random_base2(max(1, math.ceil(math.log2(self.n_initial + n)))))
        used = set(self._told) | set(self._pending)
        fresh = [p for p in seq if self.key(p) not in used]
        k = n if taken < n_initial else 0
        return np.array(fresh[: min(k, n_initial - taken) if self._told else k]).reshape(-1, self.space.ndim)

    def _score(self, model: Any, candidates: np.ndarray) -> np.ndarray:
        """How much each candidate is worth evaluating: the map's :meth:`acquisition`."""
        return model.acquisition(candidates)

    def _diversified(self, cand: np.ndarray, score: np.ndarray, n: int) -> np.ndarray:
        """Greedy batch of up to ``n`` candidates by ``score``, damped around pending points and each pick."""
        taken = len(self._told) + len(self._pending)
        u = self.space.to_unit(cand)
        score = np.asarray(score, dtype=float)
        score = score - score.min() + 1e-12
        r = self.radius or 0.5 * (taken + n) ** (-1.0 / self.space.unit_ndim)
        pend = self.pending()
        for q in self.space.to_unit(pend) if len(pend) else []:
            score *= 1.0 - np.exp(-0.5 * ((u - q) ** 2).sum(axis=1) / r**2)
        chosen: list[int] = []
        for _ in range(min(n, len(u))):
            i = int(np.argmax(score))
            chosen.append(i)
            score *= 1.0 - np.exp(-0.5 * ((u - u[i]) ** 2).sum(axis=1) / r**2)
            score[i] = 0.0
        return cand[chosen]


class Entropy(Boundary):
    """Evaluate where the phase map's predicted phase is most uncertain: the entropy of its phase
    probabilities, as CAMEO's phase-mapping acquisition (Kusne et al., Nat. Commun. 11, 5966, 2020).

    The same start, candidates and batch diversification as :class:`Boundary`; only the score
    differs: entropy is high wherever the classes are mixed, including where noisy labels
    have settled a mixed answer, where :class:`Boundary`'s misclassification probability is low.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.planners import Entropy
    >>> planner = Entropy(Space([Axis("x", 0, 1)]), ["a", "b"], n_initial=4, seed=0)
    >>> pts = planner.ask(4)
    >>> planner.tell(pts, (pts[:, 0] > 0.5).astype(int))
    >>> planner.ask(2).shape
    (2, 1)
    """

    def _score(self, model: Any, candidates: np.ndarray) -> np.ndarray:
        return model.acquisition(candidates, by="entropy")


class Refine(Planner):
    """Quadtree (2^d-tree) refinement: split boxes whose corners disagree, in the manner of the ``phasemap`` package.

    Starts from a grid of ``initial`` boxes per axis; a box whose corners are
    all evaluated and carry more than one phase (the most likely phase of each
    corner) is split into ``2^ndim`` children, down to ``max_depth`` splits.
    Coarse levels come first. ``ask`` returns fewer points (or none) while
    corners it depends on are pending, and none when every disagreeing box is
    at full depth.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.planners import Refine
    >>> r = Refine(Space([Axis("x", 0, 1)]), initial=2, max_depth=3)
    >>> r.ask(10).ravel().tolist()
    [0.0, 0.5, 1.0]
    """

    def __init__(self, space: Space, *, initial: int = 4, max_depth: int = 4, seed: int = 0) -> None:
        super().__init__(space, seed=seed)
        if space.unit_ndim != space.ndim:
            raise TypeError(f"space: Refine splits boxes and {space!r} is not a box; use Boundary")
        self.initial = check_positive_int("initial", initial)
        self.max_depth = check_positive_int("max_depth", max_depth, 0, MAX_COUNT.bit_length() - 1)
        self.resolution = self.initial * 2**self.max_depth
        if self.resolution > MAX_COUNT:  # the finest lattice's index along an axis must fit 32 bits
            raise ValueError(f"initial * 2**max_depth must be <= {MAX_COUNT}, got {self.resolution}")

    def _lattice_key(self, point: np.ndarray) -> tuple[int, ...] | None:
        x = self.space.to_unit(point[None])[0] * self.resolution
        k = np.rint(x)
        return tuple(int(v) for v in k) if np.allclose(x, k, atol=1e-6) else None

    def _ask(self, n: int) -> np.ndarray:
        labels = {}
        for p, v in self._told.values():
            k = self._lattice_key(p)
            if k is not None:
                labels[k] = int(np.argmax(v)) if v.ndim else int(v)
        pending = {self._lattice_key(p) for p in self._pending.values()}
        d = self.space.ndim
        size = 2**self.max_depth
        level = [tuple(c * size for c in cell) for cell in itertools.product(range(self.initial), repeat=d)]
        needed: list[tuple[int, ...]] = []
        offsets = list(itertools.product((0, 1), repeat=d))
        while level and len(needed) < n:
            children: list[tuple[int, ...]] = []
            for lo in level:
                corners = [tuple(a + o * size for a, o in zip(lo, off)) for off in offsets]
                missing = [c for c in corners if c not in labels]
                if missing:
                    needed.extend(c for c in missing if c not in pending and c not in needed)
                    continue
                if size > 1 and len({labels[c] for c in corners}) > 1:
                    half = size // 2
                    children.extend(tuple(a + o * half for a, o in zip(lo, off)) for off in offsets)
            level, size = children, size // 2
        u = np.array(needed[:n], dtype=float).reshape(-1, d) / self.resolution
        return self.space.from_unit(u)
