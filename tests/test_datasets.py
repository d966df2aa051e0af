"""The shipped Fe-Ga-Pd library: what it holds, and that it is the published text files unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from phasemapper.datasets import fegapd

# the published files, where this machine has them (the package ships only its netCDF copy)
RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "FeGaPd"


def test_the_library_holds_278_samples_on_the_simplex_with_patterns_and_dft_regions():
    ds = fegapd()
    assert dict(ds.sizes) == {"sample": 278, "element": 3, "two_theta": 551}
    np.testing.assert_allclose(ds.composition.sum("element"), 1.0, atol=2e-4)  # fractions given to 4 digits
    assert float(ds.two_theta[0]) == 37.0 and float(ds.two_theta[-1]) == 48.0
    regions = set(np.unique(ds.dft_region.values).tolist())
    assert regions <= {0, 1, 2, 3, 4} and len(regions) >= 4  # the published indices run 0-4; 3 labels no sample
    assert np.all(np.isfinite(ds.xrd)) and float(ds.xrd.max()) > 0
    assert "Kusne" in ds.attrs["citation"] and "Long" in ds.attrs["citation"]


@pytest.mark.skipif(not RAW.is_dir(), reason="the published text files are not on this machine")
def test_the_shipped_copy_equals_the_published_text_files():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_fegapd", Path(__file__).parents[1] / "scripts" / "build_fegapd.py"
    )
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    fresh, shipped = build.read(RAW), fegapd()
    for name in fresh.data_vars:
        np.testing.assert_array_equal(fresh[name].values, shipped[name].values, err_msg=name)
    np.testing.assert_array_equal(fresh.two_theta.values, shipped.two_theta.values)
