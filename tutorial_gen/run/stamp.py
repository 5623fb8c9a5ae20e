"""The environment stamp: where, on what and from which commit a set of numbers was measured."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
from pathlib import Path

from ..model import Environment, Project
from .provenance import tree_state

# The versions that decide the numbers a tutorial measures.
STAMPED_DISTRIBUTIONS = (
    "tensorflow",
    "tf-keras",
    "tensorflow-model-optimization",
    "ai-edge-litert",
    "numpy",
    "papermill",
)


def cpu_model() -> str:
    """The CPU's marketing name, from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_stamp(project: Project) -> Environment:
    """Where and with what a set of numbers was measured, from which commit (and, for a dirty
    tree, a hash of its changes)."""
    tree = tree_state(project)
    return Environment(
        cpu=cpu_model(),
        cores=os.cpu_count(),
        latency_threads=1,
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        packages={d: _version(d) for d in STAMPED_DISTRIBUTIONS},
        date=_dt.datetime.now(_dt.UTC).date().isoformat(),
        commit=tree.commit if tree else None,
        diff=tree.diff if tree else None,
    )
