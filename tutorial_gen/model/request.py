"""A run request: what to run and how, passed down whole instead of as a dozen arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .project import Stack
from .status import Profile


@dataclass(frozen=True)
class RunRequest:
    """How to run notebooks: profile, where, how many at once, and the limits of each run."""

    profile: str = Profile.SMOKE
    build_dir: Path | None = None  # default: the project's build folder
    jobs: int = 1  # notebooks at once
    force: bool = False  # rerun even when the cache has the answer
    overrides: dict[str, Any] = field(default_factory=dict)  # parameter values over the profile's
    cell_timeout: int | None = None  # seconds per cell (default: the notebook's)
    budget: float | None = None  # seconds per notebook (per seed, over several seeds)
    log_output: bool = False  # echo cell output while running
    clean_env: bool = False  # kernels in fresh environments holding only what the setup installs
    threads: int | None = None  # thread limit of each kernel (set for parallel workers)
    shard: tuple[int, int] | None = None  # (K, N): run only shard K of N
    seeds: int | None = None  # seeds per notebook (default: each notebook's, see Notebook)
    stack: Stack | None = None  # kernels in this stack's environment (see `compat`)
    environments: Path | None = None  # where cached environments are kept (default: build_dir)
    allow_dirty: bool = False  # write full-profile results from a tree with uncommitted changes
