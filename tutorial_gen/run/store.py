"""The results store: where each technique's results file lives, and its one reader and writer.

Writing is a locked read-merge-write, so two runs at once (or shards merged later) never lose each
other's notebooks, and an interrupted run leaves the file as it was. A file that cannot be read
(corrupt, merge-conflicted, of another schema) is an error naming it and what to do, never
silently replaced: only `--force` (which reruns everything it selects) starts it afresh.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError
from ..fileio import dump_json, write_if_changed
from ..model import (
    ClaimOutcome,
    CompatFile,
    NotebookEntry,
    Profile,
    Project,
    ResultsFile,
    ResultsFormatError,
    RunRequest,
    Technique,
    merge_entries,
)
from ..verify.claims import check_all
from .stamp import environment_stamp

T = TypeVar("T")


def results_path(technique: Technique, profile: str, build_dir: Path | None = None) -> Path:
    """Where a profile's results go: committed for `full`, in the build folder otherwise (and
    always there for a notebook we did not write: nothing is written beside it)."""
    if profile == Profile.FULL and not technique.foreign:
        return technique.folder / "results" / "full.json"
    assert build_dir is not None, "results of other profiles live in a build folder"
    return results_under(build_dir, technique.slug, profile)


def request_results_path(technique: Technique, request: RunRequest, build_dir: Path) -> Path:
    """Where a run's results go: as `results_path` says, but always in the build folder for a
    run on another stack than the project's (those numbers are never the committed ones)."""
    if request.stack is not None:
        return results_under(build_dir, technique.slug, request.profile)
    return results_path(technique, request.profile, build_dir)


def results_under(folder: Path, slug: str, profile: str) -> Path:
    """A results file in a folder of results files (a build folder, or merged shards)."""
    return folder / slug / "results" / f"{profile}.json"


def read_results(path: Path, *, force: bool = False) -> ResultsFile | None:
    """The results file at `path`; None where there is none (or, with `force`, where it is
    unreadable and will be rewritten)."""
    return _read(path, ResultsFile.from_json, "results file", force=force)


def compat_path(technique: Technique) -> Path:
    """Where `tutorial-gen compat` writes a technique's matrix (committed, beside full.json)."""
    return technique.folder / "results" / "compat.json"


def read_compat(path: Path, *, force: bool = False) -> CompatFile | None:
    """The compatibility file at `path`; None where there is none."""
    return _read(path, CompatFile.from_json, "compatibility file", force=force)


def _read(path: Path, parse: Callable[[Any], T], kind: str, *, force: bool) -> T | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        if force:
            return None
        raise ConfigError(f"cannot be read: {error}", path=path) from error
    try:
        return parse(json.loads(text))
    except (json.JSONDecodeError, ResultsFormatError) as error:
        if force:
            return None
        conflicted = "<<<<<<<" in text
        reason = (
            "holds merge-conflict markers"
            if conflicted
            else f"is not a tutorial-gen {kind}: {error}"
        )
        hint = getattr(error, "hint", None) or (
            "resolve the conflict or restore it with git, or rerun with --force to measure anew"
        )
        raise ConfigError(reason, path=path, hint=hint) from error


def load_results(technique: Technique, profile: str = Profile.FULL) -> ResultsFile:
    """The committed results of a technique (what its overview page is rendered from)."""
    path = results_path(technique, profile)
    results = read_results(path)
    if results is None:
        raise ConfigError(
            f"no {profile}-profile results yet",
            path=path,
            hint=f"run `tutorial-gen run {technique.folder.name} --profile {profile}`",
        )
    return results


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for a read-merge-write of `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def record(
    technique: Technique,
    project: Project,
    profile: str,
    path: Path,
    entries: Mapping[str, NotebookEntry],
    *,
    force: bool = False,
) -> list[ClaimOutcome]:
    """Merge notebook entries into the results file at `path`, re-check every claim, write it.

    The environment stamp says where the numbers were measured: it changes only when an entry
    does (a run that reused every result keeps the stamp of the run that measured them).
    """
    with locked(path):
        previous = read_results(path, force=force)
        before = previous.notebooks if previous else {}
        notebooks = {
            stem: entry
            for stem, entry in sorted(merge_entries(before, entries).items())
            if stem in technique.notebooks
        }
        results = ResultsFile(technique.slug, profile, None, notebooks)
        outcomes = check_all(technique.claims, results.seed_runs_by_notebook(), profile)
        unchanged = previous is not None and previous.environment and notebooks == before
        results = ResultsFile(
            technique.slug,
            profile,
            previous.environment if unchanged else environment_stamp(project),
            notebooks,
            tuple(outcomes),
        )
        write_if_changed(path, dump_json(results.to_json()))
    return outcomes
