"""Progress bars for every long wait: sampling, campaigns, detector fits, theory refits.

One Rich display is live at a time; a bar started while another is showing joins its display as
a line of its own until it finishes (a theory refit under a campaign's bar).

``scan`` and ``Campaign.run`` take ``progress=`` themselves. Work that is called inside them or
stands alone (a detector's ``fit``, a theory refit) shows a bar only where progress is switched on
with :func:`show_progress`; the command line switches it on.

Examples
--------
>>> from phasemapper.progress import ProgressBar, show_progress
>>> with ProgressBar("quiet", total=3, enabled=False) as bar:
...     for _ in range(3):
...         bar.advance()
>>> bar.completed
3
>>> with show_progress(False):
...     ProgressBar("off", total=1).enabled
False
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["ProgressBar", "show_progress", "progress_shown", "track", "step"]

T = TypeVar("T")

_SHOWN: ContextVar[bool] = ContextVar("phasemapper_progress_shown", default=False)
_live: dict[str, Any] = {"progress": None, "users": 0}  # the one Rich Progress on screen and how many bars use it
_CURRENT: ContextVar[ProgressBar | None] = ContextVar("phasemapper_progress_current", default=None)


@contextmanager
def show_progress(enabled: bool = True) -> Iterator[None]:
    """Within the block, bars whose ``enabled`` is not given show (or, with ``False``, stay hidden)."""
    token = _SHOWN.set(bool(enabled))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def progress_shown() -> bool:
    """Whether bars whose ``enabled`` is not given show here (see :func:`show_progress`)."""
    return _SHOWN.get()


class ProgressBar:
    """One task's bar: ``description``, done of ``total`` (``None``: unknown) and the elapsed time.

    Parameters
    ----------
    description : str
        What is being waited for, e.g. ``"ising2d L=32"`` or ``"confusion: fit L=16"``.
    total : int, optional
        Steps to do (``None`` shows a bar without an end).
    completed : int
        Steps already done (a resumed run).
    enabled : bool, optional
        Show the bar (default: :func:`progress_shown`).
    """

    def __init__(
        self, description: str, total: int | None = None, completed: int = 0, *, enabled: bool | None = None
    ) -> None:
        self.description = description
        self.total = total
        self.completed = completed
        self.enabled = progress_shown() if enabled is None else bool(enabled)
        self._task: Any = None
        self._owner = False
        self._token: Any = None

    def __enter__(self) -> ProgressBar:
        self._token = _CURRENT.set(self)
        if self.enabled:
            progress = _live["progress"]
            if progress is None:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                progress = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    transient=False,
                )
                progress.start()
                _live["progress"] = progress
                self._owner = True
            _live["users"] += 1
            self._task = progress.add_task(self.description, total=self.total, completed=self.completed)
        return self

    def advance(self, steps: int = 1) -> None:
        """Count ``steps`` more done."""
        self.completed += steps
        if self._task is not None:
            _live["progress"].update(self._task, completed=self.completed)

    def __call__(self) -> None:  # a bar is also the ``advance()`` callback the schedulers take
        self.advance()

    def __exit__(self, *exc: Any) -> None:
        _CURRENT.reset(self._token)
        if self._task is None:
            return
        progress, task, self._task = _live["progress"], self._task, None
        _live["users"] -= 1
        if not self._owner:  # a bar under another's: its line goes when it is done
            progress.remove_task(task)
        if _live["users"] == 0:
            _live["progress"].stop()
            _live["progress"] = None


def step(steps: int = 1) -> None:
    """Advance the innermost bar entered in this context, if any: work deep inside a fit (an epoch, a
    bootstrap replica) counts itself without being handed the bar.

    Examples
    --------
    >>> with ProgressBar("epochs", total=2, enabled=False) as bar:
    ...     step(); step()
    >>> bar.completed
    2
    """
    bar = _CURRENT.get()
    if bar is not None:
        bar.advance(steps)


def track(
    items: Iterable[T], description: str, total: int | None = None, *, enabled: bool | None = None
) -> Iterator[T]:
    """Iterate over ``items`` with a bar (shown as :class:`ProgressBar` decides).

    Examples
    --------
    >>> list(track(range(3), "steps", enabled=False))
    [0, 1, 2]
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with ProgressBar(description, total, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.advance()
