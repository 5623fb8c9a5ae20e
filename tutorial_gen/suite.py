"""Suite: run many notebooks: select, shard, reuse cached results, execute in parallel, record.

Results of one technique and profile live in one JSON file. Writing it is a locked
read-merge-write, so two runs at once (or shards merged later) never lose each other's notebooks,
and an interrupted run leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import multiprocessing
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import claims as claims_mod
from .build import BuiltNotebook, build_notebook
from .cache import inputs_digest
from .config import Notebook, Project, Technique, load_technique
from .errors import ConfigError, ExecutionError, did_you_mean
from .execute import (
    NotebookRun,
    ProgressEvent,
    ProgressHook,
    launch_kernel,
    parameter_names,
    preflight,
    run_notebook,
)
from .fileio import dump_json, write_if_changed
from .kernel import KernelLaunch
from .results import environment_stamp

DEFAULT_SECONDS = 60.0  # expected duration of a notebook never run before


@dataclass(frozen=True)
class Job:
    """One notebook to run, and how long it is expected to take."""

    technique: Technique
    notebook: Notebook
    expected: float

    @property
    def label(self) -> str:
        return f"{self.technique.slug}/{self.notebook.stem}"


@dataclass
class TechniqueReport:
    """The runs and claim outcomes of one technique in one profile."""

    technique: Technique
    profile: str
    runs: list[NotebookRun]
    claims: list[claims_mod.ClaimResult]
    results_path: Path

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.runs) and not any(
            c.status == "fail" for c in self.claims
        )


@dataclass
class RunOptions:
    """How to run: profile, where, how many at once, and the limits of each run."""

    profile: str = "smoke"
    build_dir: Path | None = None
    jobs: int = 1
    force: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    cell_timeout: int | None = None
    budget: float | None = None
    log_output: bool = False
    clean_env: bool = False


# --------------------------------------------------------------------------- results files


def results_path(technique: Technique, profile: str, build_dir: Path) -> Path:
    """Where a profile's results go: committed for `full`, in the build folder otherwise."""
    if profile == "full":
        return technique.folder / "results" / "full.json"
    return build_dir / technique.slug / "results" / f"{profile}.json"


def read_results(path: Path) -> dict[str, Any]:
    """A results file, or an empty one where there is none (or it is unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}


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
    entries: dict[str, dict[str, Any]],
) -> list[claims_mod.ClaimResult]:
    """Merge notebook entries into the results file at `path`, re-check every claim, write it.

    The environment stamp says where the numbers were measured: it changes only when an entry
    does (a run that reused every result keeps the stamp of the run that measured them).
    """
    with locked(path):
        previous_data = read_results(path)
        notebooks = dict(previous_data.get("notebooks", {}))
        before = json.dumps(notebooks, sort_keys=True)
        for stem, entry in entries.items():
            previous = notebooks.get(stem)
            if previous and (previous.get("finished") or "") > (entry.get("finished") or ""):
                continue  # a newer result of this notebook is already there
            notebooks[stem] = entry
        notebooks = {k: v for k, v in sorted(notebooks.items()) if k in technique.notebooks}
        metrics = {
            stem: (e.get("metrics") if e.get("status") == "ok" else None)
            for stem, e in notebooks.items()
        }
        outcomes = claims_mod.check_all(technique.claims, metrics, profile)
        data = {
            "schema": 1,
            "technique": technique.slug,
            "profile": profile,
            "environment": (
                previous_data["environment"]
                if previous_data.get("environment")
                and json.dumps(notebooks, sort_keys=True) == before
                else environment_stamp(project)
            ),
            "notebooks": notebooks,
            "claims": [c.to_json() for c in outcomes],
        }
        write_if_changed(path, dump_json(data))
    return outcomes


# --------------------------------------------------------------------------- planning


def expected_seconds(
    technique: Technique, notebook: Notebook, profile: str, build_dir: Path
) -> float:
    """A notebook's duration in its last recorded run of this profile (or of full, scaled)."""
    own = read_results(results_path(technique, profile, build_dir)).get("notebooks", {})
    if notebook.stem in own and own[notebook.stem].get("wall_seconds"):
        return float(own[notebook.stem]["wall_seconds"])
    full = read_results(results_path(technique, "full", build_dir)).get("notebooks", {})
    if notebook.stem in full and full[notebook.stem].get("wall_seconds"):
        scale = 1.0 if profile == "full" else 0.25  # smoke trains on a fraction of the data
        return scale * float(full[notebook.stem]["wall_seconds"])
    return DEFAULT_SECONDS


def plan(
    selection: list[tuple[Technique, list[str] | None]], profile: str, build_dir: Path
) -> list[Job]:
    """Every selected notebook as a job, in a stable order (technique, then declaration)."""
    jobs = []
    for technique, stems in selection:
        for stem, notebook in technique.notebooks.items():
            if stems is None or stem in stems:
                jobs.append(
                    Job(
                        technique,
                        notebook,
                        expected_seconds(technique, notebook, profile, build_dir),
                    )
                )
    return jobs


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
    for job in sorted(jobs, key=lambda j: (-j.expected, j.label)):
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += job.expected
        assigned[target].append(job)
    mine = {job.label for job in assigned[index - 1]}
    return [job for job in jobs if job.label in mine]


