"""Build ``src/phasemapper/data/fegapd.nc`` from the NIST Fe-Ga-Pd text files (run once; the result is shipped).

Usage: ``python scripts/build_fegapd.py DIR`` with DIR holding ``FeGaPd_XRD.txt``, ``FeGaPd_CMP.txt``,
``FeGaPd_Mag.txt`` and ``FeGaPd_DFT_regions.txt`` as published in NIST's "remi" collection
(``data/Combinatorial Libraries/Fe-Ga-Pd``). Values are stored as read (XRD and magnetisation as float32).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr

OUT = Path(__file__).resolve().parents[1] / "src" / "phasemapper" / "data" / "fegapd.nc"


def read(directory: Path) -> xr.Dataset:
    xrd = np.loadtxt(directory / "FeGaPd_XRD.txt", delimiter=",")
    two_theta, patterns = xrd[0], xrd[1:]
    cmp_lines = (directory / "FeGaPd_CMP.txt").read_text().split("\n")
    elements = cmp_lines[0].split()
    composition = np.loadtxt(cmp_lines[1:])
    mag = np.loadtxt(directory / "FeGaPd_Mag.txt", delimiter=",")
    regions = np.loadtxt(directory / "FeGaPd_DFT_regions.txt", dtype=np.int64)
    n = len(patterns)
    if not (composition.shape == (n, 3) and mag.shape == (n, 2) and regions.shape == (n,)):
        raise ValueError("the files disagree on the number of samples")
    return xr.Dataset(
        {
            "composition": (("sample", "element"), composition, {"units": "atomic fraction"}),
            "xrd": (("sample", "two_theta"), patterns.astype(np.float32), {"units": "counts"}),
            "magnetization": ("sample", mag[:, 0].astype(np.float32),
                              {"long_name": "scanning SQUID voltage", "units": "V"}),
            "magnetization_saturated_modified": (
                "sample", mag[:, 1].astype(np.float32),
                {"long_name": "SQUID voltage, saturated values modified by a large Gaussian (Kusne et al. 2020)"}),
            "dft_region": ("sample", regions, {"long_name": "phase-region index computed by DFT"}),
        },
        coords={"sample": np.arange(n), "element": elements, "two_theta": ("two_theta", two_theta, {"units": "degree"})},
        attrs={
            "title": "Fe-Ga-Pd combinatorial thin-film library",
            "source": "NIST remi collection, data/Combinatorial Libraries/Fe-Ga-Pd",
            "citation": "Kusne et al., Nature Communications 11, 5966 (2020); "
                        "Long et al., Review of Scientific Instruments 78, 072217 (2007)",
        },
    )


if __name__ == "__main__":
    ds = read(Path(sys.argv[1]))
    encoding = {v: {"zlib": True, "complevel": 9} for v in ds.data_vars}
    ds.to_netcdf(OUT, encoding=encoding)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
