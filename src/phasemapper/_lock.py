"""One writer per directory: a lock that a second process (or a second writer in this one) is refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["hold_directory"]

#: lock files this process holds (record locks do not exclude their own process)
_HELD: set[str] = set()


@contextmanager
def hold_directory(directory: str | os.PathLike, name: str, verb: str, advice: str) -> Iterator[None]:
    """Hold ``directory`` through the lock file ``directory/name`` for the ``with`` block.

    The lock is a POSIX record lock: the kernel drops it when the process ends, however it
    ends, and processes forked while it is held (pool workers) do not inherit it. The file
    holds the holder's pid while held and is removed on release. A directory already held
    raises ``ValueError``: ``"'DIRECTORY' is being {verb} by process N; {advice}"``.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with hold_directory(d, "x.lock", "used", "wait"):
    ...     try:
    ...         with hold_directory(d, "x.lock", "used", "wait"):
    ...             pass
    ...     except ValueError as exc:
    ...         print(str(exc).endswith(f"is being used by process {os.getpid()}; wait"))
    True
    """
    path = Path(directory) / name
    key = os.path.realpath(path)
    try:
        import fcntl
    except ImportError:  # no record locks on this platform: guard this process only
        fcntl = None  # type: ignore[assignment]
    while True:
        fh = open(path, "a+")
        try:
            if key in _HELD:
                raise BlockingIOError
            if fcntl is not None:
                fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise ValueError(f"{str(directory)!r} is being {verb} by {holder}; {advice}") from None
        try:  # the holder before us may have removed the file between our open and our lock: lock the new one
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()
    _HELD.add(key)
    try:
        fh.truncate(0)
        fh.write(f"process {os.getpid()}")
        fh.flush()
        yield
    finally:
        _HELD.discard(key)
        path.unlink(missing_ok=True)
        fh.close()  # closing releases the lock
