"""Saving and loading scans as netCDF (one Dataset, or one group per key)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np
import xarray as xr

from ._atomic import write_atomically
from ._bits import pack_rows, two_values, unpack_rows

__all__ = ["save", "load"]


def save(data: xr.Dataset | Mapping[Any, xr.Dataset], path: str | os.PathLike) -> Path:
    """Write a Dataset, or a mapping of Datasets (one netCDF group per key), to ``path``.

    Integer keys ``k`` are written as groups ``L{k}`` (the lattice size of a
    multi-size scan) and read back by :func:`load` as the integers they were. The write goes to a
    temporary file renamed into place,
    so ``path`` is never left half-written. Configurations of +-1 spins are
    stored one bit per site (``numpy.packbits``, 8x smaller); :func:`load`
    restores them exactly.

    Examples
    --------
    >>> import tempfile, os, xarray as xr
    >>> from phasemapper import save, load
    >>> p = save({16: xr.Dataset({"a": ("x", [1, 2])})}, os.path.join(tempfile.mkdtemp(), "s.nc"))
    >>> list(load(p))
    [16]
    """
    path = Path(path)
    if path.suffix != ".nc":
        raise ValueError(f"path must end in .nc, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, xr.Dataset):
        packed: xr.Dataset | xr.DataTree = _pack_spins(data)
    elif isinstance(data, Mapping):
        by_key = cast(Mapping[str | int, xr.Dataset], data)  # a Dataset is a Mapping too: it took the branch above
        groups = {_group(k): k for k in by_key}
        if len(groups) != len(by_key):
            raise ValueError(f"data: keys {list(by_key)} name the same group twice (an integer k is the group L<k>)")
        packed = xr.DataTree.from_dict({f"/{_group(k)}": _pack_spins(ds) for k, ds in by_key.items()})
        packed.attrs[_KEYS] = json.dumps({g: k for g, k in groups.items() if isinstance(k, int)})
    else:
        raise TypeError(f"data must be an xarray.Dataset or a mapping of them, got {type(data).__name__}")
    return write_atomically(path, packed.to_netcdf)


def load(path: str | os.PathLike) -> xr.Dataset | dict[str | int, xr.Dataset]:
    """Load what :func:`save` wrote, fully into memory: a Dataset, or a dict of key -> Dataset (the keys
    given to :func:`save`: integers as integers)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"path {str(path)!r} does not exist")
    try:
        tree = xr.open_datatree(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"path {str(path)!r} is not a readable netCDF file: {exc}") from None
    with tree:
        if not tree.children:
            return _unpack_spins(tree.to_dataset().load())
        keys = json.loads(tree.attrs.get(_KEYS, "{}"))  # groups whose key was an integer
        return {keys.get(name, name): _unpack_spins(child.to_dataset().load()) for name, child in tree.children.items()}


_PACKING = "spins_pm1_packbits"
_KEYS = "phasemapper_integer_keys"


def _pack_spins(ds: xr.Dataset) -> xr.Dataset:
    """``configuration`` of +-1 int8 spins (site dims without coordinates) as bits, one byte per 8 sites."""
    da = ds.get("configuration")
    if not isinstance(da, xr.DataArray) or da.dtype != np.int8 or da.ndim < 3 or da.dims[:2] != ("point", "sample"):
        return ds
    site_dims = da.dims[2:]
    x = da.values
    if any(d in ds.coords for d in site_dims) or two_values(x) not in ((-1, 1), (-1, -1), (1, 1)):
        return ds
    bits = np.stack([pack_rows(x[i], 1) for i in range(x.shape[0])])  # per point: no whole-array temporary
    packed = xr.DataArray(
        bits,
        dims=("point", "sample", "configuration_byte"),
        attrs={
            **da.attrs,
            "packing": _PACKING,
            "site_dims": json.dumps(list(site_dims)),
            "site_shape": json.dumps(list(da.shape[2:])),
        },
    )
    return ds.assign(configuration=packed)


def _unpack_spins(ds: xr.Dataset) -> xr.Dataset:
    da = ds.get("configuration")
    if not isinstance(da, xr.DataArray) or da.attrs.get("packing") != _PACKING:
        return ds
    attrs = {k: v for k, v in da.attrs.items() if k not in ("packing", "site_dims", "site_shape")}
    site_dims, site_shape = json.loads(da.attrs["site_dims"]), json.loads(da.attrs["site_shape"])
    bits = da.values
    spins = np.empty((*da.shape[:2], *site_shape), np.int8)
    for i in range(len(spins)):  # per point: no whole-array temporary
        unpack_rows(bits[i], -1, 1, spins[i])
    out = ds.drop_vars("configuration").drop_dims("configuration_byte", errors="ignore")
    out["configuration"] = xr.DataArray(spins, dims=("point", "sample", *site_dims), attrs=attrs)
    return out[list(ds.data_vars)]  # the variables in their saved order


def _group(key: str | int) -> str:
    return f"L{key}" if isinstance(key, int) else str(key)
