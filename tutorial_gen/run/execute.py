"""Execute: run one notebook headlessly with papermill in a fresh kernel, and harvest its metrics.

A run works on a copy in the build folder, never on the sources. Whatever goes wrong (a cell
raises, a cell or the notebook runs out of time, the kernel dies), the executed notebook is saved
with the failing cell marked, and the error names the script file and line.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ..build import BuiltNotebook, build_notebook
from ..build.foreign import foreign_notebook
from ..build.variant import for_stack
from ..errors import ExecutionError
from ..fileio import write_atomic
from ..model import (
    SEED_PARAMETER,
    CacheState,
    CellTiming,
    Notebook,
    NotebookEntry,
    ProgressKind,
    Project,
    RunRequest,
    RunStatus,
    Stack,
    Technique,
)
from .cleanenv import clean_kernel, with_jupyter_path
from .failure import (
    CRASH_FRAME,
    BudgetExceeded,
    describe,
    locate_failure,
    mark_stopped_cell,
    network_need,
)
from .harvest import cell_durations, harvested, metrics_problem, run_copy
from .kernel import KernelLaunch, ensure_kernel, tail, thread_limits
from .models import keep_staged, staging_env
from .preflight import parameter_defaults, preflight
from .progress import ProgressEvent, ProgressHook
from .seeds import combined_metrics, decided_claims, seeds_for
from .stackenv import stack_kernel

IOPUB_TIMEOUT = 120  # seconds a cell's outputs may trail its reply


@dataclass
class NotebookRun:
    """The outcome of executing (or reusing) one notebook."""

    technique: str
    stem: str
    script: Path
    executed: Path
    status: RunStatus
    wall_seconds: float
    metrics: dict[str, Any] | None = None
    error: ExecutionError | None = None
    cells: list[dict[str, Any]] = field(default_factory=list)
    inputs: str | None = None  # digest of everything the run depended on
    parameters: dict[str, Any] = field(default_factory=dict)  # the values the run used
    cache: CacheState = CacheState.MISS
    finished: str | None = None
    seed_metrics: dict[int, dict[str, Any]] | None = None  # each seed's, over several seeds

    @property
    def label(self) -> str:
        return f"{self.technique}/{self.stem}"

    def entry(self, project: Project) -> NotebookEntry:
        """This run as its results-file entry."""
        return NotebookEntry(
            script=project.relpath(self.script),
            status=self.status,
            wall_seconds=self.wall_seconds,
            metrics=self.metrics,
            error=str(self.error) if self.error else None,
            cells=tuple(CellTiming(c["index"], c["line"], c["seconds"]) for c in self.cells),
            inputs=self.inputs,
            parameters=self.parameters,
            finished=self.finished,
            seed_metrics=self.seed_metrics,
        )


def work_folder(technique: Technique, notebook: Notebook, profile: str, build_dir: Path) -> Path:
    """A new folder for one run of `notebook`: its input, its partial output, its kernel's log."""
    out_dir = build_dir / technique.slug / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{notebook.stem}.", dir=out_dir))


def launch_kernel(
    technique: Technique,
    notebook: Notebook,
    profile: str,
    build_dir: Path,
    threads: int | None = None,
    kernel: str | None = None,
    environ: dict[str, str | None] | None = None,
    under: Path | None = None,
) -> KernelLaunch:
    """Start the kernel for a run of `notebook` before the run needs it: `kernel` (a kernelspec
    name), by default this environment's; `under`, the environment its run's overlay lies over
    (a stack's), where `kernel` is not an environment of its own."""
    folder = work_folder(technique, notebook, profile, build_dir)
    env = {**thread_limits(threads), **staging_env(notebook, profile, folder), **(environ or {})}
    isolate = kernel is None or under is not None  # a clean environment's kernel is its own
    return KernelLaunch(kernel or ensure_kernel(), folder, env, isolate, under)


def _own_launch(
    technique: Technique,
    notebook: Notebook,
    built: BuiltNotebook,
    project: Project,
    request: RunRequest,
    build_dir: Path,
) -> KernelLaunch:
    profile, threads = request.profile, request.threads
    environments = request.environments or build_dir
    environ: dict[str, str | None] = {}
    if request.stack is not None and not request.stack.legacy_keras:
        environ["TF_USE_LEGACY_KERAS"] = None  # as in a runtime where nobody set it
    under = None
    if request.stack is not None:
        kernel, jupyter, under = stack_kernel(request.stack, project, environments)
    elif request.clean_env:
        kernel, jupyter = clean_kernel(built, project, environments)
    else:
        return launch_kernel(technique, notebook, profile, build_dir, threads)
    saved = os.environ.get("JUPYTER_PATH")
    os.environ.update(with_jupyter_path(jupyter))  # where the kernel's spec is found
    try:
        return launch_kernel(
            technique, notebook, profile, build_dir, threads, kernel, environ, under
        )
    finally:
        if saved is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = saved


