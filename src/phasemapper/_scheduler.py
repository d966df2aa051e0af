"""One scheduler for scans and campaigns: calls on an executor with retries, timeouts and dead workers replaced.

The scheduler knows nothing of systems, planners or stores: it runs :class:`Call` s and reports each
outcome through callbacks. It owns the rules that make a run robust:

- at most one call per worker is in flight, and a call's clock starts when it starts in its worker
  (after the worker has started and imported what the call needs);
- a call that raises or outlives ``timeout`` counts a failed attempt and goes to the back of the
  queue, until ``max_attempts``; then it has failed for good;
- a timeout on a :class:`~phasemapper.ProcessPool` replaces its workers, which stops the hung call;
  the calls cut short with it run again without counting an attempt;
- a worker that dies fails every call running in its pool and nothing says whose call killed it:
  when several were running none is charged, and each runs again alone, so the next death has one
  culprit and only that call counts an attempt.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from ._executors import ProcessPool, worker_count
from ._failures import Failure, error_message

__all__ = ["Call", "Scheduler"]

#: seconds to collect the other calls a dead worker's pool fails with it
BROKEN_POOL_GRACE = 1.0
#: seconds between looks at which calls have started, while a timeout is set
CLOCK_POLL = 0.05
#: seconds a call may wait for its worker to start it (a worker starting up, importing) before its clock starts anyway
START_GRACE = 60.0
#: the error recorded for a call whose worker died under it
WORKER_DIED = (
    "BrokenProcessPool: the worker process died during this call (killed, e.g. by the out-of-memory "
    "killer, or crashed in native code)"
)


@dataclass
class Call:
    """``fn(*args)`` to run for ``key``; ``point`` says where (for failure reports); ``attempts`` already used."""

    key: Any  # the caller's id of the call: hashable (an int for a ledger row, a (size, point) pair for a scan)
    fn: Callable[..., Any]
    args: tuple
    point: Mapping[str, float]
    attempts: int = 0


class Scheduler:
    """Run calls on ``executor`` until each has succeeded or failed ``max_attempts`` times.

    Parameters
    ----------
    executor : concurrent.futures.Executor
        Where the calls run.
    max_attempts : int
        Attempts per call before it has failed for good.
    timeout : float, optional
        Seconds one call may run before it counts as a failed attempt.

    Attributes
    ----------
    restarts : int
        How many times the workers were replaced (after a timeout or a death).

    Examples
    --------
    >>> from phasemapper import SerialExecutor
    >>> results, failed = {}, []
    >>> calls = [Call(k, lambda x: 1 / x, (x,), {"x": x}) for k, x in enumerate([1.0, 0.0, 4.0])]
    >>> Scheduler(SerialExecutor(), max_attempts=2).run(
    ...     calls, on_success=lambda c, r, s: results.update({c.key: r}),
    ...     on_failure=lambda c, f: failed.append(f) if f is not None else None)
    >>> results, [(f.point, f.attempts, f.error) for f in failed]
    ({0: 1.0, 2: 0.25}, [({'x': 0.0}, 2, 'ZeroDivisionError: float division by zero')])
    """

    def __init__(self, executor: Executor, *, max_attempts: int = 3, timeout: float | None = None) -> None:
        self.executor = executor
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.restarts = 0

    def run(
        self,
        calls: Sequence[Call],
        on_success: Callable[[Call, Any, float], None],
        on_failure: Callable[[Call, Failure], None] | None = None,
        on_attempt_failed: Callable[[Call, str, float], None] | None = None,
        give_up: Callable[[], bool] | None = None,
    ) -> None:
        """Run ``calls``; report each success with ``on_success(call, result, seconds)``.

        ``on_attempt_failed(call, error, seconds)`` hears of every failed attempt, and
        ``on_failure(call, failure)`` of each call that failed for good. ``give_up()`` is asked after
        every outcome: when it says True the calls not finished are abandoned (and the workers of a
        :class:`~phasemapper.ProcessPool` replaced, which stops the running ones).
        """
        with tempfile.TemporaryDirectory(prefix="phasemapper-calls-") as marks:
            self._run(calls, on_success, on_failure, on_attempt_failed, give_up, marks)

    def _run(
        self,
        calls: Sequence[Call],
        on_success: Callable[[Call, Any, float], None],
        on_failure: Callable[[Call, Failure], None] | None,
        on_attempt_failed: Callable[[Call, str, float], None] | None,
        give_up: Callable[[], bool] | None,
        marks: str,
    ) -> None:
        executor = self.executor
        queue = deque(calls)
        attempts = {c.key: c.attempts for c in calls}
        running: dict[Future, tuple[Call, _Clock]] = {}
        suspects: set[Hashable] = set()  # cut short by a death beside other calls: each runs alone from now on
        workers = worker_count(executor) or len(queue)  # an executor that does not say: every call at once

        def failed(call: Call, error: str, seconds: float) -> None:
            attempts[call.key] += 1
            if on_attempt_failed is not None:
                on_attempt_failed(call, error, seconds)
            if attempts[call.key] >= self.max_attempts:
                if on_failure is not None:
                    on_failure(call, Failure(dict(call.point), error, attempts[call.key], call.key))
            else:
                queue.append(call)

        while queue or running:
            while queue and len(running) < workers:
                if running and (queue[0].key in suspects or any(c.key in suspects for c, _ in running.values())):
                    break
                call = queue.popleft()
                clock = _Clock(os.path.join(marks, uuid.uuid4().hex))
                if self.timeout is None:  # no clock to read: the call goes as it is
                    running[executor.submit(call.fn, *call.args)] = (call, clock)
                else:
                    running[executor.submit(_started_at, clock.mark, call.fn, *call.args)] = (call, clock)
            wait_for = None
            if self.timeout is not None:  # until the first clock runs out, or a while to see clocks start
                left = min(clock.left(self.timeout) for _, clock in running.values())
                wait_for = max(min(left, CLOCK_POLL), 0.0)
            finished, _ = wait(running, return_when=FIRST_COMPLETED, timeout=wait_for)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in finished):
                # a dead worker fails every call of its pool at once (calls already in a fresh pool go on)
                finished = wait(running, timeout=BROKEN_POOL_GRACE).done
                cut = [f for f in finished if isinstance(f.exception(), BrokenProcessPool)]
                if len(cut) > 1:  # cannot tell which one killed the worker: blame none, run each alone
                    for future in cut:
                        call, _ = running.pop(future)
                        suspects.add(call.key)
                        queue.appendleft(call)
                    finished -= set(cut)
                if isinstance(executor, ProcessPool):
                    self.restarts += 1
            for future in [f for f in running if f in finished]:  # in the order submitted
                call, clock = running.pop(future)
                seconds = clock.seconds()
                exc = future.exception()
                if exc is None:
                    on_success(call, future.result(), seconds)
                elif isinstance(exc, BrokenProcessPool):
                    failed(call, WORKER_DIED, seconds)
                else:
                    failed(call, error_message(exc), seconds)
            if self.timeout is not None:
                expired = [f for f, (_, clock) in running.items() if clock.left(self.timeout) <= 0]
                for future in expired:
                    call, clock = running.pop(future)
                    future.cancel()
                    failed(call, f"TimeoutError: timeout after {self.timeout:g} s", clock.seconds())
                if expired and isinstance(executor, ProcessPool):  # the hung calls hold their workers: replace them
                    queue.extendleft(c for c, _ in reversed(running.values()))  # cut short, not failed
                    running.clear()
                    executor.restart()
                    self.restarts += 1
            if give_up is not None and give_up():
                for future in running:
                    future.cancel()
                if running and isinstance(executor, ProcessPool):
                    executor.restart()
                return


class _Clock:
    """When a call started: the time its worker wrote into ``mark`` as it started the call (a worker that
    shares this file system), else its submission; a call not seen starting within ``START_GRACE`` seconds
    is taken to have started then."""

    def __init__(self, mark: str) -> None:
        self.mark = mark
        self.submitted = time.time()
        self._started: float | None = None

    def _start(self) -> float | None:
        if self._started is None:
            try:
                with open(self.mark) as fh:
                    self._started = float(fh.read())
            except (OSError, ValueError):  # not started yet, or started where this file system is not
                if time.time() - self.submitted >= START_GRACE:
                    self._started = self.submitted + START_GRACE
        return self._started

    def seconds(self) -> float:
        """Seconds since the call started (since it was submitted, while no start was seen)."""
        start = self._start()
        return time.time() - (self.submitted if start is None else start)

    def left(self, timeout: float) -> float:
        """Seconds until the call has run ``timeout`` seconds (a call not started yet has them all)."""
        start = self._start()
        return timeout if start is None else start + timeout - time.time()


def _started_at(mark: str, fn: Callable[..., Any], *args: Any) -> Any:
    """In the worker: write the time the call starts into ``mark``, then run it."""
    try:
        with open(mark + ".tmp", "w") as fh:
            fh.write(repr(time.time()))
        os.replace(mark + ".tmp", mark)
    except OSError:  # another machine's file system: the caller's clock starts at submission
        pass
    return fn(*args)


def broken_executor_note(exc: BrokenExecutor, executor: Executor, where: str) -> None:
    """Say on ``exc`` that ``executor`` takes no more calls, where the finished work is, and how to go on."""
    exc.add_note(
        f"{type(executor).__name__} cannot run calls any more, and cannot be restarted. Every finished "
        f"evaluation is in {where}: resume it with phasemapper.ProcessPool, which replaces dead workers."
    )
