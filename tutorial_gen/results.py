"""Results: the environment stamp and the results files the overview pages are rendered from."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from .config import Project, Technique
from .errors import ConfigError

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


def environment_stamp(project: Project) -> dict[str, Any]:
    """Where and with what a set of numbers was measured."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "latency_threads": 1,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": {d: _version(d) for d in STAMPED_DISTRIBUTIONS},
        "date": _dt.datetime.now(_dt.UTC).date().isoformat(),
        "commit": git_commit(project.root),
    }


def load_results(technique: Technique, profile: str = "full") -> dict[str, Any]:
    """The committed results of a technique (what its overview page is rendered from)."""
    path = technique.folder / "results" / f"{profile}.json"
    if not path.is_file():
        raise ConfigError(
            f"no {profile}-profile results yet",
            path=path,
            hint=f"run `tutorial-gen run {technique.folder.name} --profile {profile}`",
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"is not valid results JSON: {error}",
            path=path,
            hint="re-run the full profile to rewrite it",
        ) from error
