"""Provenance recorded in the attrs of every result: versions, time, host."""

from __future__ import annotations

import datetime
import json
import platform
from importlib import metadata
from typing import Any

_PACKAGES = ("phasemapper", "numpy", "scipy", "numba", "xarray")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the core packages (and ``extra`` ones)."""
    out = {}
    for name in _PACKAGES + tuple(extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance_attrs(**fields: Any) -> dict[str, Any]:
    """netCDF-safe attrs: scalars stay, everything else becomes JSON."""
    attrs: dict[str, Any] = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "package_versions": json.dumps(package_versions()),
    }
    for key, value in fields.items():
        attrs[key] = value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else json.dumps(value)
    return attrs
