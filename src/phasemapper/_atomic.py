"""Write a file so that a kill at any moment leaves the old file or the new one, never half of one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on ``path`` + ``".tmp"``, then rename that onto ``path``.

    A temporary file left by a killed write is removed first, and one left by a failed write
    (a full disk) at once. An ``OSError`` that names no file is raised again naming ``path``.
    The rename is atomic on one file system, so readers (and a resumed run) see the old file
    or the new one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_atomically(pathlib.Path(tempfile.mkdtemp()) / "a.txt", lambda tmp: tmp.write_text("done"))
    >>> p.read_text(), sorted(f.name for f in p.parent.iterdir())
    ('done', ['a.txt'])
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)  # half a file helps no one; the old one, if any, stays
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(tmp)) from exc
        raise
    return path
