import os
import signal
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr

import phasemapper as pm
from phasemapper.systems import FunctionSystem, Ising2D

from lock_holder import held_by_another_process

POINTS = {"T": [1.8, 2.3, 3.0]}


def _scan(executor, seed=7, system=None):
    return pm.scan(system or Ising2D(L=8), POINTS, n_samples=40, seed=seed, executor=executor, progress=False)


def test_layout_coords_and_provenance():
    ds = _scan(pm.SerialExecutor())
    assert ds.configuration.dims == ("point", "sample", "y", "x")
    assert ds.configuration.dtype == np.int8
    assert ds.energy.dims == ("point", "sample") and ds.magnetization.dims == ("point", "sample")
    np.testing.assert_allclose(ds["T"].values, POINTS["T"])
    np.testing.assert_allclose(ds["h"].values, 0.0)  # optional axis filled with its default
    assert set(np.unique(ds.configuration.values)) <= {-1, 1}
    # per-site observables are consistent with the stored configurations
    np.testing.assert_allclose(ds.magnetization.values, ds.configuration.mean(("y", "x")).values)
    assert (ds.steps_between_samples >= 1).all() and (ds.autocorrelation_time >= 1).all()
    assert ds.attrs["system"] == "ising2d" and ds.attrs["seed"] == 7
    assert '"L": 8' in ds.attrs["system_params"] and "numba" in ds.attrs["package_versions"]


def test_same_seed_same_scan_serial_and_process_pool():
    serial = _scan(pm.SerialExecutor())
    with ProcessPoolExecutor(2) as pool:
        pooled = _scan(pool)
    threaded = _scan(ThreadPoolExecutor(2))
    for other in (pooled, threaded):
        xr.testing.assert_identical(serial.drop_attrs(), other.drop_attrs())
    assert not np.array_equal(serial.configuration.values, _scan(pm.SerialExecutor(), seed=8).configuration.values)


def test_default_executor_matches_serial():
    np.testing.assert_array_equal(_scan(None).configuration.values, _scan(pm.SerialExecutor()).configuration.values)


def test_netcdf_roundtrip(tmp_path):
    ds = _scan(pm.SerialExecutor())
    path = pm.save(ds, tmp_path / "scan.nc")
    xr.testing.assert_identical(pm.load(path), ds)
    multi = pm.save({8: ds, 16: ds}, tmp_path / "multi.nc")
    loaded = pm.load(multi)
    assert sorted(loaded) == [8, 16]  # integer keys come back as integers
    xr.testing.assert_identical(loaded[8], ds)


def test_points_as_array_and_dict_agree():
    a = pm.scan(Ising2D(L=4), np.array([[2.0, 0.1]]), 5, seed=1, executor=pm.SerialExecutor(), progress=False)
    b = pm.scan(Ising2D(L=4), {"T": [2.0], "h": [0.1]}, 5, seed=1, executor=pm.SerialExecutor(), progress=False)
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())


@pytest.mark.parametrize(
    "points, match",
    [
        ({"T": [2.0, -1.0]}, "'T'.*> 0"),
        ({"T": [2.0], "q": [1.0]}, "unknown axis 'q'"),
        ({"h": [0.0]}, "required axis 'T'"),
        (np.zeros((2, 3)), "3 columns"),
    ],
)
def test_bad_points(points, match):
    with pytest.raises(ValueError, match=match):
        pm.scan(Ising2D(L=4), points, 5, seed=0, executor=pm.SerialExecutor(), progress=False)


