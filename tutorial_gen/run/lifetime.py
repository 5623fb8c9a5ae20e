"""Process lifetime: what a run starts dies with it, however the run ends.

Kernels and workers ask the Linux kernel to signal them when their parent dies
(`PR_SET_PDEATHSIG`), so even a SIGKILLed tool leaves no process behind. Each run folder names
the process that owns it; a later run deletes the kernel connection files of folders whose owner
is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1
OWNER = "owner.pid"  # in a run folder: the pid of the tool process that made it
CONNECTION = "kernel.json"  # in a run folder: its kernel's connection file


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()  # looked up once: a forked child about to exec should not load libraries


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Have this process receive `signum` when its parent dies (Linux; elsewhere nothing)."""
    if _PRCTL is not None:
        with contextlib.suppress(OSError):
            _PRCTL(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)


def claim_folder(folder: Path) -> None:
    """Mark a run folder as this process's."""
    (folder / OWNER).write_text(str(os.getpid()), encoding="utf-8")


def _alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (dead, not yet reaped by whoever inherited it) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def sweep_stale(build_dir: Path) -> list[Path]:
    """Delete the connection files left in run folders whose owning run is gone; their paths."""
    removed = []
    for connection in build_dir.glob(f"*/*/*/{CONNECTION}"):
        owner = connection.parent / OWNER
        try:
            pid = int(owner.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not _alive(pid):
            connection.unlink(missing_ok=True)
            removed.append(connection)
    return removed
