"""The map command on libraries: library:fegapd, a user's .mat file, resume, and bad input in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from phasemapper.cli import main

from cli_checks import one_error_line


def test_map_library_fegapd_writes_regions_property_and_report(tmp_path, capsys):
    out = tmp_path / "fegapd"
    main(["map", "library:fegapd", "--budget", "24", "--planner", "entropy", "--out", str(out)])
    text = capsys.readouterr().out
    assert "24 of 278 samples" in text and "agreement with dft_region: FMI" in text
    ds = xr.load_dataset(out / "library_map.nc")
    assert int(ds["measured"].sum()) == 24 and ds.attrs["property"] == "magnetization"
    assert np.isfinite(ds["property_mean"].values).all()
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "Failed measurements" not in page
    # the same command continues the run to a larger budget; resume does too
    main(["map", "library:fegapd", "--budget", "32", "--planner", "entropy", "--out", str(out)])
    assert "continuing the run" in capsys.readouterr().out
    main(["resume", str(out), "--budget", "40"])
    ledger = json.loads((out / "ledger.json").read_text())
    assert len(ledger["measured"]) == len(set(ledger["measured"])) == 40


def test_map_library_reads_a_mat_file(tmp_path, capsys):
    from scipy.io import savemat

    from phasemapper.datasets import fegapd

    ds = fegapd().isel(sample=slice(0, 60))
    path = tmp_path / "lib.mat"
    savemat(
        path,
        {
            "C": ds["composition"].values,
            "XRD": ds["xrd"].values,
            "TTH": ds["two_theta"].values,
            "M": ds["magnetization"].values,
        },
    )
    main(["map", f"library:{path}", "--budget", "16", "--planner", "random", "--out", str(tmp_path / "run")])
    text = capsys.readouterr().out
    assert "16 of 60 samples" in text and "agreement" not in text  # no reference in the file
    assert xr.load_dataset(tmp_path / "run" / "library_map.nc").attrs["property"] == "M"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--axis", "Fe=0:1"], "--axis: not for library"),
        (["--planner", "refine"], "planner"),
        (["--property", "coercivity"], "--property 'coercivity'"),
        (["--budget", "0"], "--budget"),
    ],
)
def test_map_library_bad_input_is_one_line(tmp_path, capsys, args, words):
    line = one_error_line(capsys, ["map", "library:fegapd", "--out", str(tmp_path / "r"), *args])
    assert words in line
    assert not (tmp_path / "r").exists()


def test_map_library_missing_file_and_reference_outside_libraries(tmp_path, capsys):
    assert "no_such.mat" in one_error_line(
        capsys, ["map", f"library:{tmp_path / 'no_such.mat'}", "--out", str(tmp_path / "r")]
    )
    assert "--reference" in one_error_line(
        capsys, ["map", "ising2d", "--reference", "x", "--out", str(tmp_path / "r2")]
    )


def test_a_library_run_too_short_to_cluster_says_why(tmp_path, capsys):
    main(["map", "library:fegapd", "--budget", "2", "--out", str(tmp_path / "r")])
    text = capsys.readouterr().out
    assert "2 of 278 samples measured; no regions: fewer than 4 samples measured to cluster" in text
    assert "plot:" not in text and "fewer than 4" in (tmp_path / "r" / "report.html").read_text()