def test_bad_n_samples_and_paths(tmp_path):
    with pytest.raises(ValueError, match="n_samples"):
        pm.scan(Ising2D(L=4), {"T": [2.0]}, 0, seed=0, executor=pm.SerialExecutor(), progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        pm.load(tmp_path / "missing.nc")
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(ValueError, match="not a readable netCDF"):
        pm.load(tmp_path / "junk.nc")
    with pytest.raises(ValueError, match=r"\.nc"):
        pm.save(xr.Dataset(), tmp_path / "scan.pickle")
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        pm.scan(Ising2D(L=4), {"T": [2.0]}, 5, seed=0, executor="pool", progress=False)
    with pytest.raises(TypeError, match="executor must be"):
        pm.Campaign(Ising2D(L=4), executor="pool")


def test_scan_sizes_in_one_pool_equals_one_scan_per_size():
    """All sizes' points submitted to one process pool (largest first) give, per size, the scan
    that ``scan`` gives alone in this process: the same samples, metadata and seed. The
    ``while_sampling`` hook runs once and changes nothing."""
    T = {"T": [1.9, 2.3, 2.7]}
    systems = [Ising2D(L=4), Ising2D(L=8)]
    calls = []
    with ProcessPoolExecutor(2) as pool:
        together = pm.scan_sizes(systems, T, 30, seed=5, executor=pool, progress=False,
                                 while_sampling=lambda: calls.append(len(calls)))
    assert calls == [0]
    for system, ds in zip(systems, together):
        alone = pm.scan(system, T, 30, seed=5, executor=pm.SerialExecutor(), progress=False)
        xr.testing.assert_identical(ds.drop_attrs(), alone.drop_attrs())
        assert ds.attrs["size"] == system.L and ds.attrs["seed"] == 5


def test_spins_are_stored_as_bits_and_load_exactly(tmp_path):
    """+-1 configurations go to disk one bit per site and come back identical; configurations with
    other values (Blume-Capel's vacancies) are stored as they are."""
    from phasemapper.systems import BlumeCapel2D

    ising = pm.scan(Ising2D(L=16), {"T": [2.0, 2.5]}, 200, seed=1, executor=pm.SerialExecutor(), progress=False)
    packed = pm.save(ising, tmp_path / "ising.nc")
    xr.testing.assert_identical(pm.load(packed), ising)
    with xr.open_dataset(packed) as on_disk:
        assert on_disk["configuration"].dims == ("point", "sample", "configuration_byte")
        assert on_disk["configuration"].nbytes * 8 == ising["configuration"].nbytes
    bc = pm.scan(BlumeCapel2D(L=8), {"T": [1.0, 2.0], "D": [1.0, 1.0]}, 50, seed=1, executor=pm.SerialExecutor(),
                 progress=False)
    assert (bc.configuration.values == 0).any()
    xr.testing.assert_identical(pm.load(pm.save({8: bc}, tmp_path / "bc.nc"))[8], bc)


@pytest.mark.parametrize("values, dtype", [((-1, 1), np.int8), ((0, 1), np.int8), ((3, 7), np.uint16), ((5, 5), np.int64),
                                           ((-100, 100), np.int8), ((0, 1000), np.int16), ((0, 2**64 - 1), np.uint64),
                                           ((-2**63, 2**63 - 1), np.int64)])
def test_two_valued_sites_travel_as_bits_and_unpack_exactly(values, dtype):
    """Sites taking two integer values (spins, occupations, a constant) are packed one bit per site,
    whatever the two values, and unpack to the very same array; anything else is left as it is."""
    from phasemapper._bits import PackedSites, pack_sites

    rng = np.random.default_rng(0)
    a = np.asarray(values, dtype=dtype)[rng.integers(0, 2, size=(7, 5, 3))]
    packed = pack_sites(a)
    assert isinstance(packed, PackedSites) and packed.bits.nbytes == 7 * 2  # 15 sites -> 2 bytes per sample
    out = np.full_like(a, 99)
    packed.unpack_into(out)
    np.testing.assert_array_equal(out, a)
    for other in (np.array([[-1, 0, 1]], np.int8), a.astype(float), a > a.min()):
        assert pack_sites(other) is other
    with pytest.raises(ValueError, match="shape"):
        packed.unpack_into(np.empty((7, 15), dtype))


def test_pool_workers_send_two_valued_sites_as_bits_and_the_scan_is_unchanged():
    """Through a process pool, Ising spins and TASEP occupations come back as bits and Blume-Capel's
    three-valued sites as they are; every scan equals the one sampled in this process."""
    from phasemapper._bits import PackedSites
    from phasemapper._scan import _sample_point
    from phasemapper.systems import TASEP, BlumeCapel2D

    shipped = _sample_point(Ising2D(L=8), np.array([2.0, 0.0]), 16, np.random.SeedSequence(0), pack=True)[0]
    assert isinstance(shipped, PackedSites) and shipped.bits.nbytes * 8 == 16 * 64
    cases = [(Ising2D(L=8), POINTS), (TASEP(L=20), {"alpha": [0.2, 0.8], "beta": [0.6, 0.3]}),
             (BlumeCapel2D(L=6), {"T": [0.8, 2.0], "D": [1.0, 1.0]})]
    with ProcessPoolExecutor(2) as pool:
        for system, points in cases:
            pooled = pm.scan(system, points, 30, seed=3, executor=pool, progress=False)
            serial = pm.scan(system, points, 30, seed=3, executor=pm.SerialExecutor(), progress=False)
            xr.testing.assert_identical(pooled.drop_attrs(), serial.drop_attrs())
    assert (serial.configuration.values == 0).any()  # Blume-Capel's vacancies: not two-valued


class _FailsAt(Ising2D):
    """Ising2D whose sampling raises at the temperatures in ``fail_at``; counts its calls (in this process)."""

    calls: list = []
    context_params = ("fail_at",)  # where the node fails is not the system's: a scan resumes across it

    def __init__(self, fail_at=(), **kwargs):
        super().__init__(**kwargs)
        self.fail_at = set(fail_at)

    def sample(self, point, n_samples, seed):
        _FailsAt.calls.append(float(point[0]))
        if float(point[0]) in self.fail_at:
            raise RuntimeError("the node went away")
        return super().sample(point, n_samples, seed)


def test_a_point_that_keeps_failing_is_left_out_reported_and_sampled_again_on_resume(tmp_path):
    points = {"T": [1.8, 2.0, 2.2, 2.4, 2.6, 2.8]}
    kwargs = dict(n_samples=30, seed=3, executor=pm.SerialExecutor(), progress=False, checkpoint=tmp_path / "ck")
    _FailsAt.calls = []
    with pytest.warns(pm.PhaseMapperWarning, match="1 of 6 evaluations failed; most common: RuntimeError: the node"):
        partial = pm.scan(_FailsAt(fail_at={2.4}, L=8), points, **kwargs)
    assert _FailsAt.calls == [1.8, 2.0, 2.2, 2.4, 2.6, 2.8, 2.4, 2.4]  # retried at the back of the queue, 3 attempts
    assert partial["T"].values.tolist() == [1.8, 2.0, 2.2, 2.6, 2.8] and partial.attrs["n_failed"] == 1
    table = pm.failures(partial)
    assert table["T"].tolist() == [2.4] and table["attempts"].tolist() == [3]
    assert table["error"].tolist() == ["RuntimeError: the node went away"]
    _FailsAt.calls = []
    resumed = pm.scan(_FailsAt(L=8), points, **kwargs)
    assert _FailsAt.calls == [2.4]  # only the failed point is sampled again
    assert resumed.attrs["resumed_points"] == 5 and "failures" not in resumed.attrs
    whole = pm.scan(Ising2D(L=8), points, n_samples=30, seed=3, executor=pm.SerialExecutor(), progress=False)
    xr.testing.assert_identical(resumed.drop_attrs(), whole.drop_attrs())


def test_a_scan_whose_first_points_all_fail_stops_with_each_error_counted(tmp_path):
    points = {"T": [1.8, 2.0, 2.2, 2.4, 2.6, 2.8]}
    _FailsAt.calls = []
    with pytest.raises(pm.EvaluationError) as err:
        pm.scan(_FailsAt(fail_at=set(points["T"]), L=8), points, 10, seed=3, executor=pm.SerialExecutor(),
                progress=False, max_attempts=2)
    assert _FailsAt.calls == points["T"] * 2  # each point twice, the retries at the back of the queue
    assert "6 of 6 evaluations failed:\n  6 x RuntimeError: the node went away (first at L=8, T=1.8, h=0)" in str(err.value)
    assert [f.attempts for f in err.value.failures] == [2] * 6
    space = pm.Space([pm.Axis("x", 0, 1)])
    with pytest.raises(pm.EvaluationError, match=r"\d+ of 20 evaluations failed:\n  \d+ x ValueError: function: fn raised "
                       r"ZeroDivisionError: division by zero \(first at x="):  # a lambda on the default pool
        pm.scan(FunctionSystem(lambda p: 1 / 0, space, phases=["a"]), {"x": np.linspace(0, 1, 20)}, 1, seed=0,
                progress=False)


def test_a_checkpoint_of_another_scan_is_refused(tmp_path):
    kwargs = dict(seed=3, executor=pm.SerialExecutor(), progress=False, checkpoint=tmp_path)
    pm.scan(Ising2D(L=4), {"T": [2.0, 3.0]}, 5, **kwargs)
    with pytest.raises(ValueError, match="holds another scan .*n_samples"):
        pm.scan(Ising2D(L=4), {"T": [2.0, 3.0]}, 6, **kwargs)
    with pytest.raises(ValueError, match="holds another scan .*points"):
        pm.scan(Ising2D(L=4), {"T": [2.0, 3.5]}, 5, **kwargs)
    with pytest.raises(ValueError, match="holds another scan .*systems"):
        pm.scan(Ising2D(L=6), {"T": [2.0, 3.0]}, 5, **kwargs)
    with pytest.raises(ValueError, match="explicit seed"):
        pm.scan(Ising2D(L=4), {"T": [2.0, 3.0]}, 5, **{**kwargs, "seed": None})


def test_a_damaged_checkpoint_point_is_sampled_again_and_a_damaged_spec_refused(tmp_path):
    # a kill cannot leave a damaged point file (each is renamed into place whole), but a full or failing disk can:
    # that point is sampled again from its own seed, so the scan still equals an uninterrupted one
    points = {"T": [2.0, 2.3, 2.6]}
    kwargs = dict(n_samples=20, seed=1, executor=pm.SerialExecutor(), progress=False, checkpoint=tmp_path / "ck")
    whole = pm.scan(Ising2D(L=8), points, **{**kwargs, "checkpoint": None})
    pm.scan(Ising2D(L=8), points, **kwargs)
    damaged = tmp_path / "ck" / "s0" / "p0000001.npz"
    damaged.write_bytes(damaged.read_bytes()[:100])
    _FailsAt.calls = []
    with pytest.warns(RuntimeWarning, match="p0000001.npz' is damaged"):
        resumed = pm.scan(_FailsAt(L=8), points, **kwargs)
    assert _FailsAt.calls == [2.3] and resumed.attrs["resumed_points"] == 2
    xr.testing.assert_identical(resumed.drop_attrs(), whole.drop_attrs())
    (tmp_path / "ck" / "spec.json").write_text("{")
    with pytest.raises(ValueError, match="spec.json' is not valid JSON"):
        pm.scan(Ising2D(L=8), points, **kwargs)


def test_a_checkpoint_is_written_by_one_scan_at_a_time(tmp_path):
    # two scans into one checkpoint (the same command typed in two terminals) used to race on the point files and
    # the second died on a directory the first had removed; now the second is refused while the first runs
    kwargs = dict(n_samples=5, seed=1, executor=pm.SerialExecutor(), progress=False, checkpoint=tmp_path / "ck")
    pm.scan(Ising2D(L=4), {"T": [2.0, 3.0]}, **kwargs)
    with held_by_another_process(tmp_path / "ck", "scan.lock") as pid:
        with pytest.raises(ValueError, match=f"'.*ck' is being written by process {pid}; wait"):
            pm.scan(Ising2D(L=4), {"T": [2.0, 3.0]}, **kwargs)
    assert pm.scan(Ising2D(L=4), {"T": [2.0, 3.0]}, **kwargs).attrs["resumed_points"] == 2
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["s0", "spec.json"]  # no lock file left


class _DiesAt(Ising2D):
    """Ising2D whose worker process is killed (SIGKILL, as by the OOM killer) at ``T = 2.4``, at most ``times`` times."""

    def __init__(self, marks, times, **kwargs):
        super().__init__(**kwargs)
        self.marks, self.times = str(marks), times

    def sample(self, point, n_samples, seed):
        if float(point[0]) == 2.4 and len(os.listdir(self.marks)) < self.times:
            open(os.path.join(self.marks, str(len(os.listdir(self.marks)))), "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().sample(point, n_samples, seed)


def test_a_dead_worker_is_replaced_and_its_points_sampled_again(tmp_path):
    points = {"T": [1.8, 2.0, 2.2, 2.4, 2.6, 2.8]}
    (tmp_path / "once").mkdir()
    ds = pm.scan(_DiesAt(tmp_path / "once", times=1, L=8), points, 30, seed=3, progress=False)
    whole = pm.scan(Ising2D(L=8), points, 30, seed=3, executor=pm.SerialExecutor(), progress=False)
    xr.testing.assert_identical(ds.drop_attrs(), whole.drop_attrs())  # same seeds: the same samples
    assert ds.attrs["worker_restarts"] >= 1
    (tmp_path / "always").mkdir()
    with pytest.warns(pm.PhaseMapperWarning, match="1 of 6 evaluations failed; most common: BrokenProcessPool: the worker process died"):
        ds = pm.scan(_DiesAt(tmp_path / "always", times=99, L=8), points, 30, seed=3, progress=False, max_attempts=2)
    assert 2.4 not in ds["T"].values and len(ds["T"]) == 5  # the culprit alone is charged, the others are kept
    assert pm.failures(ds)["attempts"].tolist() == [2]
