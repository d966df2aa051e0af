"""Write a file so that a kill at any moment leaves the old file or the new one, never half of one."""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The temporary name is the file's name, this process's id and a random part, so writers running at
    once (two reports of one run) never share one. Temporaries that killed writers left are removed
    (their process is gone), and one left by a failed write (a full disk) at once. An ``OSError`` that
    names no file is raised again naming the temporary. The rename is atomic on one file system, so
    readers (and a resumed run) see the old file or the new one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_atomically(pathlib.Path(tempfile.mkdtemp()) / "a.txt", lambda tmp: tmp.write_text("done"))
    >>> p.read_text(), sorted(f.name for f in p.parent.iterdir())
    ('done', ['a.txt'])
    """
    path = Path(path)
    remove_dead_writers(path.parent, f"{path.name}.", ".tmp")
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)  # half a file helps no one; the old one, if any, stays
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(tmp)) from exc
        raise
    return path


def remove_dead_writers(folder: Path, prefix: str, suffix: str = "") -> None:
    """Remove the entries of ``folder`` named ``prefix`` + ``PID-...`` + ``suffix`` (a writer's temporary file
    or staging directory) whose process ``PID`` no longer runs: what writers killed mid-write left."""
    try:
        candidates = list(folder.glob(f"{glob.escape(prefix)}*{suffix}"))
    except OSError:
        return
    for entry in candidates:
        pid = entry.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
