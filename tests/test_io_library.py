"""read_library: the Fe-Ga-Pd library written in each supported format reads back the same; a malformed file is
refused in one error naming its field."""

from __future__ import annotations

import numpy as np
import pytest

from phasemapper.datasets import fegapd
from phasemapper.io import library_dataset, read_library


@pytest.fixture(scope="module")
def library():
    ds = fegapd()
    return ds.isel(sample=slice(0, 40), two_theta=slice(0, 60))  # enough to round-trip, small enough to write fast


def _same(read, ds, properties):
    np.testing.assert_allclose(read.composition, ds.composition / ds.composition.sum("element"), rtol=1e-12)
    np.testing.assert_allclose(read.xrd, ds.xrd, rtol=1e-6)
    np.testing.assert_allclose(read.two_theta, ds.two_theta, rtol=1e-12)
    assert [str(e) for e in read.element.values] == ["Fe", "Ga", "Pd"]
    for name in properties:
        np.testing.assert_allclose(read[name], ds[name], rtol=1e-6)


def test_a_mat_file_in_nists_layout_round_trips(library, tmp_path):
    from scipy.io import savemat

    path = tmp_path / "lib.mat"
    savemat(
        path,
        {
            "C": library.composition.values,
            "XRD": library.xrd.values,
            "TTH": library.two_theta.values[None],
            "M": library.magnetization.values[:, None],
        },
    )
    _same(read_library(path, elements=["Fe", "Ga", "Pd"]), library, {})
    np.testing.assert_allclose(read_library(path)["M"], library.magnetization, rtol=1e-6)


def test_hdf5_csv_and_netcdf_round_trip(library, tmp_path):
    import h5py

    with h5py.File(tmp_path / "lib.h5", "w") as f:
        f["C"], f["XRD"], f["TTH"] = library.composition.values, library.xrd.values, library.two_theta.values
        f["magnetization"] = library.magnetization.values
    read = read_library(tmp_path / "lib.h5", elements=["Fe", "Ga", "Pd"])
    _same(read, library, {"magnetization"})
    header = ["Fe", "Ga", "Pd", "magnetization", *[f"{t:g}" for t in library.two_theta.values]]
    rows = np.column_stack([library.composition.values, library.magnetization.values, library.xrd.values])
    np.savetxt(tmp_path / "lib.csv", rows, delimiter=",", header=",".join(header), comments="", fmt="%.9g")
    _same(read_library(tmp_path / "lib.csv"), library, {"magnetization"})
    library.to_netcdf(tmp_path / "lib.nc")
    _same(read_library(tmp_path / "lib.nc"), library, {"magnetization", "dft_region"})


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"XRD": np.ones((3, 4)), "TTH": np.arange(4.0)}, "C: the library file has no 'C' field"),
        ({"C": np.ones((3, 2)), "XRD": np.ones((3, 4)), "TTH": np.arange(5.0)}, "TTH: 5 angles for patterns of 4"),
        ({"C": np.ones((3, 2)), "XRD": np.ones((2, 4)), "TTH": np.arange(4.0)}, "XRD: 2 patterns for 3 compositions"),
        ({"C": -np.ones((3, 2)), "XRD": np.ones((3, 4)), "TTH": np.arange(4.0)}, "C: fractions must be >= 0"),
        ({"C": np.ones((3, 2)), "XRD": np.ones((3, 4)), "TTH": np.arange(4.0)[::-1]}, "TTH: the angles must be"),
    ],
)
def test_a_malformed_mat_file_is_refused_naming_its_field(tmp_path, fields, words):
    from scipy.io import savemat

    savemat(tmp_path / "bad.mat", fields)
    with pytest.raises(ValueError, match=words):
        read_library(tmp_path / "bad.mat")


def test_other_bad_inputs_name_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="path: no file"):
        read_library(tmp_path / "missing.mat")
    (tmp_path / "lib.txt").write_text("x")
    with pytest.raises(ValueError, match="not a library format"):
        read_library(tmp_path / "lib.txt")
    (tmp_path / "lib.csv").write_text("Fe,Ga,magnetization\n0.5,0.5,1.0\n")
    with pytest.raises(ValueError, match="xrd: no column"):
        read_library(tmp_path / "lib.csv")
    with pytest.raises(ValueError, match="elements: 3 distinct names needed for 2"):
        library_dataset([[0.5, 0.5]], [[1.0]], [30.0], elements=["Fe", "Ga", "Pd"])
