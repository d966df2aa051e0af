"""Provenance: what a run records of where and how it ran; the licence."""

from __future__ import annotations

import os
import subprocess
import sys

import phasemapper as pm
from phasemapper.systems import ThreePhase


def test_provenance_names_the_host_the_command_the_commit_and_the_optional_packages(tmp_path):
    import json
    import platform

    ds = pm.scan(ThreePhase(), {"x": [0.2], "y": [0.3]}, 2, seed=0, executor=pm.SerialExecutor(), progress=False)
    versions = json.loads(ds.attrs["package_versions"])
    assert {"torch", "pycalphad", "scikit-learn"} <= set(versions)
    assert ds.attrs["host"] == platform.node() and ds.attrs["command"] == " ".join(sys.argv)
    head = subprocess.run(["git", "-C", os.path.dirname(pm.__file__), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode == 0:  # the package runs from a git checkout: its commit is recorded
        assert ds.attrs["phasemapper_git_commit"].split("+")[0] == head.stdout.strip()
    else:
        assert "phasemapper_git_commit" not in ds.attrs
    manifest = json.loads((pm.Campaign(ThreePhase(), executor=pm.SerialExecutor(), store=tmp_path / "r")
                           .store.path / "manifest.json").read_text())
    assert manifest["provenance"]["host"] == platform.node() and "torch" in manifest["versions"]


def test_the_licence_file_matches_the_package_metadata():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and (root / "LICENSE").read_text().startswith("MIT License")
