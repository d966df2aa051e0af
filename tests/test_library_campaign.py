"""Libraries: the Library system, the Pool planner, and LibraryCampaign (regions, priors, failures, resume)."""

import json

import numpy as np
import pytest
from test_spectra_labeler import TT, synthetic_library

import phasemapper as pm
import phasemapper.maps
from phasemapper.datasets import fegapd
from phasemapper.io import library_dataset
from phasemapper.planners import Boundary, Pool, Random, Sobol
from phasemapper.systems import Library


@pytest.fixture(scope="module")
def fegapd_library():
    return Library(fegapd())


@pytest.fixture(scope="module")
def small_library():
    comp, xrd, region = synthetic_library(n_edge=10)
    return Library(library_dataset(comp, xrd, TT, elements=["Fe", "Ga", "Pd"], properties={"truth": region}))


def test_a_library_returns_each_samples_pattern_and_properties(fegapd_library):
    lib, ds = fegapd_library, fegapd_library.dataset
    assert lib.space == pm.Simplex(["Fe", "Ga", "Pd"]) and len(lib.candidates) == 278
    s = lib.sample(lib.candidates[17], 2, seed=0)
    np.testing.assert_array_equal(s.configurations, np.repeat(ds["xrd"].values[17:18], 2, axis=0))
    assert s.observables["magnetization"][0] == pytest.approx(float(ds["magnetization"].values[17]))
    assert s.observables["sample"].tolist() == [17.0, 17.0]
    with pytest.raises(ValueError, match="not a sample of the library.*nearest is sample"):
        lib.sample([0.5, 0.3, 0.2], 1, seed=0)
    with pytest.raises(ValueError, match="'xrd'"):
        Library(ds.drop_vars("xrd"))


def test_pool_asks_each_candidate_once_and_only_candidates(small_library):
    space, cands = small_library.space, small_library.candidates
    for inner in (Sobol(space, seed=1), Random(space, seed=1), Boundary(space, ["a", "b"], n_initial=8, seed=1)):
        pool = Pool(inner, cands)
        asked = []
        while True:
            pts = pool.ask(7)
            if not len(pts):
                break
            small_library.index_of(pts)  # every asked point is a candidate
            asked.extend(map(tuple, pts))
            pool.tell(pts, (pts[:, 0] > 0.5).astype(int))
        assert len(asked) == len(cands) == len(set(asked))
    with pytest.raises(ValueError, match="same point is given twice"):
        Pool(Sobol(space), np.vstack([cands[:2], cands[:1]]))


def test_random_order_of_a_pool_is_uniform_over_the_samples(small_library):
    # the first draw of 1000 seeds: each of the 55 samples about 1000/55 = 18.2 times; chi-square test
    from scipy.stats import chisquare

    cands = small_library.candidates
    first = [small_library.index_of(Pool(Random(small_library.space, seed=s), cands).ask(1))[0] for s in range(1000)]
    counts = np.bincount(first, minlength=len(cands))
    assert chisquare(counts).pvalue > 0.001


def test_a_campaign_over_a_synthetic_library_finds_its_regions(small_library):
    from sklearn.metrics import adjusted_rand_score

    result = pm.LibraryCampaign(small_library, planner="entropy", reference="truth", seed=0).run(budget=40)
    ds = result.dataset
    assert result.n_measured == 40 and len(set(ds["order"].values[ds["measured"].values])) == 40
    assert ds.sizes["region"] == 3
    assert adjusted_rand_score(small_library.dataset["truth"].values, ds["label"].values) > 0.8
    assert ds["fmi"].values[-1] == pytest.approx(float(result.history["fmi"][-1]))
    assert list(result.history["n_measured"].values) == [0, 8, 16, 24, 32, 40]


def test_a_region_prior_links_the_samples_inside_it_and_thins_the_start(fegapd_library):
    dft = fegapd_library.dataset["dft_region"].values
    inside = fegapd_library.candidates[dft == 1]
    from scipy.spatial import ConvexHull

    hull = inside[ConvexHull(fegapd_library.space.to_unit(inside)).vertices]
    prior = [{"region": hull.tolist(), "phase": "bcc", "certainty": 0.8}]
    plain = pm.LibraryCampaign(fegapd_library, planner="entropy")
    run = pm.LibraryCampaign(fegapd_library, planner="entropy", priors=prior)
    assert run._initial_count() < plain._initial_count() == plain.n_initial
    comp = fegapd_library.candidates
    inside = run._inside_region_priors(comp)[0][1]
    assert inside.sum() >= 100
    # the patterns' clustering bears the prior out (one region inside) or contradicts it (half and half):
    # posterior c B / (c B + 1 - c); Bayes factor B = P(m | Binomial(n, e), e ~ U[0, 0.1]) / P(m | uniform),
    # here summed exactly over a fine grid of e
    from scipy.stats import binom

    def posterior(m, n, c=0.8):
        e = (np.arange(20000) + 0.5) / 20000 * 0.1
        factor = binom.pmf(m, n, e).mean() * (n + 1)
        return c * factor / (c * factor + 1 - c)

    n = int(inside.sum())
    one, halves = np.zeros(len(comp), dtype=int), np.arange(len(comp)) % 2
    minority = n - np.bincount(halves[inside]).max()
    expected = posterior(minority, n)
    assert run._prior_weights(comp, one)[0] == pytest.approx(posterior(0, n), rel=1e-4) and posterior(0, n) > 0.97
    assert run._prior_weights(comp, halves)[0] == pytest.approx(expected, rel=1e-3, abs=1e-300) and expected < 1e-6
    links = run._links(comp[:60], [0.8])
    assert links is not None and set(np.unique(links)) == {0.0, 0.8}
    with pytest.raises(ValueError, match="prior 0.*certainty"):
        pm.LibraryCampaign(fegapd_library, priors=[{"region": hull.tolist(), "phase": "bcc"}])
    with pytest.raises(ValueError, match="composition"):
        pm.LibraryCampaign(
            fegapd_library,
            priors=[{"region": [[1, 0, 0], [0.5, 0.6, 0], [0.5, 0, 0.5]], "phase": "bcc", "certainty": 0.5}],
        )


