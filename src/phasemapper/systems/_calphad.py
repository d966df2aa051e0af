"""Binary temperature-composition phase equilibria from a CALPHAD database, through pycalphad."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._checks import check_finite, check_positive_int
from .._space import Axis, Space
from .._types import Samples
from ..progress import track
from ._base import System, register_system

__all__ = ["Calphad", "FreeParameter", "BUILTIN_DATABASES"]

#: databases shipped in ``phasemapper/data``: file, components (solvent, solute), default temperature range (K)
BUILTIN_DATABASES: dict[str, tuple[str, tuple[str, str], tuple[float, float]]] = {
    "pbsn": ("pbsn.tdb", ("PB", "SN"), (373.15, 623.15)),
    "bisn": ("bisn_approx.tdb", ("SN", "BI"), (323.15, 573.15)),
}

#: a phase counts as present above this mole fraction (pycalphad's numerical zero is far below it)
PRESENT = 1e-6
_PRESSURE = 101325.0
_X_EDGE = 1e-6  # pure ends are evaluated this close to x = 0 and x = 1


@dataclass(frozen=True)
class FreeParameter:
    """An uncertain CALPHAD parameter: an additive offset (J/mol, constant in T) to the binary
    Redlich-Kister interaction term of ``order`` in ``phase``; ``name`` is how values refer to it."""

    phase: str
    order: int
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.phase, str) or not self.phase:
            raise ValueError(f"free parameter phase must be a phase name, got {self.phase!r}")
        check_positive_int("free parameter order", self.order, minimum=0)
        if not self.name:
            object.__setattr__(self, "name", f"L{self.order}_{self.phase.upper()}")

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "order": int(self.order), "name": self.name}


def _load_database(database: Any) -> tuple[Any, str]:
    """A pycalphad Database from a built-in name, a TDB path or a Database; plus how to name it in provenance."""
    from pycalphad import Database

    if isinstance(database, Database):
        return database, "<pycalphad.Database>"
    if not isinstance(database, (str, os.PathLike)):
        raise TypeError(
            f"database must be a built-in name ({', '.join(BUILTIN_DATABASES)}), a TDB path or a "
            f"pycalphad Database, got {type(database).__name__}"
        )
    key = os.fspath(database)
    path = (
        Path(str(files("phasemapper") / "data" / BUILTIN_DATABASES[key.lower()][0]))
        if key.lower() in BUILTIN_DATABASES
        else Path(key)
    )
    if not path.is_file():
        raise ValueError(
            f"database {key!r} is neither a built-in database ({', '.join(BUILTIN_DATABASES)}) nor an existing TDB file"
        )
    try:
        db = Database(str(path))
    except Exception as exc:  # noqa: BLE001 - pycalphad's parser raises many types
        where = f" at line {exc.lineno}, column {exc.col}" if hasattr(exc, "lineno") and hasattr(exc, "col") else ""
        first = (str(exc).splitlines() or [""])[0]  # the parser's message quotes the offending text on more lines
        raise ValueError(
            f"database {key!r} does not parse as a TDB file{where}: {type(exc).__name__}: {first}"
        ) from None
    if len(db.phases) == 0:
        raise ValueError(f"database {key!r} defines no phases")
    return db, key


_LOW = re.compile(r"([-+0-9.eE]+) <= T")
_HIGH = re.compile(r"T < ([-+0-9.eE]+)")


def database_temperature_range(db: Any) -> tuple[float, float]:
    """The temperatures (K) where every function and parameter of ``db`` is defined: the intersection of
    the ranges of their piecewise expressions (a TDB's ``FUNCTION ... low ... high``)."""
    lows, highs = [], []
    exprs = list(db.symbols.values()) + [row["parameter"] for row in db._parameters.all()]
    for expr in exprs:
        text = str(expr)
        lo = [float(v) for v in _LOW.findall(text)]
        hi = [float(v) for v in _HIGH.findall(text)]
        if lo:
            lows.append(min(lo))
        if hi:
            highs.append(max(hi))
    low = max(lows) if lows else 0.0
    high = min(highs) if highs else float("inf")
    return low, high


class Calphad(System):
    """Phases present, phase fractions and phase compositions of a binary alloy, from a CALPHAD database.

    Evaluates pycalphad's ``equilibrium`` at a composition ``X_<B>`` (mole
    fraction of the second component) and a temperature ``T`` (K), at 1 atm.
    The phases of the phase map are the *phase assemblages* — every phase and
    every pair of phases of the database (``"LIQUID"``, ``"FCC_A1+LIQUID"``,
    ...): a binary has at most two phases in equilibrium away from invariant
    temperatures. A sample carries the observables ``label`` (index of the
    assemblage), ``fraction_<PHASE>`` and ``x_<PHASE>`` (that phase's
    composition, NaN where absent). Deterministic: every sample is the same.

    ``free_parameters`` name uncertain Redlich-Kister interaction terms;
    ``parameters`` gives their offsets (J/mol, default 0). pycalphad keeps them
    symbolic, so changing them costs no recompilation — this is what the
    theory refit of a closed loop varies (:class:`phasemapper.theory.CalphadTheory`).

    Built-in databases (``Calphad.pbsn()``, ``Calphad.bisn()``, or the names
    ``"pbsn"`` / ``"bisn"``):

    - ``pbsn``: the Pb-Sn database that pycalphad's tests carry, parameters of
      T.L. Ngai and Y.A. Chang, CALPHAD 5 (1981) 267-276.
    - ``bisn``: an *approximate* Bi-Sn model fitted by phasemapper (see
      :meth:`bisn`), not an assessed database.

    Parameters
    ----------
    database : str, path or pycalphad.Database
        A built-in name or a TDB file.
    components : (str, str)
        The two elements; the composition axis is the mole fraction of the second.
    phases : sequence of str, optional
        Phases to consider (default: every phase of the database made of these components).
    temperature : (float, float), optional
        Default bounds (K) of the ``T`` axis; must lie inside the database's temperature range.
    free_parameters : sequence of FreeParameter or dict, optional
    parameters : dict, optional
        Offsets of the free parameters, by name.

    Examples
    --------
    >>> from phasemapper.systems import Calphad
    >>> pbsn = Calphad.pbsn()
    >>> pbsn.space.names
    ('X_SN', 'T')
    >>> pbsn.reference_phase([[0.10, 600.0], [0.10, 400.0], [0.50, 400.0]]).tolist()
    ['LIQUID', 'FCC_A1', 'BCT_A5+FCC_A1']
    """

    name = "calphad"
    reference = "the database itself (pycalphad equilibrium)"
    #: every sample at a point is the same equilibrium
    deterministic = True
    #: observables that are NaN when their phase is absent
    nan_observables = ("x_",)

    param_attributes = {"database": "database_name", "phases": "db_phases"}

    def __init__(
        self,
        database: Any = "pbsn",
        components: Sequence[str] | None = None,
        *,
        phases: Sequence[str] | None = None,
        temperature: Sequence[float] | None = None,
        free_parameters: Sequence[Any] = (),
        parameters: Mapping[str, float] | None = None,
    ) -> None:
        db, self.database_name = _load_database(database)
        builtin = (
            BUILTIN_DATABASES.get(self.database_name.lower()) if isinstance(database, (str, os.PathLike)) else None
        )
        if components is None:
            if builtin is None:
                raise ValueError("components must be given (two elements of the database)")
            components = builtin[1]
        if isinstance(components, str) or len(components) != 2:
            raise ValueError(f"components must be two element names, got {components!r}")
        comps = tuple(str(c).upper() for c in components)
        missing = [c for c in comps if c not in db.elements]
        if missing or comps[0] == comps[1]:
            known = sorted(e for e in db.elements if e not in ("VA", "/-"))
            raise ValueError(
                f"components: {(missing or [comps[1]])[0]!r} is not in database {self.database_name!r} (it has {known})"
                if missing
                else f"components must differ, got {comps}"
            )
        self.components = comps
        allowed = set(comps) | {"VA"}
        usable = [
            p
            for p, ph in db.phases.items()
            if all({str(s.name) for s in sub} <= allowed for sub in ph.constituents)
            and any({str(s.name) for s in sub} & set(comps) for sub in ph.constituents)
        ]
        if phases is None:
            phases = usable
        phases = [str(p).upper() for p in phases]
        for p in phases:
            if p not in db.phases:
                raise ValueError(f"phase {p!r} is not in database {self.database_name!r} (it has {sorted(db.phases)})")
            if p not in usable:
                raise ValueError(f"phase {p!r} of database {self.database_name!r} needs other components than {comps}")
        if not phases:
            raise ValueError(f"database {self.database_name!r} has no phase made of {comps}")
        self.db_phases = tuple(phases)
        self.t_range = database_temperature_range(db)
        if temperature is None:
            temperature = builtin[2] if builtin else (max(self.t_range[0], 298.15), min(self.t_range[1], 2000.0))
        if len(temperature) != 2:
            raise ValueError(f"temperature must be (low, high) in K, got {temperature!r}")
        t_low, t_high = (check_finite("temperature", t) for t in temperature)
        if not (self.t_range[0] <= t_low < t_high <= self.t_range[1]):
            raise ValueError(
                f"temperature range ({t_low:g}, {t_high:g}) K is outside the range of database "
                f"{self.database_name!r}, [{self.t_range[0]:g}, {self.t_range[1]:g}] K"
            )
        self.temperature = (t_low, t_high)
        self.free_parameters = tuple(p if isinstance(p, FreeParameter) else FreeParameter(**p) for p in free_parameters)
        names = [p.name for p in self.free_parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"free parameter names must be distinct, got {names}")
        for fp in self.free_parameters:
            if fp.phase.upper() not in self.db_phases:
                raise ValueError(f"free parameter {fp.name!r}: phase {fp.phase!r} is not one of {list(self.db_phases)}")
        self.parameters = self._check_parameters(parameters or {})
        self._db = db
        self._engine: Any = None
        self.space = Space([Axis(f"X_{comps[1]}", 0.0, 1.0), Axis("T", t_low, t_high, unit="K")])
        pairs = ["+".join(sorted(pair)) for pair in itertools.combinations(self.db_phases, 2)]
        self.phases = tuple(sorted(self.db_phases)) + tuple(pairs)

    # --------------------------------------------------------------- builders
    @classmethod
    def pbsn(cls, **kwargs: Any) -> Calphad:
        """The Pb-Sn system (Ngai & Chang 1981, from pycalphad's test databases): ``X_SN`` in [0, 1], T in [373, 623] K."""
        return cls("pbsn", **kwargs)

    @classmethod
    def bisn(cls, **kwargs: Any) -> Calphad:
        """An **approximate** Bi-Sn model, not an assessed database.

        phasemapper could not ship assessed Bi-Sn parameters with a source it
        can cite here, so ``bisn_approx.tdb`` is a simple model built for this
        package: pure-element Gibbs energies of Sn from the SGTE unary data as
        carried in the Pb-Sn database, Bi as a reference solid with its liquid
        at ``dH_m (1 - T/T_m)`` (``T_m`` = 544.55 K, ``dH_m`` = 11.3 kJ/mol) and
        lattice stabilities for the metastable end members, and regular-solution
        interaction terms of LIQUID, BCT_A5 (beta-Sn) and RHOMBO_A7 (Bi) fitted
        (``scripts/fit_bisn.py``) to the published eutectic, 139 C (412.15 K) at
        43 at.% Bi, and the solubility of Bi in (beta-Sn), about 21 wt.%
        (13 at.%) at the eutectic (T.B. Massalski (ed.), Binary Alloy Phase
        Diagrams, ASM 1990). Away from these points it is only qualitative.
        """
        return cls("bisn", **kwargs)

    # ------------------------------------------------------------- contract
    def site_shape(self) -> tuple[int, ...]:
        return ()

    def check_point(self, point: np.ndarray) -> None:
        super().check_point(point)
        x, t = float(point[0]), float(point[1])
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"axis {self.space.names[0]!r}: a mole fraction must be in [0, 1], got {x!r}")
        if not self.t_range[0] <= t <= self.t_range[1]:
            raise ValueError(
                f"axis 'T': {t!r} K is outside the range of database {self.database_name!r}, "
                f"[{self.t_range[0]:g}, {self.t_range[1]:g}] K"
            )

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, _ = self._sample_args(point, n_samples, seed)
        frac, comp = self.fractions(point[None])
        label = self.assemblage_index(frac)[0]
        obs = {"label": np.full(n_samples, float(label))}
        for j, p in enumerate(self.db_phases):
            obs[f"fraction_{p}"] = np.full(n_samples, frac[0, j])
            obs[f"x_{p}"] = np.full(n_samples, comp[0, j])
        return Samples(np.full((n_samples,), label, dtype=np.int8), obs, {"database": self.database_name})

    def reference_phase(self, points: Any) -> np.ndarray:
        """The database's own assemblage at ``points``."""
        frac, _ = self.fractions(self.points(points))
        return np.asarray(self.phases)[self.assemblage_index(frac)]

    # ------------------------------------------------------------ equilibria
    def with_parameters(self, parameters: Mapping[str, float]) -> Calphad:
        """A copy with other free-parameter offsets (shares the compiled models)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.parameters = self._check_parameters(parameters)
        return new

    def fractions(self, points: Any, parameters: Mapping[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Phase fractions and phase compositions ``(n, n_db_phases)`` at ``points`` (``(n, 2)``: X, T).

        Absent phases have fraction 0 and composition NaN. A point where
        pycalphad does not converge raises ``ValueError`` naming it.
        """
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        frac = np.zeros((len(pts), len(self.db_phases)))
        comp = np.full((len(pts), len(self.db_phases)), np.nan)
        for i, (x, t) in enumerate(track(pts, f"calphad: {len(pts)} equilibria")):
            eq = self._equilibrium([x], [t], parameters)
            frac[i], comp[i] = self._reduce(eq, (0, 0, 0, 0))
            if not np.isfinite(frac[i]).all() or frac[i].sum() < 0.5:
                raise ValueError(f"pycalphad found no equilibrium at {self.space.names[0]}={x:g}, T={t:g} K")
        return frac, comp

    def fractions_grid(
        self, x: Any, T: Any, parameters: Mapping[str, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Phase fractions and compositions on the grid ``x`` x ``T``: arrays ``(len(x), len(T), n_db_phases)``."""
        x, T = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(T, float))
        eq = self._equilibrium(x, T, parameters)
        frac = np.zeros((len(x), len(T), len(self.db_phases)))
        comp = np.full_like(frac, np.nan)
        for i, j in itertools.product(range(len(x)), range(len(T))):
            frac[i, j], comp[i, j] = self._reduce(eq, (0, 0, j, i))
        return frac, comp

    def assemblage_index(self, fractions: np.ndarray) -> np.ndarray:
        """Index into :attr:`phases` of the assemblage of each row of ``fractions`` (the two largest if three)."""
        f = np.asarray(fractions, dtype=float).reshape(-1, len(self.db_phases))
        return assemblage_index(np.where(f > PRESENT, f, 0.0), self.db_phases, self.phases)

    def equilibrium(self, points: Any, parameters: Mapping[str, float] | None = None) -> xr.Dataset:
        """Equilibrium at ``points`` as a Dataset: ``label`` (assemblage), ``fraction`` and ``composition``
        per ``phase``, with the axes as coordinates.

        Examples
        --------
        >>> from phasemapper.systems import Calphad
        >>> ds = Calphad.pbsn().equilibrium([[0.5, 400.0]])
        >>> str(ds.label.values[0]), ds.fraction.sel(phase="FCC_A1").round(2).values.tolist()
        ('BCT_A5+FCC_A1', [0.58])
        """
        pts = self.points(points)
        frac, comp = self.fractions(pts, parameters)
        labels = np.asarray(self.phases)[self.assemblage_index(frac)]
        coords: dict[str, Any] = {n: ("point", pts[:, k]) for k, n in enumerate(self.space.names)}
        coords["phase"] = list(self.db_phases)
        ds = xr.Dataset(
            {
                "label": ("point", labels),
                "fraction": (("point", "phase"), frac),
                "composition": (("point", "phase"), comp),
            },
            coords=coords,
        )
        ds.composition.attrs["description"] = f"mole fraction of {self.components[1]} in the phase"
        ds.attrs.update(
            {
                "database": self.database_name,
                "components": list(self.components),
                "parameters": str(self._resolved(parameters)),
            }
        )
        return ds

    def eutectic(self, parameters: Mapping[str, float] | None = None, tol: float = 0.05) -> tuple[float, float]:
        """``(T, x)``: the lowest temperature at which liquid is stable (bisection to ``tol`` K on a 1/200
        composition grid) and the liquid's composition there — the eutectic point of a eutectic system."""
        x = np.linspace(0.0, 1.0, 201)
        liq = self.db_phases.index("LIQUID") if "LIQUID" in self.db_phases else None
        if liq is None:
            raise ValueError(f"database {self.database_name!r} has no LIQUID phase among {list(self.db_phases)}")

        def liquid_at(t: float) -> np.ndarray:
            frac, comp = self.fractions_grid(x, [t], parameters)
            return np.where(frac[:, 0, liq] > PRESENT, comp[:, 0, liq], np.nan)

        low, high = self.t_range[0] + 1.0, min(self.t_range[1], self.temperature[1] + 200.0)
        if np.isfinite(liquid_at(low)).any():
            raise ValueError(f"liquid is stable down to {low:g} K; no eutectic within the database's range")
        if not np.isfinite(liquid_at(high)).any():
            raise ValueError(f"no liquid up to {high:g} K")
        while high - low > tol:
            mid = 0.5 * (low + high)
            low, high = (low, mid) if np.isfinite(liquid_at(mid)).any() else (mid, high)
        return float(high), float(np.nanmean(liquid_at(high)))

    # ------------------------------------------------------------- internals
    def _check_parameters(self, parameters: Mapping[str, float]) -> dict[str, float]:
        if not isinstance(parameters, Mapping):
            raise TypeError(f"parameters must be a mapping of free-parameter names to J/mol, got {parameters!r}")
        known = {p.name for p in self.free_parameters}
        unknown = set(parameters) - known
        if unknown:
            raise ValueError(f"parameter {sorted(unknown)[0]!r} is not a free parameter (free: {sorted(known)})")
        return {p.name: check_finite(p.name, parameters.get(p.name, 0.0)) for p in self.free_parameters}

    def _resolved(self, parameters: Mapping[str, float] | None) -> dict[str, float]:
        values = self.parameters if parameters is None else {**self.parameters, **self._check_parameters(parameters)}
        return {_symbol(k): float(values[p.name]) for k, p in enumerate(self.free_parameters)}

    def _build(self) -> Any:
        """Database with the free-parameter symbols, models and phase records, built once per process
        (pycalphad objects are not pickled). The symbols go into a copy, so ``self._db`` stays as loaded
        and a pickled system rebuilds exactly the same engine."""
        if self._engine is None:
            import copy

            from pycalphad import variables as v
            from pycalphad.codegen.phase_record_factory import PhaseRecordFactory
            from pycalphad.core.utils import instantiate_models
            from symengine import Symbol
            from tinydb import where

            db = copy.deepcopy(self._db)
            comps = [*self.components, "VA"]
            for k, p in enumerate(self.free_parameters):
                sym = _symbol(k)
                db.symbols[sym] = 0.0
                query = (
                    (where("phase_name") == p.phase.upper())
                    & (where("parameter_type") == "G")
                    & (where("parameter_order") == p.order)
                )
                rows = [
                    r
                    for r in db._parameters.search(query)
                    if any({str(s.name) for s in sub} == set(self.components) for sub in r["constituent_array"])
                ]
                if rows:
                    db._parameters.update({"parameter": rows[0]["parameter"] + Symbol(sym)}, doc_ids=[rows[0].doc_id])
                else:
                    subl = db.phases[p.phase.upper()].constituents
                    array = [
                        list(self.components)
                        if {str(s.name) for s in sub} >= set(self.components)
                        else sorted(str(s.name) for s in sub)
                        for sub in subl
                    ]
                    db.add_parameter("G", p.phase.upper(), array, p.order, Symbol(sym))
            params = {_symbol(k): 0.0 for k in range(len(self.free_parameters))}
            models = instantiate_models(db, comps, list(self.db_phases), parameters=params or None)
            records = PhaseRecordFactory(
                db, comps, {v.N: 1, v.P: _PRESSURE, v.T: 300.0}, models, parameters=params or None
            )
            self._engine = (db, comps, models, records)
        return self._engine

    def _equilibrium(self, x: Sequence[float], T: Sequence[float], parameters: Mapping[str, float] | None) -> Any:
        import warnings

        from pycalphad import equilibrium
        from pycalphad import variables as v

        db, comps, models, records = self._build()
        xs = np.clip(np.asarray(x, dtype=float), _X_EDGE, 1.0 - _X_EDGE)
        conds = {
            v.X(self.components[1]): xs if len(xs) > 1 else float(xs[0]),
            v.T: np.asarray(T, dtype=float) if len(T) > 1 else float(T[0]),
            v.P: _PRESSURE,
            v.N: 1,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return equilibrium(
                db,
                comps,
                list(self.db_phases),
                conds,
                model=models,
                phase_records=records,
                parameters=self._resolved(parameters) or None,
                to_xarray=False,
            )

    def _reduce(self, eq: Any, index: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Fractions and compositions per database phase at one condition (composition sets of a phase summed)."""
        names = eq.Phase[index]
        amounts = eq.NP[index]
        xs = eq.X[index][..., list(eq.coords["component"]).index(self.components[1])]
        frac = np.zeros(len(self.db_phases))
        comp = np.full(len(self.db_phases), np.nan)
        for name, amount, xb in zip(names, amounts, xs):
            name = str(name)
            if name and np.isfinite(amount) and amount > PRESENT:
                j = self.db_phases.index(name)
                comp[j] = xb if frac[j] == 0 else (comp[j] * frac[j] + xb * amount) / (frac[j] + amount)
                frac[j] += amount
        return frac, comp

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_engine"] = None  # compiled pycalphad objects are rebuilt in each worker
        return state


def assemblage_index(fractions: np.ndarray, db_phases: Sequence[str], phases: Sequence[str]) -> np.ndarray:
    """Index into ``phases`` (assemblage names ``"A"``, ``"A+B"``) of the two largest non-zero entries of each
    row of ``fractions`` (columns: ``db_phases``; zero them where a phase counts as absent); -1 for an
    empty row or an assemblage not in ``phases``."""
    phases = list(phases)
    out = np.full(len(fractions), -1, dtype=int)
    for i, row in enumerate(fractions):
        name = "+".join(sorted(db_phases[j] for j in np.argsort(-row)[:2] if row[j] > 0))
        if name in phases:
            out[i] = phases.index(name)
    return out


def _symbol(k: int) -> str:
    return f"PMFREE{k:02d}"


register_system("calphad", Calphad)
