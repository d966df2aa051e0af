"""The kernel backend seam: systems reach kernels only through the active backend."""

import types

import numpy as np
import pytest

from phasemapper import kernels
from phasemapper.systems import TASEP, Ising2D


def _counting(reference):
    """A backend family that forwards to ``reference`` and counts calls (what a GPU port would replace)."""
    calls = {}

    def wrap(name):
        def f(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return getattr(reference, name)(*args, **kwargs)
        return f

    return types.SimpleNamespace(**{n: wrap(n) for n in reference.__all__}), calls


@pytest.fixture
def counting_backend():
    ising, ising_calls = _counting(kernels.ising)
    multispin, ms_calls = _counting(kernels.multispin)
    kernels.register_backend("counting", {"ising": ising, "multispin": multispin})
    yield ising_calls, ms_calls
    kernels.use_backend(None)


def test_systems_call_the_active_backend_and_fall_back_for_missing_families(counting_backend):
    ising_calls, ms_calls = counting_backend
    ref = Ising2D(L=8, algorithm="metropolis").sample([2.5, 0.0], 20, seed=3)
    ref_ms = Ising2D(L=8, algorithm="multispin").sample([2.5, 0.0], 64, seed=3)
    kernels.use_backend("counting")
    assert kernels.active_backend() == "counting"
    out = Ising2D(L=8, algorithm="metropolis").sample([2.5, 0.0], 20, seed=3)
    out_ms = Ising2D(L=8, algorithm="multispin").sample([2.5, 0.0], 64, seed=3)
    assert ising_calls["run_metropolis"] > 0 and ms_calls["run_records"] > 0
    np.testing.assert_array_equal(out.configurations, ref.configurations)
    np.testing.assert_array_equal(out_ms.configurations, ref_ms.configurations)
    TASEP(L=20).sample([0.3, 0.7], 2, seed=0)  # 'tasep' is not in the counting backend: numba-cpu serves it


def test_backend_selected_by_environment(counting_backend, monkeypatch):
    monkeypatch.setenv("PHASEMAPPER_BACKEND", "counting")
    assert kernels.active_backend() == "counting"
    monkeypatch.setenv("PHASEMAPPER_BACKEND", "no-such")
    with pytest.raises(ValueError, match="PHASEMAPPER_BACKEND"):
        kernels.active_backend()


def test_bad_backends_are_refused():
    with pytest.raises(ValueError, match="missing .*run_wolff"):
        kernels.register_backend("half", {"ising": types.SimpleNamespace(run_metropolis=print)})
    with pytest.raises(ValueError, match="unknown kernel family 'ising3d'"):
        kernels.register_backend("x", {"ising3d": kernels.ising})
    with pytest.raises(ValueError, match="reference backend"):
        kernels.register_backend("numba-cpu", {})
    with pytest.raises(ValueError, match="unknown kernel backend 'gpu'"):
        kernels.use_backend("gpu")


def test_family_proxy_pickles_by_name():
    import pickle

    fam = pickle.loads(pickle.dumps(kernels.family("potts")))
    assert fam.heatbath_sweeps is kernels.potts.heatbath_sweeps