class FlakyLibrary(Library):
    """Fails for good on samples whose index is divisible by 7; fails once on even ones."""

    def __init__(self, dataset):
        super().__init__(dataset)
        self.calls = {}

    def sample(self, point, n_samples, seed):
        i = int(self.index_of(np.atleast_2d(point))[0])
        self.calls[i] = self.calls.get(i, 0) + 1
        if i % 7 == 0 or (i % 2 == 0 and self.calls[i] == 1):
            raise RuntimeError(f"beam lost at sample {i}")
        return super().sample(point, n_samples, seed)


def test_failed_measurements_are_retried_counted_warned_and_never_asked_again(small_library):
    lib = FlakyLibrary(small_library.dataset)
    with pytest.warns(RuntimeWarning, match="could not be measured"):
        result = pm.LibraryCampaign(lib, planner="random", seed=3).run(budget=30)
    failed = json.loads(result.dataset.attrs["failed"])
    assert result.n_failed == len(failed) > 0 and all(int(i) % 7 == 0 for i in failed)
    assert all(lib.calls[int(i)] == 3 for i in failed)  # max_attempts
    assert result.n_measured == 30 and not any(result.dataset["measured"].values[[int(i) for i in failed]])
    assert int(result.history["n_failed"].values[-1]) == result.n_failed


def test_a_killed_run_resumes_with_nothing_lost_or_measured_twice(small_library, tmp_path):
    whole = pm.LibraryCampaign(small_library, planner="boundary", seed=2).run(budget=32)

    class Killed(Exception):
        pass

    run = pm.LibraryCampaign(small_library, planner="boundary", seed=2, store=tmp_path / "run")
    original = run._measure
    batches = []

    def measure_then_die(indices):
        batches.append(list(indices))
        if len(batches) == 3:
            raise Killed  # killed while measuring the third batch
        original(indices)

    run._measure = measure_then_die
    with pytest.raises(Killed):
        run.run(budget=32)
    resumed = pm.LibraryCampaign(small_library, planner="boundary", seed=2, store=tmp_path / "run")
    assert len(resumed.measured) == 16
    result = resumed.run(budget=32)
    np.testing.assert_array_equal(result.dataset["order"].values, whole.dataset["order"].values)
    assert (tmp_path / "run" / "library_map.nc").exists()
    with pytest.raises(ValueError, match="other settings"):
        pm.LibraryCampaign(small_library, planner="entropy", seed=2, store=tmp_path / "run")


def test_bad_settings_are_named(fegapd_library):
    with pytest.raises(ValueError, match="planner"):
        pm.LibraryCampaign(fegapd_library, planner="refine")
    with pytest.raises(ValueError, match="reference"):
        pm.LibraryCampaign(fegapd_library, reference="no_such_variable")
    with pytest.raises(TypeError, match="library"):
        pm.LibraryCampaign(fegapd_library.dataset)
    with pytest.raises(ValueError, match="batch_size"):
        pm.LibraryCampaign(fegapd_library, batch_size=0)


def test_ternary_plots_render_on_given_axes(small_library):
    import mpltern  # noqa: F401
    from matplotlib.figure import Figure

    from phasemapper import plot

    result = pm.LibraryCampaign(small_library, planner="entropy", seed=0).run(budget=24)
    fig = Figure(figsize=(19, 4.6))
    axes = [
        fig.add_subplot(1, 4, 1, projection="ternary"),
        fig.add_subplot(1, 4, 2, projection="ternary"),
        fig.add_subplot(1, 4, 3),
        fig.add_subplot(1, 4, 4),
    ]
    assert plot.plot_library(result, axes=axes) is axes
    assert axes[0].get_title().startswith("label") and axes[2].get_title() == "end members (NMF)"
    assert len(axes[0].collections) >= 2  # the samples, the measured ones' rings
    with pytest.raises(ValueError, match="projection='ternary'"):
        plot.plot_ternary(result, ax=Figure().subplots())
    space = small_library.space
    m = pm.maps.GPClassifierMap(space, ["a", "b"]).fit(space.sobol(32, seed=0), np.arange(32) % 2)
    ax = Figure().add_subplot(projection="ternary")
    plot.plot_map(m.phase_map(21), ax=ax)
    assert ax.get_title() == "label" and ax.get_llabel() == "Fe"
