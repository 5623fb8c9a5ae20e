"""Planning: every selected notebook as a job, its expected duration, and the split into shards."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..model import Notebook, Profile, Technique
from .store import read_results, results_path

DEFAULT_SECONDS = 60.0  # expected duration of a notebook never run before
SMOKE_SCALE = 0.25  # smoke trains on a fraction of the data


@dataclass(frozen=True)
class Job:
    """One notebook to run, and how long it is expected to take."""

    technique: Technique
    notebook: Notebook
    expected: float

    @property
    def label(self) -> str:
        return self.technique.label(self.notebook.stem)


def expected_seconds(
    technique: Technique, notebook: Notebook, profile: str, build_dir: Path, force: bool = False
) -> float:
    """A notebook's duration in its last recorded run of this profile (or of full, scaled)."""
    for source, scale in ((profile, 1.0), (Profile.FULL, SMOKE_SCALE)):
        results = read_results(results_path(technique, source, build_dir), force=force)
        entry = results.entry(notebook.stem) if results else None
        if entry and entry.wall_seconds:
            return (1.0 if source == profile else scale) * entry.wall_seconds
    return DEFAULT_SECONDS


def plan(
    selection: list[tuple[Technique, list[str] | None]],
    profile: str,
    build_dir: Path,
    force: bool = False,
) -> list[Job]:
    """Every selected notebook as a job, in a stable order (technique, then declaration)."""
    return [
        Job(technique, notebook, expected_seconds(technique, notebook, profile, build_dir, force))
        for technique, stems in selection
        for stem, notebook in technique.notebooks.items()
        if stems is None or stem in stems
    ]


def longest_first(job: Job) -> tuple[float, str]:
    """Sort key: the longest expected job first (ties by label), so that N at once end together."""
    return (-job.expected, job.label)


def shard(jobs: list[Job], index: int, count: int) -> list[Job]:
    """Shard `index` (1-based) of `count`: longest jobs first, each to the least loaded shard.

    Deterministic: the same suite and the same recorded durations always give the same split.
    """
    if not 1 <= index <= count:
        raise ConfigError(
            f"shard {index}/{count} does not exist", hint="use --shard K/N with 1 <= K <= N"
        )
    loads = [0.0] * count
    assigned: list[list[Job]] = [[] for _ in range(count)]
    for job in sorted(jobs, key=longest_first):
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += job.expected
        assigned[target].append(job)
    mine = {job.label for job in assigned[index - 1]}
    return [job for job in jobs if job.label in mine]
