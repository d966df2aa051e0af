"""Saving and loading scans as netCDF (one Dataset, or one group per key)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import xarray as xr

__all__ = ["save", "load"]


def save(data: xr.Dataset | Mapping[str | int, xr.Dataset], path: str | os.PathLike) -> Path:
    """Write a Dataset, or a mapping of Datasets (one netCDF group per key), to ``path``.

    Integer keys ``k`` are written as groups ``L{k}`` (the lattice size of a
    multi-size scan). The write goes to a temporary file renamed into place,
    so ``path`` is never left half-written.

    Examples
    --------
    >>> import tempfile, os, xarray as xr
    >>> from phasemapper import save, load
    >>> p = save({16: xr.Dataset({"a": ("x", [1, 2])})}, os.path.join(tempfile.mkdtemp(), "s.nc"))
    >>> list(load(p))
    ['L16']
    """
    path = Path(path)
    if path.suffix != ".nc":
        raise ValueError(f"path must end in .nc, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, xr.Dataset):
        data.to_netcdf(tmp)
    elif isinstance(data, Mapping):
        tree = xr.DataTree.from_dict({f"/{_group(k)}": ds for k, ds in data.items()})
        tree.to_netcdf(tmp)
    else:
        raise TypeError(f"data must be an xarray.Dataset or a mapping of them, got {type(data).__name__}")
    os.replace(tmp, path)
    return path


def load(path: str | os.PathLike) -> xr.Dataset | dict[str, xr.Dataset]:
    """Load what :func:`save` wrote, fully into memory: a Dataset, or a dict of group name -> Dataset."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"path {str(path)!r} does not exist")
    try:
        tree = xr.open_datatree(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"path {str(path)!r} is not a readable netCDF file: {exc}") from None
    with tree:
        if not tree.children:
            return tree.to_dataset().load()
        return {name: child.to_dataset().load() for name, child in tree.children.items()}


def _group(key: str | int) -> str:
    return f"L{key}" if isinstance(key, int) else str(key)
