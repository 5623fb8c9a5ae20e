"""Execute: run one notebook headlessly with papermill and harvest its metrics.

A run works on a copy in the build folder, never on the sources. The copy gets one extra last cell
that reports the declared metrics from the kernel's variables as a custom MIME output, so the
notebook itself never imports tutorial_gen (in Colab it does not exist). Whatever goes wrong (a
cell raises, a cell or the notebook runs out of time, the kernel dies), the executed notebook is
saved with the failing cell marked, and the error names the script file and line.
"""

from __future__ import annotations

import ast
import datetime as _dt
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from .build import BuiltNotebook, build_notebook, ipython_to_python, parse_script
from .cleanenv import clean_kernel, with_jupyter_path
from .config import Notebook, Project, Technique, _line_of
from .errors import ConfigError, ExecutionError, did_you_mean
from .fileio import write_atomic
from .kernel import KernelLaunch, ensure_kernel, tail, thread_limits

METRICS_MIME = "application/vnd.tutorial-gen.metrics+json"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE = re.compile(r"Cell In\[(\d+)\], line (\d+)")
_CRASH_FRAME = re.compile(r'File "[^"]*ipykernel_\d+[/\\]\d+\.py", line (\d+) in <module>')

HARVEST_SOURCE = """\
def _tutorial_gen_value(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if isinstance(value, dict):
        return {str(k): _tutorial_gen_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tutorial_gen_value(v) for v in value]
    return {"__unsupported__": type(value).__name__}


def _tutorial_gen_harvest(names):
    found = {}
    for name in names:
        for key in (name, name + "_unmeasured_reason"):
            if key in globals():
                found[key] = _tutorial_gen_value(globals()[key])
    return found


from IPython.display import display as _tutorial_gen_display

_tutorial_gen_display({%(mime)r: _tutorial_gen_harvest(%(names)r)}, raw=True)
"""


# --------------------------------------------------------------------------- preflight


def _assigned_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For | ast.NamedExpr):
            targets = [node.target]
        elif isinstance(node, ast.With):
            targets = [item.optional_vars for item in node.items if item.optional_vars]
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _normalise_space(text: str) -> str:
    return " ".join(text.split())


def parameter_names(notebook: Notebook) -> set[str]:
    """The names the notebook's `parameters` cell assigns."""
    return set(parameter_defaults(notebook))


def parameter_defaults(notebook: Notebook) -> dict[str, Any]:
    """The `parameters` cell as {name: value}: the full profile (None for a non-literal value)."""
    parsed, _ = parse_script(notebook.script)
    cells = [c for c in parsed.cells if "parameters" in c.metadata.get("tags", [])]
    defaults: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body if cells else []:
        if isinstance(node, ast.Assign):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                value = None
            for target in node.targets:
                if isinstance(target, ast.Name):
                    defaults[target.id] = value
    return defaults


def preflight(technique: Technique, notebook: Notebook, profile: str) -> None:
    """Static checks that save a run: profile parameters exist, metrics are assigned, phrases exist."""
    parsed, _ = parse_script(notebook.script)
    parameters = [c for c in parsed.cells if "parameters" in c.metadata.get("tags", [])]
    overrides = notebook.profiles.get(profile, {})
    if overrides and not parameters:
        raise ConfigError(
            f"profile '{profile}' of {notebook.script.name} sets parameters, but the "
            "script has no cell tagged 'parameters'",
            path=technique.path,
            hint='tag the cell with `# %% tags=["parameters"]`',
        )
    declared = _assigned_names(parameters[0].source) if parameters else set()
    for name in overrides:
        if name not in declared:
            raise ConfigError(
                f"profile '{profile}' sets '{name}', which the parameters cell of "
                f"{notebook.script.name} does not define{did_you_mean(name, declared)}",
                path=technique.path,
                line=_line_of(technique.path, name),
            )
    code = "\n".join(
        ipython_to_python(c.source)
        for c in parsed.cells
        if c.cell_type == "code" and not c.source.strip().startswith("# tutorial-gen:")
    )
    assigned = _assigned_names(code)
    for name in notebook.metrics:
        if name not in assigned:
            raise ConfigError(
                f"metric '{name}' is declared for {notebook.script.name}, but the "
                f"script never assigns it{did_you_mean(name, assigned)}",
                path=technique.path,
                line=_line_of(technique.path, name),
            )
    prose = _normalise_space("\n".join(c.source for c in parsed.cells if c.cell_type == "markdown"))
    for claim in technique.claims:
        if claim.notebook == notebook.stem and _normalise_space(claim.phrase) not in prose:
            raise ConfigError(
                f"claim '{claim.id}': the phrase \"{claim.phrase}\" does not appear "
                f"in the prose of {notebook.script.name}",
                path=technique.path,
                line=claim.line,
                hint="the claim must back a sentence the reader sees",
            )