def build_for_run(
    technique: Technique, notebook: Notebook, project: Project, stack: Stack | None = None
) -> BuiltNotebook:
    """The notebook a run executes: ours as `build` makes it (as a stack without legacy Keras
    runs it, on such a stack), a foreign one as it is."""
    if technique.foreign:
        return foreign_notebook(notebook.script)
    return for_stack(build_notebook(notebook.script, project), stack, project.stacks.values())


def run_notebook(
    technique: Technique,
    notebook: Notebook,
    project: Project,
    request: RunRequest,
    *,
    progress: ProgressHook | None = None,
    built: BuiltNotebook | None = None,
    launch: KernelLaunch | None = None,
) -> NotebookRun:
    """Execute one notebook in a fresh kernel and harvest its metrics.

    `request` says the profile, the parameter overrides, the limits (`cell_timeout` per cell,
    `budget` per notebook, `threads`) and whether the kernel runs in a clean environment.
    `built` is the notebook as `build_notebook` made it, from a caller that has already built it
    and passed it through `preflight`; `launch` is its kernel from `launch_kernel`, already
    booting (the run stops it).
    """
    build_dir = (request.build_dir or project.build_path).resolve()
    try:
        if built is None:
            # first: it names a syntax error
            built = build_for_run(technique, notebook, project, request.stack)
            preflight(technique, notebook, request.profile)
        runs: dict[int, NotebookRun] = {}
        for seed in seeds_for(technique, notebook, request):
            if launch is None:
                try:
                    launch = _own_launch(technique, notebook, built, project, request, build_dir)
                except ExecutionError as error:  # this notebook fails; the others still run
                    return _not_started(technique, notebook, error)
            if seed is None:
                return _Execution(
                    technique, notebook, project, request, built, launch, progress
                ).run()
            seeded = dataclasses.replace(
                request, overrides={**request.overrides, SEED_PARAMETER: seed}
            )
            execution = _Execution(technique, notebook, project, seeded, built, launch, progress)
            runs[seed] = execution.run(seed_index=len(runs))
            launch.stop()
            launch = None
            if runs[seed].status != RunStatus.OK:
                break
        return _over_seeds(runs)
    finally:
        if launch is not None:  # whatever happened, no kernel outlives its run
            launch.stop()


def _over_seeds(runs: dict[int, NotebookRun]) -> NotebookRun:
    """One run of the notebook from its runs over several seeds (the first failure ends it)."""
    first, last = next(iter(runs.values())), list(runs.values())[-1]
    if last.status != RunStatus.OK:
        seed = list(runs)[-1]
        if last.error is not None:
            last.error = ExecutionError(
                f"seed {seed}: {last.error.message}",
                path=last.error.path,
                line=last.error.line,
                hint=last.error.hint,
            )
        last.wall_seconds = sum(r.wall_seconds for r in runs.values())
        return last
    per_seed = {seed: run.metrics or {} for seed, run in runs.items()}
    first.metrics = combined_metrics(per_seed)
    first.seed_metrics = per_seed
    first.wall_seconds = sum(r.wall_seconds for r in runs.values())
    first.parameters = {k: v for k, v in first.parameters.items() if k != SEED_PARAMETER}
    first.parameters["seeds"] = list(runs)
    first.finished = last.finished
    return first


def _not_started(technique: Technique, notebook: Notebook, error: ExecutionError) -> NotebookRun:
    return NotebookRun(
        technique.slug,
        notebook.stem,
        notebook.script,
        Path(),
        RunStatus.ERROR,
        0.0,
        error=ExecutionError(error.message, path=notebook.script, hint=error.hint),
        finished=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )


class _Execution:
    """One papermill execution in a launched kernel: its hooks, limits and outcome."""

    def __init__(
        self,
        technique: Technique,
        notebook: Notebook,
        project: Project,
        request: RunRequest,
        built: BuiltNotebook,
        launch: KernelLaunch,
        progress: ProgressHook | None,
    ) -> None:
        self.technique, self.notebook, self.project = technique, notebook, project
        self.request, self.built, self.launch, self.progress = request, built, launch, progress
        self.source = launch.folder / "input.ipynb"
        self.partial = launch.folder / "executed.ipynb"
        self.executed = launch.folder.parent / f"{notebook.stem}.ipynb"
        self.label = technique.label(notebook.stem)
        self.total = sum(1 for c in built.notebook.cells if c.cell_type == "code") + 1
        self.cell_timeout = request.cell_timeout or notebook.cell_timeout
        self.parameters = {**notebook.parameters(request.profile), **request.overrides}
        self.started = time.monotonic()
        self.done = 0
        self.index: int | None = None  # the cell running now

    def _emit(self, kind: ProgressKind, line: int | None = None) -> None:
        if self.progress:
            elapsed = time.monotonic() - self.started
            self.progress(ProgressEvent(self.label, kind, self.done, self.total, elapsed, line))

    def on_cell_start(self, cell: Any, cell_index: int) -> None:
        self.index = cell_index
        budget = self.request.budget
        if budget is not None and time.monotonic() - self.started > budget:
            raise BudgetExceeded(f"the notebook ran out of its {budget:g} s budget")
        if cell.cell_type == "code":
            self._emit(ProgressKind.START, cell.metadata.get("tutorial_gen", {}).get("line"))

    def on_cell_executed(self, cell: Any, cell_index: int, execute_reply: Any) -> None:
        if cell.cell_type == "code":
            self.done += 1
            self._emit(ProgressKind.CELL)

    def timeout_for(self, cell: Any) -> int:
        if self.request.budget is None:
            return self.cell_timeout
        left = self.request.budget - (time.monotonic() - self.started)
        return max(1, int(min(self.cell_timeout, left) + 0.999))

    def finished(
        self, status: RunStatus, error: ExecutionError | None = None, **more: Any
    ) -> NotebookRun:
        if self.partial.is_file():
            os.replace(self.partial, self.executed)
        if status == RunStatus.OK:  # a failed run keeps its folder (input, kernel log)
            keep_staged(self.launch.folder, self.executed)  # the models it kept, if any
            shutil.rmtree(self.launch.folder, ignore_errors=True)
        self._emit(ProgressKind.DONE)
        return NotebookRun(
            self.technique.slug,
            self.notebook.stem,
            self.notebook.script,
            self.executed,
            status,
            time.monotonic() - self.started,
            error=error,
            parameters={**parameter_defaults(self.notebook), **self.parameters},
            finished=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **more,
        )

    def _failed(self, message: str, line: int | None, raised_in: str = "", detail: str = ""):
        where = f"{raised_in}failing cell marked in {self.project.relpath(self.executed)}"
        error = ExecutionError(f"{message} ({where}){detail}", path=self.notebook.script, line=line)
        return self.finished(RunStatus.ERROR, error)

    def run(self, seed_index: int | None = None) -> NotebookRun:
        """Execute the notebook: one of several seeds when `seed_index` is given (the executed
        notebook of a later seed is saved beside the first's, as `<stem>.seed<N>.ipynb`)."""
        import papermill
        from papermill.exceptions import PapermillExecutionError

        from .engine import ENGINE_NAME

        if seed_index is not None:
            seed = self.parameters[SEED_PARAMETER]
            self.label = f"{self.label} (seed {seed})"
            if seed_index:
                self.executed = self.executed.with_name(f"{self.notebook.stem}.seed{seed}.ipynb")
        claims = decided_claims(self.technique, self.notebook, self.request.profile)
        copy = run_copy(self.built, list(self.notebook.metrics), claims)
        write_atomic(self.source, nbformat.writes(copy))
        try:
            papermill.execute_notebook(
                str(self.source),
                str(self.partial),
                parameters=self.parameters,
                kernel_name=self.launch.manager.kernel_name,
                engine_name=ENGINE_NAME,
                language="python",
                cwd=str(self.launch.folder),
                progress_bar=False,
                log_output=self.request.log_output,
                on_cell_start=self.on_cell_start,
                on_cell_executed=self.on_cell_executed,
                timeout_func=self.timeout_for,
                # the kernel is ours: nbclient connects to it and leaves stopping it to `launch`,
                # which kills it at once rather than waiting for its interpreter's clean-up
                km=self.launch.manager,
                # a cell's output may arrive after its reply; nbclient waits 4 s for it and then
                # drops it with a warning (a loaded machine lost a last print so): wait longer,
                # and fail the cell rather than lose its output
                iopub_timeout=IOPUB_TIMEOUT,
                raise_on_iopub_timeout=True,
            )
        except PapermillExecutionError as error:
            saved = nbformat.read(self.partial, as_version=4)
            where, line = locate_failure(saved, error.exec_count, error.traceback)
            needed = network_need(error.ename, error.evalue, error.traceback)
            if needed:  # not a bug of the notebook: this machine is offline
                return self._failed(f"needs the network: downloads {needed} in {where}", line)
            raised_in = f"raised in {where}; " if where else ""
            return self._failed(f"{error.ename}: {error.evalue}", line, raised_in)
        except Exception as error:  # kernel death, timeouts, budget: the run ends here
            return self._stopped(error)
        finally:
            self.launch.stop()  # before the folder goes: the kernel runs in it
        result = nbformat.read(self.partial, as_version=4)
        metrics = harvested(result)
        cells = cell_durations(result)
        problem = metrics_problem(self.notebook, metrics)
        if problem:
            error = ExecutionError(problem, path=self.notebook.script)
            return self.finished(RunStatus.ERROR, error, metrics=metrics, cells=cells)
        return self.finished(RunStatus.OK, metrics=metrics, cells=cells)

    def _stopped(self, error: Exception) -> NotebookRun:
        reason = describe(error)
        line = mark_stopped_cell(self.partial, self.index, reason)
        stderr = tail(self.launch.capture)
        frames = CRASH_FRAME.findall(stderr)
        if line is not None and frames:  # the crash report names the line inside the cell
            line += int(frames[0]) - 1
        detail = f"; the kernel's last output:\n{stderr}" if stderr else ""
        return self._failed(reason, line, detail=detail)
