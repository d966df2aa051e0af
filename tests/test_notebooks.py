"""What a notebook user meets: plots on their own Axes, the backend left alone, short reprs, estimators
that follow scikit-learn's contract, a live view of a campaign, and the tutorial notebook itself."""

from __future__ import annotations

import inspect
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.base import clone

import phasemapper as pm
from phasemapper.detectors import DETECTORS, Observables
from phasemapper.live import LiveMap
from phasemapper.maps import MAPS
from phasemapper.systems import FunctionSystem, Ising2D, ThreePhase

from square import SQUARE

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="module")
def ising_scans():
    T = np.linspace(1.9, 2.7, 9)
    return {L: pm.scan(Ising2D(L=L), {"T": T}, 60, seed=1, executor=pm.SerialExecutor(), progress=False)
            for L in (6, 8)}


@pytest.fixture(scope="module")
def three_phase_run(tmp_path_factory):
    return pm.Campaign(ThreePhase(noise=0.0), executor=pm.SerialExecutor(), seed=0,
                       store=tmp_path_factory.mktemp("run") / "r").run(budget=24, progress=False)


def test_nothing_selects_a_matplotlib_backend(monkeypatch, ising_scans, three_phase_run, tmp_path):
    # a notebook's inline backend must survive every plot, the report and the CLI's figures
    def refuse(*args, **kwargs):
        raise AssertionError("matplotlib.use was called")

    monkeypatch.setattr(matplotlib, "use", refuse)
    from phasemapper import plot
    from phasemapper.cli import main
    from phasemapper.report import write_report

    backend = matplotlib.get_backend()
    obs = Observables(n_bootstrap=20).fit(ising_scans)
    plot.plot_observables(obs, path=tmp_path / "obs.png")
    plot.plot_indicators({"observables": obs}, path=tmp_path / "ind.png")
    three_phase_run.plot(path=tmp_path / "map.png")
    write_report(three_phase_run.path)
    main(["scan", "ising2d", "--axis", "T=2:2.6:4", "--size", "4", "--samples", "20", "--out", str(tmp_path / "s"),
          "--no-progress"])
    assert matplotlib.get_backend() == backend
    assert all((tmp_path / name).stat().st_size > 5000 for name in ("obs.png", "ind.png", "map.png"))


def _meshes(ax):
    from matplotlib.collections import QuadMesh

    return [c for c in ax.collections if isinstance(c, QuadMesh)]


def test_a_logarithmic_axis_is_drawn_logarithmically_with_its_cells_at_the_grid_nodes():
    import phasemapper as pm
    from phasemapper import plot
    from phasemapper.maps import KNNMap

    space = pm.Space([pm.Axis("T", 0.01, 100.0, scale="log"), pm.Axis("x", 0.0, 1.0)])
    points = space.grid(6)
    model = KNNMap(space, ["low", "high"]).fit(points, [[1.0, 0.0] if t < 1 else [0.0, 1.0] for t in points[:, 0]])
    phase_map = model.phase_map(grid_size=20)
    assert phase_map["T"].attrs["scale"] == "log" and phase_map["x"].attrs["scale"] == "linear"
    ax = plot.plot_map(phase_map, ax=Figure().subplots())
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    (mesh,) = _meshes(ax)
    # each cell spans halfway to the next node on the log scale: the inner edges are the nodes' geometric means
    edges = mesh.get_coordinates()[0, :, 0]
    nodes = phase_map["T"].values
    np.testing.assert_allclose(edges[1:-1], np.sqrt(nodes[1:] * nodes[:-1]))
    assert edges[0] < nodes[0] and edges[-1] > nodes[-1] and edges.size == nodes.size + 1
    assert plot.plot_points(phase_map, points, ["low"] * len(points), ax=Figure().subplots()).get_xscale() == "log"


