"""CALPHAD systems, the experiment model, XRD labelling and theory in the loop (issue: closed loop)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pycalphad")

import phasemapper as pm  # noqa: E402
from phasemapper._result import load_run  # noqa: E402
from phasemapper._store import read_theory  # noqa: E402
from phasemapper.labelers import XRDLabeler  # noqa: E402
from phasemapper.systems import Calphad, Experiment  # noqa: E402
from phasemapper.theory import CalphadTheory  # noqa: E402


@pytest.fixture(scope="module")
def pbsn() -> Calphad:
    return Calphad.pbsn()


def test_pbsn_eutectic_matches_the_published_diagram(pbsn):
    # Pb-Sn eutectic: 183 C (456.15 K) at 73.9 at.% Sn (T.B. Massalski (ed.), Binary Alloy Phase Diagrams,
    # ASM 1990); the Ngai & Chang (1981) assessment reproduces it to about 2 K.
    t_e, x_e = pbsn.eutectic()
    assert abs(t_e - 456.15) < 3.0
    assert abs(x_e - 0.739) < 0.015


def test_bisn_approximate_model_meets_its_fitted_targets():
    # targets of the fit (Massalski 1990): 139 C = 412.15 K, 43 at.% Bi, 13 at.% Bi soluble in (beta-Sn)
    bisn = Calphad.bisn()
    t_e, x_e = bisn.eutectic()
    assert abs(t_e - 412.15) < 1.0 and abs(x_e - 0.43) < 0.01
    _, comp = bisn.fractions([[0.5, t_e - 1.0]])
    assert abs(comp[0, bisn.db_phases.index("BCT_A5")] - 0.13) < 0.01
    # the pure ends melt at the elements' melting points: Sn 505.08 K, Bi 544.55 K
    assert list(bisn.reference_phase([[0.0, 500.0], [0.0, 510.0], [1.0, 540.0], [1.0, 549.0]])) == \
        ["BCT_A5", "LIQUID", "RHOMBO_A7", "LIQUID"]


def test_phase_fractions_obey_the_lever_rule(pbsn):
    pts = np.array([[0.5, 400.0], [0.3, 500.0], [0.85, 470.0], [0.1, 550.0]])
    frac, comp = pbsn.fractions(pts)
    np.testing.assert_allclose(frac.sum(axis=1), 1.0, atol=1e-8)
    # mass balance of the solute: sum_j f_j x_j = x
    np.testing.assert_allclose(np.nansum(frac * comp, axis=1), pts[:, 0], atol=1e-6)
    assert (frac > 0).sum(axis=1).tolist() == [2, 2, 2, 1]


def test_equilibrium_dataset_and_grid_agree(pbsn):
    ds = pbsn.equilibrium([[0.5, 400.0]])
    frac, _ = pbsn.fractions_grid([0.5], [400.0])
    np.testing.assert_allclose(ds.fraction.values[0], frac[0, 0], atol=1e-8)
    assert ds.label.values[0] == "BCT_A5+FCC_A1"


def test_free_parameters_shift_the_diagram_and_default_to_the_database(pbsn):
    free = Calphad.pbsn(free_parameters=[{"phase": "LIQUID", "order": 0}])
    assert free.eutectic() == pytest.approx(pbsn.eutectic(), abs=0.1)
    # a more repulsive liquid melts higher
    assert free.eutectic({"L0_LIQUID": 2000.0})[0] > pbsn.eutectic()[0] + 5.0


@pytest.mark.parametrize("kwargs, match", [
    ({"database": "no/such/file.tdb", "components": ["PB", "SN"]}, "neither a built-in"),
    ({"database": "pbsn", "components": ["PB", "ZN"]}, "components: 'ZN'"),
    ({"database": "pbsn", "temperature": [100.0, 500.0]}, "outside the range"),
    ({"database": "pbsn", "phases": ["HCP_A3"]}, "phase 'HCP_A3'"),
    ({"database": "pbsn", "free_parameters": [{"phase": "GAS", "order": 0}]}, "free parameter"),
    ({"database": "pbsn", "free_parameters": [{"phase": "LIQUID", "order": 0}], "parameters": {"L9": 1.0}}, "'L9'"),
])
def test_bad_calphad_input_names_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Calphad(**kwargs)


def test_unparsable_database_and_out_of_range_point(tmp_path, pbsn):
    bad = tmp_path / "bad.tdb"
    bad.write_text("PHASE LIQUID % 1 1.0 !\n PARAMETER G(LIQUID,XX;0) 298.15 +1*; 6000 N !\nthis is not a TDB\n")
    with pytest.raises(ValueError, match="does not parse|no phase|not in database"):
        Calphad(str(bad), ["PB", "SN"])
    with pytest.raises(ValueError, match="axis 'T'"):
        pbsn.sample([0.5, 5000.0], 1, 0)
    with pytest.raises(ValueError, match="mole fraction"):
        pbsn.sample([1.5, 400.0], 1, 0)


def test_experiment_misses_minor_phases_and_flips_at_its_rate(pbsn):
    point = [0.27, 460.0]  # about 3% liquid beside FCC
    frac, _ = pbsn.fractions([point])
    assert 0.01 < frac[0, pbsn.db_phases.index("LIQUID")] < 0.05
    sees = Experiment(pbsn, detection_limit=0.0).sample(point, 1, 0).observables["label"][0]
    misses = Experiment(pbsn, detection_limit=0.05).sample(point, 1, 0).observables["label"][0]
    assert pbsn.phases[int(sees)] == "FCC_A1+LIQUID" and pbsn.phases[int(misses)] == "FCC_A1"
    n, flip = 4000, 0.2
    s = Experiment(pbsn, flip=flip, cost=2.5).sample([0.5, 400.0], n, 1)
    wrong = np.mean(s.observables["label"] != pbsn.phases.index("BCT_A5+FCC_A1"))
    assert abs(wrong - flip) < 4 * np.sqrt(flip * (1 - flip) / n)  # binomial error bar
    assert np.all(s.observables["cost"] == 2.5)
    with pytest.raises(ValueError, match="flip"):
        Experiment(pbsn, flip=1.5)
    with pytest.raises(ValueError, match="detection_limit"):
        Experiment(pbsn, detection_limit=-0.1)


def test_xrd_labeler_recovers_fractions_and_assemblages(pbsn):
    exp = Experiment(pbsn, xrd=True, xrd_noise=0.01)
    lab = XRDLabeler(pbsn.db_phases, pbsn.phases)
    for point in ([0.5, 400.0], [0.1, 600.0], [0.3, 500.0], [0.99, 420.0]):
        s = exp.sample(point, 3, seed=2)
        truth, _ = pbsn.fractions([point])
        np.testing.assert_allclose(lab.fractions(s.configurations).mean(axis=0), truth[0], atol=0.03)
        assert pbsn.phases[int(np.argmax(lab(s, point)))] == pbsn.reference_phase([point])[0]


@pytest.mark.slow  # about two minutes of pycalphad refits: `make test-slow`; benchmarks/bench_closed_loop.py measures the same
def test_theory_in_the_loop_recovers_perturbed_liquid_parameters(tmp_path):
    """Start from Pb-Sn with its liquid L0, L1 perturbed by +1500 and -700 J/mol; experiments on the true
    database; the refit offsets (truth: 0) must lie within 2.5 of their reported standard deviations."""
    truth = Calphad.pbsn()
    start = Calphad.pbsn(free_parameters=[{"phase": "LIQUID", "order": 0}, {"phase": "LIQUID", "order": 1}],
                         parameters={"L0_LIQUID": 1500.0, "L1_LIQUID": -700.0})
    theory = CalphadTheory(start, detection_limit=0.03, flip=0.02)
    exp = Experiment(truth, detection_limit=0.03)
    result = pm.Campaign(exp, executor=pm.SerialExecutor(), batch_size=4, seed=0, theory=theory,
                         store=tmp_path / "run").run(budget=32, progress=False)
    for name, perturbation in (("L0_LIQUID", 1500.0), ("L1_LIQUID", -700.0)):
        est, sd = theory.params_[name], theory.sd_[name]
        assert abs(est) <= 2.5 * sd, (name, est, sd)
        assert sd < abs(perturbation) / 2  # the data, not the prior, decide
    t_e, _ = theory.fitted_model().eutectic()
    assert abs(t_e - truth.eutectic()[0]) < 3.0
    assert (result.path / "theory.json").exists()
    # the theory prior is in the saved map
    assert any("field" in p for p in pm.maps.load_map(result.path / "map.json").priors.to_list())


def test_theory_posterior_matches_a_brute_force_grid_on_a_stepped_likelihood():
    """One free parameter, 32 quasi-random experiments labelled by the true diagram: the likelihood is stepped
    (detection thresholds), so its curvature at the optimum says nothing of its width. The importance-sampled
    posterior mean and sd must match a 10 J/mol grid over +-600 J/mol; tolerances from the draws' effective
    sample size (mean: 0.5 sd is > 2.5 Monte Carlo errors at ESS >= 25; sd: 1/sqrt(2 ESS) ~ 0.14, so 40%)."""
    from scipy.stats import qmc

    truth = Calphad.pbsn()
    lo = np.array([truth.space[n].low for n in truth.space.names])
    hi = np.array([truth.space[n].high for n in truth.space.names])
    pts = lo + qmc.Sobol(2, seed=3).random(32) * (hi - lo)
    labels = np.array([truth.phases.index(p) for p in truth.reference_phase(pts)])
    start = Calphad.pbsn(free_parameters=[{"phase": "LIQUID", "order": 0}], parameters={"L0_LIQUID": 1500.0})
    theory = CalphadTheory(start, detection_limit=0.03, flip=0.02).fit(pts, labels)
    grid = np.linspace(-600.0, 600.0, 121)
    nlp = np.array([theory.negative_log_posterior(np.array([g]), pts, labels) for g in grid])
    steps = np.abs(np.diff(nlp))
    assert steps.max() > 3.0  # the likelihood really is stepped on this data
    post = np.exp(-(nlp - nlp.min()))
    post /= post.sum()
    mean = post @ grid
    sd = np.sqrt(post @ (grid - mean) ** 2)
    assert theory.ess_ >= 25  # the tolerances above are derived at this ESS
    assert abs(theory.params_["L0_LIQUID"] - mean) < 0.5 * sd, (theory.params_, mean, sd)
    assert 0.6 < theory.sd_["L0_LIQUID"] / sd < 1.4, (theory.sd_, sd)


def test_a_resumed_theory_run_equals_the_uninterrupted_one(tmp_path):
    """The refit is a function of the ledger alone: stop after the second batch, resume to 16, compare."""

    def campaign(store):
        start = Calphad.pbsn(free_parameters=[{"phase": "LIQUID", "order": 0}], parameters={"L0_LIQUID": 1500.0})
        theory = CalphadTheory(start, detection_limit=0.03, flip=0.02, grid_size=15, n_importance=16, seed=1)
        return pm.Campaign(Experiment(Calphad.pbsn(), detection_limit=0.03), executor=pm.SerialExecutor(),
                           batch_size=4, seed=3, theory=theory, store=store)

    full = campaign(tmp_path / "full").run(budget=16, progress=False)
    campaign(tmp_path / "part").run(budget=16, progress=False, callbacks=[lambda c, info: info["batch"] == 1])
    resumed = pm.Campaign.resume(tmp_path / "part", executor=pm.SerialExecutor()).run(budget=16, progress=False)
    np.testing.assert_array_equal(full.points, resumed.points)
    np.testing.assert_allclose(full.phase_map["proba"], resumed.phase_map["proba"])
    a, b = (read_theory(r.path) for r in (full, resumed))
    assert a["parameters"] == pytest.approx(b["parameters"]) and a["n_evaluations"] == b["n_evaluations"] == 16
    # reading the run back (no system) keeps the theory's prior in the map
    np.testing.assert_allclose(load_run(full.path).phase_map["proba"], full.phase_map["proba"])


def test_cli_calphad_errors_exit_2(tmp_path):
    garbage = tmp_path / "garbage.tdb"
    garbage.write_text("root:x:0:0:root\nbin:x:1:1:bin\n")  # the parser's message quotes this on extra lines
    for args, word in ((["calphad:no_such.tdb"], "neither a built-in"),
                       ([f"calphad:{garbage}"], "does not parse as a TDB file at line 1"),
                       (["calphad:pbsn", "--components", "PB,ZN"], "ZN"),
                       (["calphad:pbsn", "--experiment", "--free", "LIQUID"], "--free")):
        r = subprocess.run([sys.executable, "-m", "phasemapper", "map", *args, "--budget", "4",
                            "--out", str(tmp_path / word.strip("-"))], capture_output=True, text=True)
        assert r.returncode == 2, r.stderr
        assert word in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_pickled_system_with_free_parameters_computes_the_same_equilibria():
    # a process pool pickles the system after it may have been used: the offsets must not be applied twice
    import pickle

    system = Calphad.pbsn(free_parameters=[{"phase": "LIQUID", "order": 0}], parameters={"L0_LIQUID": 2000.0})
    point = [[0.3, 500.0]]
    before, _ = system.fractions(point)
    after, _ = pickle.loads(pickle.dumps(system)).fractions(point)
    np.testing.assert_allclose(after, before, atol=1e-10)
    assert before[0, system.db_phases.index("LIQUID")] > 0  # the offset matters at this point
