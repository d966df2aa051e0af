"""A directory held by another process, as a second terminal's run or scan would hold it."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

_HOLD = (
    "import sys, time; from phasemapper._lock import hold_directory\n"
    "with hold_directory(sys.argv[1], sys.argv[2], 'used', 'wait'):\n"
    "    print('held', flush=True); time.sleep(120)"
)


@contextmanager
def held_by_another_process(directory, lock_name):
    """Hold ``directory`` (lock file ``lock_name``) from a child process for the ``with`` block; yields its pid.
    On exit the child is killed with SIGKILL, so the kernel drops the lock with it (its lock file stays)."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(directory), lock_name], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