def test_every_plot_draws_on_the_axes_it_is_given(ising_scans, three_phase_run):
    from phasemapper import plot

    obs = Observables(n_bootstrap=20).fit(ising_scans)
    fig = Figure()
    axes = fig.subplots(2, 2)
    assert plot.plot_observables(obs, axes=axes) is axes and all(len(ax.lines) > 0 for ax in axes.ravel())
    ax = Figure().subplots()
    assert obs.plot(ax=ax, exact=2.269) is ax and len(ax.lines) >= 3  # two sizes and the exact line
    three = Figure().subplots(1, 3)
    drawn = three_phase_run.plot(axes=three)
    assert [a.figure for a in drawn] == [three[0].figure] * 3 and _meshes(three[0])  # the map is drawn there
    for draw in (plot.plot_map, plot.plot_uncertainty):
        ax = Figure().subplots()
        assert draw(three_phase_run.phase_map, ax=ax) is ax and _meshes(ax)
    ax = Figure().subplots()
    assert plot.plot_points(three_phase_run.phase_map, three_phase_run.points, three_phase_run.labels, ax=ax) is ax
    assert len(ax.collections[0].get_offsets()) == 24


def test_reprs_are_a_paragraph_and_html_is_a_table(three_phase_run, ising_scans):
    text = repr(three_phase_run)
    assert len(text) < 400 and "24 (24 done, 0 failed)" in text and str(three_phase_run.path) in text
    assert three_phase_run._repr_html_().startswith("<table>") and "stopped by" in three_phase_run._repr_html_()
    model = three_phase_run.model
    assert len(repr(model)) < 300 and "fitted on</th><td>24 points" in model._repr_html_()
    obs = Observables(n_bootstrap=20).fit(ising_scans)
    assert repr(obs) == "Observables(n_bootstrap=20)"
    assert "binder_crossing" in obs._repr_html_() and "<table>" in obs._repr_html_()


def _estimators():
    out = [(name, cls, {}) for name, cls in DETECTORS.items()]
    out += [(name, cls, {"space": SQUARE, "phases": ["a", "b"]}) for name, cls in MAPS.items()]
    assert len(out) >= 11  # every detector and map of the registries
    return out


@pytest.mark.parametrize("name, cls, required", _estimators(), ids=[e[0] for e in _estimators()])
def test_estimator_contract(name, cls, required):
    from sklearn.base import BaseEstimator

    est = cls(**required)
    assert isinstance(est, BaseEstimator)
    params = est.get_params()
    signature = inspect.signature(cls.__init__).parameters
    assert set(params) == set(signature) - {"self"}
    assert set(vars(est)) == set(params)  # the constructor stores its arguments and nothing else
    copy = clone(est)
    assert copy is not est and copy.get_params() == params
    key = next(k for k in ("seed", "k", "n_draws") if k in params)
    est.set_params(**{key: 17})
    assert est.get_params()[key] == 17 and clone(est).get_params()[key] == 17
    assert len(repr(est)) < 300 and cls.__name__ in est._repr_html_()
    keyword_only = [p for p in list(signature.values())[1:] if p.kind is p.KEYWORD_ONLY]
    assert len(keyword_only) == len(signature) - 1 - (2 if required else 1)  # after axis, or after space and phases


def test_a_live_view_redraws_after_each_batch_and_a_notebook_function_travels(tmp_path):
    # the function is a lambda: on the default pool it travels to the workers with cloudpickle
    system = FunctionSystem(lambda p: "left" if p["x"] < 0.4 else "right", SQUARE, phases=["left", "right"])
    live = LiveMap(path=tmp_path / "live.png", display=False, grid_size=24)
    result = pm.Campaign(system, seed=1).run(budget=24, callbacks=[live], progress=False)
    assert live.frames == 3 and (tmp_path / "live.png").stat().st_size > 5000
    assert live.figure.axes[2].get_title() == "evaluated points (24), in order"
    assert result.n_evaluations == 24


def test_the_tutorial_notebook_runs_top_to_bottom(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "docs" / "tutorials" / "getting_started.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # the observables, the detector and the map are drawn inline
    text = "".join(o.get("text", "") for o in outputs)
    assert "Tc" in text
