"""Read the JSON files a run or a scan keeps beside its data, so that a damaged one is bad input, not a traceback."""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["read_json"]


def read_json(path: str | os.PathLike, label: str = "", advice: str = "") -> Any:
    """The JSON value in ``path``; a file that is not JSON raises ``ValueError`` naming it.

    The message is ``"{label}'PATH' is not valid JSON (why){advice}"``. A missing file raises
    ``FileNotFoundError`` as ``open`` does; callers that expect one check first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "spec.json"
    >>> _ = p.write_text("{")
    >>> try:
    ...     read_json(p, "checkpoint ")
    ... except ValueError as exc:
    ...     print(str(exc).split("'")[0], "...", str(exc).split("'")[-1].split(" (")[0])
    checkpoint  ...  is not valid JSON
    """
    try:
        with open(path) as fh:
            return json.load(fh)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both are
        raise ValueError(f"{label}{str(path)!r} is not valid JSON ({exc}){advice}") from None
    except RecursionError:  # a file of deeply nested brackets: bad input too
        raise ValueError(f"{label}{str(path)!r} is nested too deeply to be read{advice}") from None