# --------------------------------------------------------------------------- one notebook


@dataclass(frozen=True)
class ProgressEvent:
    """Something a running notebook did: a cell started or finished, or the notebook ended."""

    label: str
    kind: str  # start | cell | done
    done: int
    total: int
    elapsed: float
    line: int | None = None


ProgressHook = Callable[[ProgressEvent], None]


@dataclass
class NotebookRun:
    """The outcome of executing (or reusing) one notebook."""

    technique: str
    stem: str
    script: Path
    executed: Path
    status: str  # ok | error
    wall_seconds: float
    metrics: dict[str, Any] | None = None
    error: ExecutionError | None = None
    cells: list[dict[str, Any]] = field(default_factory=list)
    inputs: str | None = None  # digest of everything the run depended on
    parameters: dict[str, Any] = field(default_factory=dict)  # the values the run used
    cache: str = "miss"  # miss | hit
    finished: str | None = None

    def to_json(self, project: Project) -> dict[str, Any]:
        return {
            "script": project.relpath(self.script),
            "status": self.status,
            "wall_seconds": round(self.wall_seconds, 2),
            "metrics": self.metrics,
            "error": str(self.error) if self.error else None,
            "cells": self.cells,
            "inputs": self.inputs,
            "parameters": self.parameters,
            "finished": self.finished,
        }


def _run_copy(built: BuiltNotebook, metric_names: list[str]) -> nbformat.NotebookNode:
    """The notebook as it runs: script lines recorded per cell, the harvest cell appended."""
    notebook = nbformat.from_dict(json.loads(built.text))
    for cell, line, tags in zip(notebook.cells, built.source_lines, built.tags, strict=True):
        cell.metadata["tutorial_gen"] = {"line": line}
        if tags:
            cell.metadata["tags"] = list(tags)
    harvest = nbformat.v4.new_code_cell(
        HARVEST_SOURCE % {"mime": METRICS_MIME, "names": sorted(metric_names)},
        id="tutorial-gen-harvest",
    )
    harvest.metadata["tags"] = ["tutorial-gen-harvest"]
    notebook.cells.append(harvest)
    return notebook


def _harvested(notebook: nbformat.NotebookNode) -> dict[str, Any] | None:
    for cell in reversed(notebook.cells):
        if "tutorial-gen-harvest" in cell.metadata.get("tags", []):
            for output in cell.get("outputs", []):
                if METRICS_MIME in output.get("data", {}):
                    return dict(output["data"][METRICS_MIME])
    return None


