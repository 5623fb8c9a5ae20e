"""The environment stamp: where, on what and from which commit a set of numbers was measured."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from ..model import Environment, Project

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


def git_commit(root: Path) -> str | None:
    """HEAD of the repository at `root`, with `-dirty` when tracked files have changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}-dirty" if dirty else head


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_stamp(project: Project) -> Environment:
    """Where and with what a set of numbers was measured."""
    return Environment(
        cpu=cpu_model(),
        cores=os.cpu_count(),
        latency_threads=1,
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        packages={d: _version(d) for d in STAMPED_DISTRIBUTIONS},
        date=_dt.datetime.now(_dt.UTC).date().isoformat(),
        commit=git_commit(project.root),
    )
