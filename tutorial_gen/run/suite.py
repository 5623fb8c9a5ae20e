"""Suite: run many notebooks: plan, shard, reuse cached results, execute (in parallel), record.

Each notebook's entry is recorded as soon as it finishes, so a later notebook that cannot start,
a crash or an interrupt never loses the results of those that finished before it.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, NamedTuple

from ..build import BuiltNotebook
from ..errors import ConfigError, ExecutionError, did_you_mean
from ..model import CacheState, Environment, ProgressKind, Project, RunRequest, Technique
from .cache import run_inputs
from .execute import NotebookRun, launch_kernel, run_notebook
from .kernel import KernelLaunch
from .lifetime import die_with_parent, sweep_stale
from .plan import Job, longest_first, plan, shard
from .preflight import parameter_names, preflight
from .progress import ProgressEvent, ProgressHook
from .provenance import require_clean
from .recorder import Recorder, TechniqueReport
from .store import read_results, request_results_path


class Pending(NamedTuple):
    """A job the cache cannot answer: it runs."""

    job: Job
    digest: str
    overrides: dict[str, Any]
    built: BuiltNotebook


def _cached(
    job: Job, digest: str, request: RunRequest, build_dir: Path
) -> tuple[NotebookRun, Environment | None] | None:
    """The stored run of an unchanged notebook, and the stamp of where it was measured."""
    results = read_results(request_results_path(job.technique, request, build_dir))
    entry = results.entry(job.notebook.stem) if results else None
    if results is None or entry is None or not entry.ok or entry.inputs != digest:
        return None
    executed = build_dir / job.technique.slug / request.profile / f"{job.notebook.stem}.ipynb"
    run = NotebookRun(
        job.technique.slug,
        job.notebook.stem,
        job.notebook.script,
        executed,
        entry.status,
        entry.wall_seconds,
        metrics=entry.metrics,
        parameters=entry.parameters,
        cells=[c.to_json() for c in entry.cells],
        inputs=digest,
        cache=CacheState.HIT,
        finished=entry.finished,
        seed_metrics=entry.seed_metrics,
    )
    return run, results.environment


_EVENTS: Any = None  # the progress queue of a worker process


def _worker_exit(signum: int, frame: Any) -> None:
    # Leave at once: the kernel dies with this process (its parent-death signal), and the parent
    # reports the interruption. Unwinding instead could block on a queue whose reader is gone.
    os._exit(128 + signum)


def _worker_init(events: Any) -> None:
    """A worker: progress goes to `events`; the parent alone decides when to stop (Ctrl-C goes
    to the whole process group), and a parent that dies takes its workers with it."""
    global _EVENTS
    _EVENTS = events
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_exit)
    die_with_parent(signal.SIGTERM)


def _execute(
    pending: Pending,
    project: Project,
    request: RunRequest,
    progress: ProgressHook | None = None,
    launch: KernelLaunch | None = None,
) -> NotebookRun:
    """Run one job (in this process or in a worker, where progress goes to the queue)."""
    if progress is None and _EVENTS is not None:
        progress = _EVENTS.put
    job = pending.job
    run = run_notebook(
        job.technique,
        job.notebook,
        project,
        dataclasses.replace(request, overrides=pending.overrides),
        progress=progress,
        built=pending.built,
        launch=launch,
    )
    run.inputs = pending.digest
    return run


def _check_overrides(jobs: list[Job], request: RunRequest) -> dict[str, set[str]]:
    accepted = {job.label: parameter_names(job.notebook) for job in jobs}
    for name in request.overrides:
        if jobs and not any(name in names for names in accepted.values()):
            known = set().union(*accepted.values())
            raise ConfigError(
                f"no selected notebook has a parameter '{name}'{did_you_mean(name, known)}",
                hint="see the cell tagged 'parameters' of each script",
            )
    return accepted


def run_suite(
    selection: list[tuple[Technique, list[str] | None]],
    project: Project,
    request: RunRequest,
    *,
    progress: ProgressHook | None = None,
) -> list[TechniqueReport]:
    """Run the selected notebooks and record their results; one report per technique."""
    require_clean(selection, project, request)  # before anything runs
    build_dir = (request.build_dir or project.build_path).resolve()
    request = dataclasses.replace(request, build_dir=build_dir)
    sweep_stale(build_dir)  # connection files of runs that were killed
    jobs = plan(selection, request.profile, build_dir, request.force)
    if request.shard:
        jobs = shard(jobs, *request.shard)
    accepted = _check_overrides(jobs, request)
    recorder = Recorder(project, request, build_dir)
    with _LookAhead(request, build_dir) as ahead:
        if jobs:  # boots while the cache is checked; wasted (and killed) if the job is a hit
            ahead.launch(jobs[0])
        pending = _check_cache(jobs, project, request, accepted, recorder, progress)
        if request.jobs <= 1 or len(pending) <= 1:
            for index, item in enumerate(pending):
                launch = ahead.take(item.job)
                if index + 1 < len(pending):  # the next kernel boots while this job runs
                    ahead.launch(pending[index + 1].job)
                recorder(item.job, _execute(item, project, request, progress, launch))
        else:
            ahead.discard()
            _run_parallel(pending, project, request, progress, recorder)
    reports = [recorder.report(technique, jobs) for technique, _ in selection]
    return [report for report in reports if report]


class _LookAhead:
    """At most one kernel started ahead of its job, in a serial run in this environment, so that
    it boots while the previous job runs (or while the cache is checked). Leaving the block kills
    a kernel that no job took."""

    def __init__(self, request: RunRequest, build_dir: Path) -> None:
        self.enabled = request.jobs <= 1 and not request.clean_env and request.stack is None
        self.profile = request.profile
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
    request: RunRequest,
    accepted: dict[str, set[str]],
    recorder: Recorder,
    progress: ProgressHook | None,
) -> list[Pending]:
    """Preflight and build every job; record the cache hits, return the misses."""
    pending: list[Pending] = []
    for job in jobs:
        overrides = {k: v for k, v in request.overrides.items() if k in accepted[job.label]}
        built, digest = run_inputs(  # first: names syntax errors
            job.technique,
            job.notebook,
            project,
            request.profile,
            overrides,
            request.clean_env,
            request.seeds,
            request.stack,
        )
        preflight(job.technique, job.notebook, request.profile)
        assert request.build_dir is not None
        hit = None if request.force else _cached(job, digest, request, request.build_dir)
        if hit:
            recorder.reuse(job, *hit)
            if progress:
                progress(ProgressEvent(job.label, ProgressKind.CACHED, 0, 0, hit[0].wall_seconds))
        else:
            pending.append(Pending(job, digest, overrides, built))
    return pending


def _run_parallel(
    pending: list[Pending],
    project: Project,
    request: RunRequest,
    progress: ProgressHook | None,
    recorder: Callable[[Job, NotebookRun], None],
) -> None:
    """Run jobs in worker processes, each kernel limited to its share of the cores, the longest
    expected first (a long notebook started last would leave the other workers idle)."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    threaded = dataclasses.replace(request, threads=max(1, (os.cpu_count() or 1) // request.jobs))
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
    try:
        with ProcessPoolExecutor(
            request.jobs, mp_context=context, initializer=_worker_init, initargs=(events,)
        ) as pool:
            try:
                ordered = sorted(pending, key=lambda item: longest_first(item.job))
                futures = {pool.submit(_execute, item, project, threaded): item for item in ordered}
                for future in as_completed(futures):
                    recorder(futures[future].job, future.result())
            except BaseException as interruption:  # stop the workers (and their kernels)
                pool.shutdown(wait=False, cancel_futures=True)
                _stop_workers()
                sweep_stale(request.build_dir or Path())  # the stopped kernels' connection files
                interruption.workers_stopped = True  # type: ignore[attr-defined]  (the CLI tidies up)
                raise
    finally:
        stop.set()
        relay_thread.join()
        events.close()
        events.join_thread()


def _stop_workers(grace: float = 10.0) -> None:
    """SIGTERM every worker (each stops its kernel on the way out), then wait for them."""
    workers = multiprocessing.active_children()
    for worker in workers:
        worker.terminate()
    deadline = time.monotonic() + grace
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()


def run_technique(
    technique: Technique,
    project: Project,
    request: RunRequest,
    *,
    stems: list[str] | None = None,
    progress: ProgressHook | None = None,
) -> TechniqueReport:
    """Run one technique's notebooks (all, or `stems`) and check its claims."""
    [report] = run_suite([(technique, stems)], project, request, progress=progress)
    return report