def _cell_durations(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    rows = []
    for index, cell in enumerate(notebook.cells):
        duration = cell.metadata.get("papermill", {}).get("duration")
        if cell.cell_type == "code" and duration is not None:
            rows.append(
                {
                    "index": index,
                    "line": cell.metadata.get("tutorial_gen", {}).get("line"),
                    "seconds": round(float(duration), 3),
                }
            )
    return rows


def _locate_failure(
    notebook: nbformat.NotebookNode, exec_count: int | None, traceback: list[str]
) -> tuple[str, int | None]:
    """`where` text and the script line of the cell that raised."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.get("execution_count") == exec_count:
            start = cell.metadata.get("tutorial_gen", {}).get("line")
            text = _ANSI.sub("", "\n".join(traceback or []))
            hits = [
                int(m.group(2)) for m in _CELL_LINE.finditer(text) if int(m.group(1)) == exec_count
            ]
            if start is None:
                return "a generated cell (setup, an inlined snippet or the harvest)", None
            return "", start + (hits[-1] - 1 if hits else 0)
    return "a cell", None


def _mark_stopped_cell(path: Path, index: int | None, message: str) -> int | None:
    """Put a red marker before the cell that was running when the run stopped; its script line."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # nothing was saved: there is nothing to mark
        return None
    if index is None or not 0 <= index < len(notebook.cells):
        return None
    line = notebook.cells[index].metadata.get("tutorial_gen", {}).get("line")
    marker = nbformat.v4.new_markdown_cell(
        f'<span style="color:red">Execution stopped in the next cell: {message}</span>',
        id=f"tutorial-gen-stopped-{index}",
    )
    marker.metadata["tags"] = ["tutorial-gen-stopped"]
    notebook.cells[index].metadata.setdefault("tags", []).append("tutorial-gen-failed-cell")
    notebook.cells.insert(index, marker)
    write_atomic(path, nbformat.writes(notebook))
    return line


def _describe(error: BaseException) -> str:
    name = type(error).__name__
    if name == "DeadKernelError":
        return "the kernel died (crashed, exited or was killed, e.g. for memory)"
    if name == "CellTimeoutError":
        return "a cell ran out of time"
    if isinstance(error, _BudgetExceeded):
        return str(error)
    return f"{name}: {error}"


class _BudgetExceeded(Exception):
    """The whole-notebook time budget ran out between two cells."""


def run_notebook(
    technique: Technique,
    notebook: Notebook,
    project: Project,
    profile: str,
    build_dir: Path,
    *,
    progress: ProgressHook | None = None,
    log_output: bool = False,
    overrides: dict[str, Any] | None = None,
    cell_timeout: int | None = None,
    budget: float | None = None,
    threads: int | None = None,
    clean_env: bool = False,
    built: BuiltNotebook | None = None,
    launch: KernelLaunch | None = None,
) -> NotebookRun:
    """Execute one notebook in a fresh kernel and harvest its metrics.

    `overrides` replace parameters on top of the profile's; `cell_timeout` (seconds per cell) and
    `budget` (seconds for the whole notebook) bound the run; `threads` limits the kernel's threads;
    `clean_env` runs the kernel in an environment holding only what the setup cell installs.
    `built` is the notebook as `build_notebook` made it, from a caller that has already built it
    and passed it through `preflight`; `launch` is its kernel from `launch_kernel`, already booting
    (the run stops it).
    """
    try:
        if built is None:
            preflight(technique, notebook, profile)
            built = build_notebook(notebook.script, project)
        if launch is None:
            launch = _own_launch(
                technique, notebook, profile, build_dir, built, project, threads, clean_env
            )
        return _execute_launched(
            technique,
            notebook,
            project,
            profile,
            built,
            launch,
            progress=progress,
            log_output=log_output,
            overrides=overrides,
            cell_timeout=cell_timeout,
            budget=budget,
        )
    finally:
        if launch is not None:  # whatever happened, no kernel outlives its run
            launch.stop()


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
) -> KernelLaunch:
    """Start the kernel for a run of `notebook` before the run needs it: `kernel` (a kernelspec
    name), by default this environment's."""
    folder = work_folder(technique, notebook, profile, build_dir)
    return KernelLaunch(kernel or ensure_kernel(), folder, thread_limits(threads))


def _own_launch(
    technique: Technique,
    notebook: Notebook,
    profile: str,
    build_dir: Path,
    built: BuiltNotebook,
    project: Project,
    threads: int | None,
    clean_env: bool,
) -> KernelLaunch:
    if not clean_env:
        return launch_kernel(technique, notebook, profile, build_dir, threads)
    kernel, jupyter = clean_kernel(built, project, build_dir)
    saved = os.environ.get("JUPYTER_PATH")
    os.environ.update(with_jupyter_path(jupyter))  # where the kernel's spec is found
    try:
        return launch_kernel(technique, notebook, profile, build_dir, threads, kernel)
    finally:
        if saved is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = saved


