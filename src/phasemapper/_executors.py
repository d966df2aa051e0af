"""Executors: the default process pool and an in-process serial executor."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, Callable

__all__ = ["SerialExecutor", "default_executor", "dask_executor", "check_executor"]


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
        raise TypeError("executor must be a concurrent.futures.Executor (or None for a process pool), "
                        f"got {type(executor).__name__}")


def default_executor(max_workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool with one worker per core.

    Workers are forked on Linux, so scripts need no ``if __name__ == "__main__"``
    guard and inherit compiled kernels; other platforms spawn. Pass your own
    executor (e.g. a ``forkserver`` pool) where forking a threaded parent is a concern.
    """
    from .systems._base import check_positive_int

    workers = os.cpu_count() or 1 if max_workers is None else check_positive_int("max_workers", max_workers)
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """In a pool worker: exit when the process that started the pool is gone.

    A parent killed with SIGKILL cannot tell its workers; a forked worker holds both ends of its
    call queue's pipe itself, so it would wait on it for ever, keeping its memory.
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
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the extra
        raise ValueError("--dask needs the 'distributed' package: pip install 'phasemapper[dask]'") from None
    if address == "local":
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
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