# --------------------------------------------------------------------------- running


def _cached(job: Job, digest: str, profile: str, build_dir: Path) -> NotebookRun | None:
    entry = (
        read_results(results_path(job.technique, profile, build_dir))
        .get("notebooks", {})
        .get(job.notebook.stem)
    )
    if not entry or entry.get("status") != "ok" or entry.get("inputs") != digest:
        return None
    executed = build_dir / job.technique.slug / profile / f"{job.notebook.stem}.ipynb"
    return NotebookRun(
        job.technique.slug,
        job.notebook.stem,
        job.notebook.script,
        executed,
        "ok",
        float(entry.get("wall_seconds") or 0.0),
        metrics=entry.get("metrics"),
        parameters=entry.get("parameters") or {},
        cells=entry.get("cells") or [],
        inputs=digest,
        cache="hit",
        finished=entry.get("finished"),
    )


_EVENTS: Any = None  # the progress queue of a worker process


def _worker_init(events: Any) -> None:
    global _EVENTS
    _EVENTS = events


def _execute(
    job: Job,
    project: Project,
    options: RunOptions,
    build_dir: Path,
    digest: str,
    overrides: dict[str, Any],
    built: BuiltNotebook,
    threads: int | None = None,
    progress: ProgressHook | None = None,
    launch: KernelLaunch | None = None,
) -> NotebookRun:
    """Run one job (in this process or in a worker, where progress goes to the queue)."""
    if progress is None and _EVENTS is not None:
        progress = _EVENTS.put
    run = run_notebook(
        job.technique,
        job.notebook,
        project,
        options.profile,
        build_dir,
        progress=progress,
        log_output=options.log_output,
        overrides=overrides,
        cell_timeout=options.cell_timeout,
        budget=options.budget,
        threads=threads,
        clean_env=options.clean_env,
        built=built,
        launch=launch,
    )
    run.inputs = digest
    return run


def run_suite(
    selection: list[tuple[Technique, list[str] | None]],
    project: Project,
    options: RunOptions,
    *,
    shard_spec: tuple[int, int] | None = None,
    progress: ProgressHook | None = None,
) -> list[TechniqueReport]:
    """Run the selected notebooks and record their results; one report per technique."""
    build_dir = (options.build_dir or project.build_path).resolve()
    jobs = plan(selection, options.profile, build_dir)
    if shard_spec:
        jobs = shard(jobs, *shard_spec)
    accepted = {job.label: parameter_names(job.notebook) for job in jobs}
    for name in options.overrides:
        if jobs and not any(name in names for names in accepted.values()):
            known = set().union(*accepted.values())
            raise ConfigError(
                f"no selected notebook has a parameter '{name}'{did_you_mean(name, known)}",
                hint="see the cell tagged 'parameters' of each script",
            )
    with _LookAhead(options, build_dir) as ahead:
        if jobs:  # boots while the cache is checked; wasted (and killed) if the job is a hit
            ahead.launch(jobs[0])
        runs, pending = _check_cache(jobs, project, options, build_dir, accepted, progress)
        if options.jobs <= 1 or len(pending) <= 1:
            for index, (job, digest, overrides, built) in enumerate(pending):
                launch = ahead.take(job)
                if index + 1 < len(pending):  # the next kernel boots while this job runs
                    ahead.launch(pending[index + 1].job)
                runs[job.label] = _execute(
                    job,
                    project,
                    options,
                    build_dir,
                    digest,
                    overrides,
                    built,
                    progress=progress,
                    launch=launch,
                )
        else:
            ahead.discard()
            runs.update(_run_parallel(pending, project, options, build_dir, progress))
    reports = []
    for technique, _ in selection:
        mine = [runs[j.label] for j in jobs if j.technique.slug == technique.slug]
        if not mine:
            continue
        path = results_path(technique, options.profile, build_dir)
        entries = {run.stem: run.to_json(project) for run in mine}
        outcomes = record(technique, project, options.profile, path, entries)
        reports.append(TechniqueReport(technique, options.profile, mine, outcomes, path))
    return reports


class _Pending(NamedTuple):
    """A job the cache cannot answer: it runs."""

    job: Job
    digest: str
    overrides: dict[str, Any]
    built: BuiltNotebook