def _execute_launched(
    technique: Technique,
    notebook: Notebook,
    project: Project,
    profile: str,
    built: BuiltNotebook,
    launch: KernelLaunch,
    *,
    progress: ProgressHook | None,
    log_output: bool,
    overrides: dict[str, Any] | None,
    cell_timeout: int | None,
    budget: float | None,
) -> NotebookRun:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .engine import ENGINE_NAME

    work_dir = launch.folder
    out_dir = work_dir.parent
    source = work_dir / "input.ipynb"
    partial = work_dir / "executed.ipynb"
    capture = launch.capture
    executed = out_dir / f"{notebook.stem}.ipynb"
    write_atomic(source, nbformat.writes(_run_copy(built, list(notebook.metrics))))
    label = f"{technique.slug}/{notebook.stem}"
    total = sum(1 for c in built.notebook.cells if c.cell_type == "code") + 1
    cell_timeout = cell_timeout or notebook.cell_timeout
    started = time.monotonic()
    state: dict[str, Any] = {"done": 0, "index": None}

    def emit(kind: str, line: int | None = None) -> None:
        if progress:
            progress(
                ProgressEvent(label, kind, state["done"], total, time.monotonic() - started, line)
            )

    def on_cell_start(cell: Any, cell_index: int) -> None:
        state["index"] = cell_index
        if budget is not None and time.monotonic() - started > budget:
            raise _BudgetExceeded(f"the notebook ran out of its {budget:g} s budget")
        if cell.cell_type == "code":
            emit("start", cell.metadata.get("tutorial_gen", {}).get("line"))

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        if cell.cell_type == "code":
            state["done"] += 1
            emit("cell")

    def timeout_for(cell: Any) -> int:
        if budget is None:
            return cell_timeout
        left = budget - (time.monotonic() - started)
        return max(1, int(min(cell_timeout, left) + 0.999))

    def finished(status: str, error: ExecutionError | None = None, **more: Any) -> NotebookRun:
        if partial.is_file():
            os.replace(partial, executed)
        if status == "ok":  # a failed run keeps its folder (input, kernel log) for a post-mortem
            shutil.rmtree(work_dir, ignore_errors=True)
        emit("done")
        return NotebookRun(
            technique.slug,
            notebook.stem,
            notebook.script,
            executed,
            status,
            time.monotonic() - started,
            error=error,
            parameters={**parameter_defaults(notebook), **parameters},
            finished=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **more,
        )

    parameters = {**notebook.profiles.get(profile, {}), **(overrides or {})}
    try:
        papermill.execute_notebook(
            str(source),
            str(partial),
            parameters=parameters,
            kernel_name=launch.manager.kernel_name,
            engine_name=ENGINE_NAME,
            language="python",
            cwd=str(work_dir),
            progress_bar=False,
            log_output=log_output,
            on_cell_start=on_cell_start,
            on_cell_executed=on_cell_executed,
            timeout_func=timeout_for,
            # the kernel is ours: nbclient connects to it and leaves stopping it to `launch`,
            # which kills it at once rather than waiting for its interpreter's clean-up
            km=launch.manager,
        )
    except PapermillExecutionError as error:
        saved = nbformat.read(partial, as_version=4)
        where, line = _locate_failure(saved, error.exec_count, error.traceback)
        raised_in = f"raised in {where}; " if where else ""
        return finished(
            "error",
            ExecutionError(
                f"{error.ename}: {error.evalue} ({raised_in}failing cell marked in "
                f"{project.relpath(executed)})",
                path=notebook.script,
                line=line,
            ),
        )
    except Exception as error:  # kernel death, timeouts, budget: the run ends here
        reason = _describe(error)
        line = _mark_stopped_cell(partial, state["index"], reason)
        stderr = tail(capture)
        frame = _CRASH_FRAME.findall(stderr)
        if line is not None and frame:  # the crash report names the line inside the cell
            line += int(frame[0]) - 1
        detail = f"; the kernel's last output:\n{stderr}" if stderr else ""
        return finished(
            "error",
            ExecutionError(
                f"{reason} (failing cell marked in {project.relpath(executed)}){detail}",
                path=notebook.script,
                line=line,
            ),
        )
    finally:
        launch.stop()  # before the folder goes: the kernel runs in it
    result = nbformat.read(partial, as_version=4)
    metrics = _harvested(result)
    cells = _cell_durations(result)
    problem = _metrics_problem(notebook, metrics)
    if problem:
        return finished(
            "error", ExecutionError(problem, path=notebook.script), metrics=metrics, cells=cells
        )
    return finished("ok", metrics=metrics, cells=cells)


def _metrics_problem(notebook: Notebook, metrics: dict[str, Any] | None) -> str | None:
    """Why harvested metrics are unusable, or None when they are fine."""
    if metrics is None:
        return "the harvest cell produced no metrics"
    missing = sorted(n for n in notebook.metrics if n not in metrics)
    if missing:
        return f"metrics never set: {', '.join(missing)}"
    unsupported = sorted(
        n for n, v in metrics.items() if isinstance(v, dict) and "__unsupported__" in v
    )
    if unsupported:
        return (
            f"metrics of unsupported type: {', '.join(unsupported)} "
            "(use numbers, None, or lists of flat dicts)"
        )
    return None
