"""Executors: the default process pool and an in-process serial executor."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

__all__ = ["SerialExecutor", "ProcessPool", "default_executor", "worker_count", "dask_executor", "check_executor"]


class SerialExecutor(Executor):
    """A ``concurrent.futures.Executor`` that runs each call immediately in this process.

    Examples
    --------
    >>> from phasemapper import SerialExecutor
    >>> SerialExecutor().submit(pow, 2, 10).result()
    1024
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            future.set_exception(exc)
        return future


def check_executor(executor: Any) -> None:
    """Raise ``TypeError`` unless ``executor`` is ``None`` or a ``concurrent.futures.Executor``.

    Examples
    --------
    >>> check_executor(SerialExecutor())
    >>> check_executor("pool")
    Traceback (most recent call last):
    ...
    TypeError: executor must be a concurrent.futures.Executor (or None for a process pool), got str
    """
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            "executor must be a concurrent.futures.Executor (or None for a process pool), "
            f"got {type(executor).__name__}"
        )


def check_timeout_executor(timeout: float | None, executor: Executor | None) -> None:
    """Refuse a ``timeout`` on a :class:`SerialExecutor`: it runs each call in this process, where nothing can
    stop it, so a call that hangs would hang the run for ever.

    Examples
    --------
    >>> check_timeout_executor(5.0, None)
    >>> check_timeout_executor(5.0, SerialExecutor())
    Traceback (most recent call last):
    ...
    ValueError: timeout: a SerialExecutor runs each call in this process and cannot stop one that hangs; use the default process pool (executor=None) or no timeout
    """
    if timeout is not None and isinstance(executor, SerialExecutor):
        raise ValueError(
            "timeout: a SerialExecutor runs each call in this process and cannot stop one that hangs; "
            "use the default process pool (executor=None) or no timeout"
        )


class ProcessPool(Executor):
    """The default executor: a process pool on ``loky`` that can replace its workers.

    Calls travel to the workers with ``cloudpickle``, so a lambda, a closure or a function defined
    in a notebook works as a :class:`~phasemapper.systems.FunctionSystem`. Workers are fresh Python
    processes (loky's own start method: no fork of a threaded parent), so scripts need no
    ``if __name__ == "__main__"`` guard. A running call cannot be stopped and a dead worker (a crash
    in native code, the out-of-memory killer) breaks the pool; this pool can :meth:`restart`: kill
    its workers and go on with fresh ones. It restarts by itself when a submit finds it broken.
    Each worker exits within a second when the process that started the pool is gone, even after a
    SIGKILL. Workers share the cores: each one's thread pools (PyTorch, BLAS) get ``cores // workers``
    threads (:func:`worker_thread_limits`), unless the environment already sizes them.

    Parameters
    ----------
    max_workers : int, optional
        Worker processes (default: one per core).

    Examples
    --------
    >>> from phasemapper import ProcessPool
    >>> with ProcessPool(1) as pool:
    ...     first = pool.submit(lambda x: 2 ** x, 10).result()
    ...     pool.restart()
    ...     first, pool.submit(pow, 3, 2).result()
    (1024, 9)
    """

    def __init__(self, max_workers: int | None = None) -> None:
        from ._checks import check_positive_int

        self._max_workers = (
            (os.cpu_count() or 1) if max_workers is None else check_positive_int("max_workers", max_workers)
        )
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> Any:
        import loky

        return loky.ProcessPoolExecutor(
            max_workers=self._max_workers,
            context=loky.backend.get_context("loky"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
            env=worker_thread_limits(self._max_workers),
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if _is_broken(self._pool):  # a worker died: its calls have failed; go on with fresh workers
                self._replace_pool()
            return self._pool.submit(fn, *args, **kwargs)

    def restart(self) -> None:
        """Kill every worker (their running and queued calls fail) and start fresh ones."""
        with self._lock:
            self._replace_pool()

    def _replace_pool(self) -> None:
        old, self._pool = self._pool, self._new_pool()
        old.shutdown(wait=True, kill_workers=True)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            # loky's kill_workers also fails the calls not yet finished, as cancel_futures would cancel them
            self._pool.shutdown(wait=wait, kill_workers=cancel_futures or _is_broken(self._pool))


#: the variables that size the thread pools of OpenMP (PyTorch), MKL, OpenBLAS and numexpr
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def worker_thread_limits(n_workers: int) -> dict[str, str]:
    """Thread-pool sizes for ``n_workers`` worker processes sharing this machine's cores: each gets
    ``cores // n_workers`` threads (at least one), so that workers each running a threaded library (a
    PyTorch training, a BLAS call) do not oversubscribe the cores. A variable the user has set is kept.

    Examples
    --------
    >>> import os
    >>> limits = worker_thread_limits(os.cpu_count() or 1)
    >>> all(limits.get(v, os.environ.get(v)) is not None for v in THREAD_VARIABLES)
    True
    """
    threads = str(max(1, (os.cpu_count() or 1) // n_workers))
    return {name: threads for name in THREAD_VARIABLES if name not in os.environ}


def _is_broken(pool: Any) -> bool:
    return getattr(getattr(pool, "_flags", None), "broken", None) is not None


def default_executor(max_workers: int | None = None) -> ProcessPool:
    """A :class:`ProcessPool` with ``max_workers`` workers (default: one per core)."""
    return ProcessPool(max_workers)


def worker_count(executor: Executor) -> int | None:
    """How many calls ``executor`` runs at once, where it tells (``None``: it does not say).

    Process and thread pools say ``max_workers``; a Dask ``ClientExecutor`` its cluster's threads now.

    Examples
    --------
    >>> worker_count(ProcessPool(3)), worker_count(SerialExecutor())
    (3, None)
    """
    if isinstance(getattr(executor, "_max_workers", None), int):
        return executor._max_workers  # type: ignore[attr-defined]
    client = getattr(executor, "_client", None)  # distributed.cfexecutor.ClientExecutor
    if client is not None and hasattr(client, "nthreads"):
        return sum(client.nthreads().values()) or None
    return None


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """In a pool worker: exit when the process that started the pool is gone.

    A parent killed with SIGKILL cannot tell its workers, which would wait on their call queue for
    ever, keeping their memory.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="phasemapper-exit-with-parent", daemon=True).start()


def dask_executor(address: str) -> tuple[Executor, Callable[[], None]]:
    """A Dask distributed executor and a function that closes what was started.

    ``address`` is ``"local"`` (start a ``LocalCluster``, one single-threaded
    worker process per core) or a scheduler address like ``tcp://host:8786``.
    """
    from ._extras import require

    require("distributed", by="--dask")
    from distributed import Client, LocalCluster

    if address == "local":
        cluster = LocalCluster(
            n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()
    else:
        if not address.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise ValueError(f"--dask {address!r}: expected 'local' or a scheduler address like tcp://HOST:PORT")
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise ValueError(f"--dask {address!r}: cannot reach the scheduler ({exc})") from None
        close = client.close
    return client.get_executor(), close
