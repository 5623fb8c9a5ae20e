"""Execute: run each notebook headlessly with papermill, harvest its metrics, check its claims.

A run works on a copy in the build folder, never on the sources. The copy gets one extra last cell
that reports the declared metrics from the kernel's variables as a custom MIME output, so the
notebook itself never imports tutorial_gen (in Colab it does not exist).
"""

from __future__ import annotations

import ast
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from . import claims as claims_mod
from .build import BuiltNotebook, build_notebook, parse_script
from .config import Notebook, Project, Technique
from .errors import ConfigError, ExecutionError
from .fileio import dump_json, read_text, write_atomic
from .results import environment_stamp

KERNEL_NAME = "tutorial-gen"
METRICS_MIME = "application/vnd.tutorial-gen.metrics+json"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE = re.compile(r"Cell In\[(\d+)\], line (\d+)")

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
    from .config import _line_of
    from .errors import did_you_mean

    for name in overrides:
        if name not in declared:
            raise ConfigError(
                f"profile '{profile}' sets '{name}', which the parameters cell of "
                f"{notebook.script.name} does not define{did_you_mean(name, declared)}",
                path=technique.path,
                line=_line_of(technique.path, name),
            )
    code = "\n".join(
        c.source
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


# --------------------------------------------------------------------------- kernel


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Make sure a kernelspec `name` runs this interpreter; install it into sys.prefix if not."""
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
        if spec.argv and Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return name
    except NoSuchKernel:
        pass
    install(kernel_name=name, display_name=f"Python 3 ({name})", prefix=sys.prefix)
    return name


# --------------------------------------------------------------------------- one notebook


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    technique: str
    stem: str
    script: Path
    executed: Path
    status: str  # ok | error
    wall_seconds: float
    metrics: dict[str, Any] | None = None
    error: ExecutionError | None = None
    cells: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self, project: Project) -> dict[str, Any]:
        return {
            "script": project.relpath(self.script),
            "status": self.status,
            "wall_seconds": round(self.wall_seconds, 2),
            "metrics": self.metrics,
            "error": str(self.error) if self.error else None,
            "cells": self.cells,
        }


def _run_copy(built: BuiltNotebook, metric_names: list[str]) -> nbformat.NotebookNode:
    """The notebook as it runs: script lines recorded per cell, the harvest cell appended."""
    notebook = nbformat.from_dict(json.loads(built.text))
    for cell, line in zip(notebook.cells, built.source_lines, strict=True):
        cell.metadata["tutorial_gen"] = {"line": line}
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


def _locate_failure(executed: Path, error: PapermillExecutionError) -> tuple[str, int | None]:
    """`where` text and the script line of the cell that raised."""
    try:
        notebook = nbformat.read(executed, as_version=4)
    except Exception:  # the executed copy is best effort; the error is what matters
        return "a cell", None
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.get("execution_count") == error.exec_count:
            start = cell.metadata.get("tutorial_gen", {}).get("line")
            traceback = _ANSI.sub("", "\n".join(error.traceback or []))
            hits = [
                int(m.group(2))
                for m in _CELL_LINE.finditer(traceback)
                if int(m.group(1)) == error.exec_count
            ]
            if start is None:
                return "a generated cell (setup or an inlined snippet)", None
            return "", start + (hits[-1] - 1 if hits else 0)
    return "a cell", None


ProgressHook = Callable[[str, int, int, float], None]


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
) -> NotebookRun:
    """Execute one notebook in a fresh kernel and harvest its metrics.

    `overrides` replace parameters on top of the profile's (for one-off experiments).
    """
    preflight(technique, notebook, profile)
    built = build_notebook(notebook.script, project)
    out_dir = build_dir / technique.slug / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    work_dir = out_dir / f"{notebook.stem}.cwd"
    work_dir.mkdir(exist_ok=True)
    source = out_dir / f"{notebook.stem}.input.ipynb"
    executed = out_dir / f"{notebook.stem}.ipynb"
    write_atomic(source, nbformat.writes(_run_copy(built, list(notebook.metrics))))
    label = f"{technique.slug}/{notebook.stem}"
    total = sum(1 for c in built.notebook.cells if c.cell_type == "code") + 1
    started = time.monotonic()
    done = {"cells": 0}

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        if cell.cell_type == "code":
            done["cells"] += 1
            if progress:
                progress(label, done["cells"], total, time.monotonic() - started)

    def finished(status: str, error: ExecutionError | None = None, **more: Any) -> NotebookRun:
        return NotebookRun(
            technique.slug,
            notebook.stem,
            notebook.script,
            executed,
            status,
            time.monotonic() - started,
            error=error,
            **more,
        )

    kernel = ensure_kernel()
    try:
        papermill.execute_notebook(
            str(source),
            str(executed),
            parameters={**notebook.profiles.get(profile, {}), **(overrides or {})},
            kernel_name=kernel,
            language="python",
            cwd=str(work_dir),
            progress_bar=False,
            log_output=log_output,
            execution_timeout=notebook.cell_timeout,
            on_cell_executed=on_cell_executed,
        )
    except PapermillExecutionError as error:
        where, line = _locate_failure(executed, error)
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
    except Exception as error:  # kernel death, timeouts, zmq trouble: all end this notebook
        return finished(
            "error",
            ExecutionError(
                f"the run stopped: {type(error).__name__}: {error}", path=notebook.script
            ),
        )
    result = nbformat.read(executed, as_version=4)
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


# --------------------------------------------------------------------------- a technique


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


def results_path(technique: Technique, project: Project, profile: str, build_dir: Path) -> Path:
    """Where a profile's results go: committed for `full`, in the build folder otherwise."""
    if profile == "full":
        return technique.folder / "results" / "full.json"
    return build_dir / technique.slug / "results" / f"{profile}.json"


def run_technique(
    technique: Technique,
    project: Project,
    profile: str,
    *,
    stems: list[str] | None = None,
    build_dir: Path | None = None,
    progress: ProgressHook | None = None,
    log_output: bool = False,
    overrides: dict[str, Any] | None = None,
) -> TechniqueReport:
    """Run the technique's notebooks (all, or `stems`), check every claim, write the results."""
    build_dir = build_dir or project.build_path
    selected = [nb for stem, nb in technique.notebooks.items() if stems is None or stem in stems]
    runs = [
        run_notebook(
            technique,
            nb,
            project,
            profile,
            build_dir,
            progress=progress,
            log_output=log_output,
            overrides=overrides,
        )
        for nb in selected
    ]
    path = results_path(technique, project, profile, build_dir)
    previous = _read_previous(path)
    notebooks = dict(previous.get("notebooks", {}))
    for run in runs:
        notebooks[run.stem] = run.to_json(project)
    notebooks = {k: v for k, v in notebooks.items() if k in technique.notebooks}
    metrics = {
        stem: (entry.get("metrics") if entry.get("status") == "ok" else None)
        for stem, entry in notebooks.items()
    }
    outcomes = claims_mod.check_all(technique.claims, metrics, profile)
    data = {
        "schema": 1,
        "technique": technique.slug,
        "profile": profile,
        "environment": environment_stamp(project),
        "notebooks": dict(sorted(notebooks.items())),
        "claims": [c.to_json() for c in outcomes],
    }
    write_atomic(path, dump_json(data))
    return TechniqueReport(technique, profile, runs, outcomes, path)


def _read_previous(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError:
        return {}
