"""The scan study from Python: the pipeline ``phasemapper scan`` runs, called without the command line."""

from __future__ import annotations

import json

import pytest

import phasemapper as pm
from phasemapper.study import CHECKPOINT, scan_study
from phasemapper.systems import ONSAGER_TC, Ising2D


def test_a_study_writes_the_scan_summary_and_plot_and_compares_each_estimate_with_onsager(tmp_path):
    out = tmp_path / "study"
    summary = scan_study([Ising2D(L=8), Ising2D(L=12)], {"T": [1.9 + 0.1 * i for i in range(9)]}, 80, out, seed=1,
                         executor=pm.SerialExecutor(), progress=False)
    written = json.loads((out / "summary.json").read_text())
    assert json.loads(json.dumps(summary)) == {**written, "outputs": {**written["outputs"], "summary": str(out / "summary.json")}}
    assert summary["sizes"] == [8, 12] and summary["failures"] == [] and not (out / CHECKPOINT).exists()
    assert summary["critical_points"], "the default detector (observables) gave no estimate"
    for cp in summary["critical_points"]:
        # Onsager's exact Tc (Phys. Rev. 65, 117 (1944)) is the reference each estimate is compared with
        assert cp["exact"] == pytest.approx(ONSAGER_TC, rel=1e-12)
        assert cp["error"] == pytest.approx(cp["value"] - ONSAGER_TC, abs=1e-12)
    assert (out / "observables.png").stat().st_size > 10_000
    assert sorted(pm.load(out / "scan.nc")) == [8, 12]


@pytest.mark.parametrize("kwargs, error, words", [
    ({"systems": []}, TypeError, "systems must be a non-empty sequence"),
    ({"axes": {}}, ValueError, "axes: give at least one axis"),
    ({"axes": {"T": [2.0, 2.5]}, "detectors": {"pca": {}}}, ValueError, "axis 'T': detectors read along"),
    ({"axes": {"T": [2.0, 2.5, 3.0], "h": [0.0, 0.1], "J": [1.0]}, "detectors": {"pca": {}}}, ValueError, None),
])
def test_a_bad_study_is_refused_before_any_work(tmp_path, kwargs, error, words):
    args = {"systems": [Ising2D(L=4)], "axes": {"T": [2.0, 2.5, 3.0]}, **kwargs}
    with pytest.raises(error, match=words):
        scan_study(args.pop("systems"), args.pop("axes"), 10, tmp_path / "out", executor=pm.SerialExecutor(),
                   progress=False, **args)
    assert not (tmp_path / "out").exists()
