"""Reading a user's combinatorial library: compositions, diffraction patterns and properties, one sample each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._extras import require

__all__ = ["read_library", "library_dataset"]

#: the fields of a library file in the layout NIST publishes its benchmark libraries in
COMPOSITION, PATTERNS, ANGLES = "C", "XRD", "TTH"


def library_dataset(
    composition: Any, xrd: Any, two_theta: Any, *, elements: Any = None, properties: dict[str, Any] | None = None
) -> xr.Dataset:
    """A library as :func:`~phasemapper.datasets.fegapd` holds one, from its arrays, each checked by name.

    ``composition`` is ``(n_samples, n_elements)`` (rows are normalised to sum to one), ``xrd``
    ``(n_samples, n_angles)``, ``two_theta`` ``(n_angles,)`` increasing; ``properties`` maps names to one
    value per sample. ``elements`` defaults to ``x1, x2, ...``.

    Examples
    --------
    >>> import numpy as np
    >>> ds = library_dataset([[0.5, 0.5], [1.0, 0.0]], np.ones((2, 3)), [30.0, 31.0, 32.0], elements=["Fe", "Ga"])
    >>> dict(ds.sizes)
    {'sample': 2, 'element': 2, 'two_theta': 3}
    """
    return _library(composition, xrd, two_theta, elements, properties, ("composition", "xrd", "two_theta"))


def _library(
    composition: Any,
    xrd: Any,
    two_theta: Any,
    elements: Any,
    properties: dict[str, Any] | None,
    fields: tuple[str, str, str],
) -> xr.Dataset:
    """:func:`library_dataset`, its errors naming the three arrays by ``fields`` (a file's own field names)."""
    c_field, xrd_field, angle_field = fields
    comp = _matrix(c_field, composition)
    patterns = _matrix(xrd_field, xrd)
    angles = np.asarray(two_theta, dtype=float).ravel()
    n = comp.shape[0]
    if patterns.shape[0] != n:
        raise ValueError(f"{xrd_field}: {patterns.shape[0]} patterns for {n} compositions")
    if angles.size != patterns.shape[1]:
        raise ValueError(f"{angle_field}: {angles.size} angles for patterns of {patterns.shape[1]} points")
    if not np.all(np.isfinite(angles)) or np.any(np.diff(angles) <= 0):
        raise ValueError(f"{angle_field}: the angles must be finite and increasing")
    if np.any(comp < 0) or np.any(comp.sum(1) <= 0):
        raise ValueError(f"{c_field}: fractions must be >= 0 with a positive sum in every row")
    names = [f"x{i + 1}" for i in range(comp.shape[1])] if elements is None else [str(e) for e in elements]
    if len(names) != comp.shape[1] or len(set(names)) != len(names):
        raise ValueError(f"elements: {len(names)} distinct names needed for {comp.shape[1]} composition columns")
    data = {
        "composition": (("sample", "element"), comp / comp.sum(1, keepdims=True), {"units": "atomic fraction"}),
        "xrd": (("sample", "two_theta"), patterns),
    }
    for name, values in (properties or {}).items():
        column = np.asarray(values, dtype=float).ravel()
        if column.size != n:
            raise ValueError(f"{name}: {column.size} values for {n} samples")
        data[str(name)] = ("sample", column)
    return xr.Dataset(data, coords={"sample": np.arange(n), "element": names, "two_theta": angles})


def read_library(path: str | os.PathLike, *, elements: Any = None) -> xr.Dataset:
    """Read a combinatorial library from ``.mat``, ``.csv``, ``.h5``/``.hdf5`` or ``.nc``.

    - ``.mat`` (MATLAB, the layout of NIST's benchmark libraries) and HDF5: fields ``C`` (compositions,
      samples x elements), ``XRD`` (samples x angles) and ``TTH`` (the angles); every other numeric field
      with one value per sample is a property (e.g. a magnetisation). HDF5 needs the ``materials`` extra.
    - ``.csv``: a header row; columns whose names are numbers are the pattern at those angles, columns named
      in ``elements`` (default: the names that look like element symbols, ``Fe``, ``Ga``) the composition, the
      rest properties.
    - ``.nc``: a Dataset as :func:`~phasemapper.datasets.fegapd` returns.

    A malformed file raises ``ValueError`` naming the missing or inconsistent field.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from phasemapper.datasets import fegapd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lib.nc"
    >>> fegapd().to_netcdf(path)
    >>> read_library(path).sizes["sample"]
    278
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ValueError(f"path: no file at {str(path)!r}")
    if suffix == ".mat":
        from scipy.io import loadmat

        fields = {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
        return _from_fields(fields, elements)
    if suffix in (".h5", ".hdf5"):
        require("h5py", by="reading an HDF5 library")
        import h5py

        with h5py.File(path, "r") as f:
            fields = {k: np.asarray(f[k]) for k in f if isinstance(f[k], h5py.Dataset)}
        return _from_fields(fields, elements)
    if suffix == ".csv":
        return _from_csv(path, elements)
    if suffix == ".nc":
        ds = xr.load_dataset(path)
        missing = [v for v in ("composition", "xrd", "two_theta") if v not in ds]
        if missing:
            raise ValueError(f"{missing[0]}: the netCDF library has no {missing[0]!r} variable")
        extra = {
            str(k): ds[k].values for k in ds.data_vars if k not in ("composition", "xrd") and ds[k].dims == ("sample",)
        }
        names = ds["element"].values if "element" in ds.coords else elements
        return library_dataset(
            ds["composition"].values, ds["xrd"].values, ds["two_theta"].values, elements=names, properties=extra
        )
    raise ValueError(f"path: {suffix or 'no suffix'} is not a library format (.mat, .csv, .h5, .hdf5, .nc)")


def _matrix(name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: not a numeric array") from None
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"{name}: a non-empty samples x columns array is needed, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: has non-finite values")
    return arr


def _from_fields(fields: dict[str, Any], elements: Any) -> xr.Dataset:
    for key in (COMPOSITION, PATTERNS, ANGLES):
        if key not in fields:
            raise ValueError(f"{key}: the library file has no {key!r} field (fields: {sorted(fields)})")
    comp = _matrix(COMPOSITION, fields[COMPOSITION])
    n = comp.shape[0]
    properties = {}
    for key, value in fields.items():
        arr = np.asarray(value)
        if key in (COMPOSITION, PATTERNS, ANGLES) or arr.dtype.kind not in "iuf" or arr.size != n:
            continue
        properties[key] = arr.ravel()
    return _library(comp, fields[PATTERNS], fields[ANGLES], elements, properties, (COMPOSITION, PATTERNS, ANGLES))


def _from_csv(path: Path, elements: Any) -> xr.Dataset:
    import csv
    import re

    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        raise ValueError("csv: a header row and at least one sample are needed")
    header, body = [h.strip() for h in rows[0]], rows[1:]

    def number(name: str) -> bool:
        try:
            float(name)
            return True
        except ValueError:
            return False

    angle_cols = [i for i, h in enumerate(header) if number(h)]
    wanted = set(map(str, elements)) if elements is not None else None
    comp_cols = [
        i
        for i, h in enumerate(header)
        if i not in angle_cols and (h in wanted if wanted is not None else re.fullmatch(r"[A-Z][a-z]?", h))
    ]
    if not angle_cols:
        raise ValueError("xrd: no column of the csv is named by an angle (a number)")
    if not comp_cols:
        raise ValueError("composition: no column of the csv is an element (name them, e.g. Fe, Ga, Pd)")
    try:
        values = np.array([[float(v) for v in row] for row in body if row])
    except ValueError:
        raise ValueError("csv: every value must be a number") from None
    if values.ndim != 2 or values.shape[1] != len(header):
        raise ValueError(f"csv: every row needs {len(header)} values")
    prop_cols = [i for i in range(len(header)) if i not in angle_cols and i not in comp_cols]
    return library_dataset(
        values[:, comp_cols],
        values[:, angle_cols],
        [float(header[i]) for i in angle_cols],
        elements=[header[i] for i in comp_cols],
        properties={header[i]: values[:, i] for i in prop_cols},
    )
