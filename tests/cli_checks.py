"""Checks of the command line shared by the test modules."""

from __future__ import annotations

import pytest


def one_error_line(capsys, argv):
    """Run the CLI on ``argv`` in this process; it must exit 2 with exactly one line on stderr, which is returned."""
    from phasemapper.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1, (argv, err)
    return err[0]
