"""One writer per directory: a lock that a second process (or a second writer in this one) is refused."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    while True:
        fh = open(path, "a+")
        if not _lock(fh, key):
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise ValueError(f"{str(directory)!r} is being {verb} by {holder}; {advice}")
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


def _lock(fh: Any, key: str) -> bool:
    """Lock the open file ``fh``; False if another writer holds it. Where there are no record locks (no
    ``fcntl``, or a file system answering ENOLCK) only this process's other writers are kept out."""
    if key in _HELD:
        return False
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
    return True