class _LookAhead:
    """At most one kernel started ahead of its job, in a serial run in this environment, so that
    it boots while the previous job runs (or while the cache is checked). Leaving the block kills
    a kernel that no job took."""

    def __init__(self, options: RunOptions, build_dir: Path) -> None:
        self.enabled = options.jobs <= 1 and not options.clean_env
        self.profile = options.profile
        self.build_dir = build_dir
        self.waiting: tuple[str, KernelLaunch] | None = None

    def launch(self, job: Job) -> None:
        if self.enabled:
            self.discard()
            try:
                launch = launch_kernel(job.technique, job.notebook, self.profile, self.build_dir)
            except ExecutionError:  # the job's own run tries again, and reports it if it is run
                return
            self.waiting = (job.label, launch)

    def take(self, job: Job) -> KernelLaunch | None:
        """The kernel launched for `job`, if any (the job's run then owns it)."""
        if self.waiting and self.waiting[0] == job.label:
            launch, self.waiting = self.waiting[1], None
            return launch
        self.discard()
        return None

    def discard(self) -> None:
        if self.waiting:
            self.waiting[1].discard()
            self.waiting = None

    def __enter__(self) -> _LookAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _check_cache(
    jobs: list[Job],
    project: Project,
    options: RunOptions,
    build_dir: Path,
    accepted: dict[str, set[str]],
    progress: ProgressHook | None,
) -> tuple[dict[str, NotebookRun], list[_Pending]]:
    """Preflight and build every job: the cache hits ({label: reused run}), and the misses."""
    runs: dict[str, NotebookRun] = {}
    pending: list[_Pending] = []
    for job in jobs:
        preflight(job.technique, job.notebook, options.profile)
        overrides = {k: v for k, v in options.overrides.items() if k in accepted[job.label]}
        parameters = {**job.notebook.profiles.get(options.profile, {}), **overrides}
        built = build_notebook(job.notebook.script, project)
        digest = inputs_digest(
            built,
            options.profile,
            parameters,
            list(job.notebook.metrics),
            clean_env=options.clean_env,
        )
        hit = None if options.force else _cached(job, digest, options.profile, build_dir)
        if hit:
            runs[job.label] = hit
            if progress:
                progress(ProgressEvent(job.label, "cached", 0, 0, hit.wall_seconds))
        else:
            pending.append(_Pending(job, digest, overrides, built))
    return runs, pending


def run_technique(
    technique: Technique,
    project: Project,
    profile: str,
    *,
    stems: list[str] | None = None,
    build_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
    force: bool = False,
    progress: ProgressHook | None = None,
) -> TechniqueReport:
    """Run one technique's notebooks (all, or `stems`) and check its claims."""
    options = RunOptions(
        profile=profile, build_dir=build_dir, force=force, overrides=dict(overrides or {})
    )
    [report] = run_suite([(technique, stems)], project, options, progress=progress)
    return report


def _run_parallel(
    pending: list[_Pending],
    project: Project,
    options: RunOptions,
    build_dir: Path,
    progress: ProgressHook | None,
) -> dict[str, NotebookRun]:
    """Run jobs in worker processes, each kernel limited to its share of the cores."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    threads = max(1, (os.cpu_count() or 1) // options.jobs)
    stop = threading.Event()

    def relay() -> None:
        while not stop.is_set() or not events.empty():
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                continue
            if progress:
                progress(event)

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    runs: dict[str, NotebookRun] = {}
    try:
        with ProcessPoolExecutor(
            options.jobs, mp_context=context, initializer=_worker_init, initargs=(events,)
        ) as pool:
            futures = {
                job.label: pool.submit(
                    _execute, job, project, options, build_dir, digest, overrides, built, threads
                )
                for job, digest, overrides, built in pending
            }
            for label, future in futures.items():
                runs[label] = future.result()
    finally:
        stop.set()
        relay_thread.join()
    return runs


# --------------------------------------------------------------------------- merging shards


def merge(paths: list[Path], project: Project, output: Path | None = None) -> list[TechniqueReport]:
    """Combine results files of shards: per notebook the newest entry, claims checked again."""
    grouped: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for path in paths:
        data = read_results(path)
        if not data.get("technique") or not data.get("profile"):
            raise ConfigError(
                "is not a tutorial-gen results file",
                path=path,
                hint="pass the results/<profile>.json files the shards wrote",
            )
        entries = grouped.setdefault((data["technique"], data["profile"]), {})
        for stem, entry in data.get("notebooks", {}).items():
            if stem not in entries or (entry.get("finished") or "") > (
                entries[stem].get("finished") or ""
            ):
                entries[stem] = entry
    reports = []
    for (slug, profile), entries in sorted(grouped.items()):
        technique = load_technique(project.notebooks_dir / slug)
        target = (
            output / slug / "results" / f"{profile}.json"
            if output
            else results_path(technique, profile, project.build_path)
        )
        outcomes = record(technique, project, profile, target, entries)
        runs = [
            NotebookRun(
                slug,
                stem,
                project.root / e.get("script", stem),
                Path(),
                e.get("status", "error"),
                float(e.get("wall_seconds") or 0),
                metrics=e.get("metrics"),
                cache="merged",
            )
            for stem, e in sorted(entries.items())
        ]
        reports.append(TechniqueReport(technique, profile, runs, outcomes, target))
    return reports
