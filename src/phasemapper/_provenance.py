"""Provenance recorded in the attrs of every result: versions, time, host, command line, git commits."""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any

_PACKAGES = ("phasemapper", "numpy", "scipy", "numba", "xarray", "scikit-learn", "torch", "pycalphad")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the core and optional packages (and ``extra`` ones); nothing is imported."""
    out = {}
    for name in dict.fromkeys(_PACKAGES + tuple(extra)):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@functools.lru_cache(maxsize=8)
def git_commit(directory: str) -> str | None:
    """The commit checked out in the git work tree holding ``directory`` (``+dirty`` with uncommitted
    changes), or ``None`` outside one or without git.

    Examples
    --------
    >>> git_commit("/") is None or len(git_commit("/")) >= 40
    True
    """
    try:

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", "-C", directory, *args], capture_output=True, text=True, timeout=5, check=True
            ).stdout.strip()

        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "") if commit else None


def run_context() -> dict[str, Any]:
    """Where and how this result was made: host, command line, working directory and the git commits of
    the working directory and of phasemapper's own source (when each is a git work tree)."""
    here = os.getcwd()
    context = {"host": platform.node(), "command": " ".join(sys.argv), "cwd": here}
    for key, directory in (("git_commit", here), ("phasemapper_git_commit", os.path.dirname(__file__))):
        commit = git_commit(directory)
        if commit:
            context[key] = commit
    return context


def provenance_attrs(**fields: Any) -> dict[str, Any]:
    """netCDF-safe attrs: scalars stay, everything else becomes JSON."""
    attrs: dict[str, Any] = {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "package_versions": json.dumps(package_versions()),
        **run_context(),
    }
    for key, value in fields.items():
        attrs[key] = (
            value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else json.dumps(value)
        )
    return attrs
