"""Compat: every selected notebook on every declared stack, as a matrix.

Each stack gets its environment (`run.stackenv`: the stack's TensorFlow preinstalled, as in a
Colab runtime) and a build folder of its own, `<build>/compat/<stack>/`, where the suite runs,
caches and records exactly as `run` does. The outcome of each notebook on each stack, its first
error with the script line, and its claims go into `notebooks/<technique>/results/compat.json`,
merged with what the file holds for other stacks and notebooks, written after each stack.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import multiprocessing
import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, ExecutionError, did_you_mean
from .fileio import dump_json, write_if_changed
from .model import (
    CompatCell,
    CompatFile,
    CompatStatus,
    Project,
    Role,
    RunRequest,
    RunStatus,
    Stack,
    StackRun,
    Technique,
)
from .run.progress import ProgressEvent, ProgressHook
from .run.recorder import TechniqueReport
from .run.report import ProgressView
from .run.stackenv import stack_environment
from .run.stamp import environment_stamp
from .run.store import compat_path, locked, read_compat
from .run.suite import run_suite

Selection = list[tuple[Technique, list[str] | None]]


def choose_stacks(project: Project, names: list[str] | None) -> list[Stack]:
    """The stacks `--stacks` names (all declared ones by default), in declared order."""
    if not project.stacks:
        raise ConfigError(
            "pyproject.toml declares no stacks",
            path=project.root / "pyproject.toml",
            hint="add [tool.tutorial_gen.stacks.<name>] tables with their pins",
        )
    for name in names or []:
        if name not in project.stacks:
            raise ConfigError(
                f"no stack '{name}'{did_you_mean(name, set(project.stacks))}",
                path=project.root / "pyproject.toml",
                hint=f"declared: {', '.join(project.stacks)}",
            )
    return [s for n, s in project.stacks.items() if not names or n in names]


def with_role(selection: Selection, role: str | None) -> Selection:
    """The selection narrowed to the notebooks of one role (`tutorial`, say)."""
    if role is None:
        return selection
    narrowed = []
    for technique, stems in selection:
        chosen = [
            stem
            for stem, notebook in technique.notebooks.items()
            if notebook.role == Role(role) and (stems is None or stem in stems)
        ]
        if chosen:
            narrowed.append((technique, chosen))
    return narrowed


@dataclass(frozen=True)
class StackOutcome:
    """One stack's runs, per technique, and how long its environment took to make."""

    stack: str
    runs: dict[str, StackRun]  # {technique slug: its run on this stack}
    environment_seconds: float
    wall_seconds: float

    def summary(self) -> str:
        made = f", its environment made in {self.environment_seconds:.0f} s"
        return f"stack {self.stack}: done in {self.wall_seconds:.0f} s" + (
            made if self.environment_seconds else ""
        )


# The end of a run's error that points into the local build folder.
_WHERE_MARKED = re.compile(r" \((?:raised in [^;()]*; )?failing cell marked in [^()]*\)$")


def _cell(report: TechniqueReport, stem: str) -> CompatCell:
    run = next(r for r in report.runs if r.stem == stem)
    claims = {c.id: str(c.status) for c in report.claims if c.notebook == stem}
    if run.status != RunStatus.OK:
        error = run.error
        first = (error.message if error else "failed").strip().splitlines()[0]
        first = _WHERE_MARKED.sub("", first)  # the build folder it names is this machine's
        return CompatCell(
            CompatStatus.FAIL, round(run.wall_seconds, 1), first, error and error.line, claims
        )
    failing = [c for c in report.claims if c.notebook == stem and c.fails(report.profile)]
    if failing:
        named = ", ".join(f"{c.id} ({c.status}, measured {c.measured})" for c in failing)
        return CompatCell(
            CompatStatus.CLAIM_FAIL, round(run.wall_seconds, 1), f"claims: {named}", None, claims
        )
    return CompatCell(CompatStatus.PASS, round(run.wall_seconds, 1), claims=claims)


def installed_in(env: Path, names: list[str]) -> dict[str, str | None]:
    """The versions of `names` an environment holds."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try:\n        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    result = subprocess.run(
        [str(env / "bin" / "python"), "-c", script, *names], capture_output=True, text=True
    )
    return json.loads(result.stdout) if result.returncode == 0 else {}


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def run_stack(
    stack: Stack,
    selection: Selection,
    project: Project,
    request: RunRequest,
    progress: ProgressHook | None = None,
) -> StackOutcome:
    """Every selected notebook on one stack."""
    started = _dt.datetime.now(_dt.UTC)
    build_dir = (request.build_dir or project.build_path).resolve()
    declared = dict(
        pins=stack.pins, supported=stack.supported, legacy_keras=stack.legacy_keras, note=stack.note
    )
    try:
        env, seconds = stack_environment(stack, project, build_dir)
    except ExecutionError as error:
        cells = {
            stem: CompatCell(CompatStatus.NO_ENVIRONMENT, error=error.message)
            for technique, stems in selection
            for stem in (stems or technique.notebooks)
        }
        runs = {
            t.slug: StackRun(
                **declared,
                finished=_now(),
                notebooks={s: c for s, c in cells.items() if s in t.notebooks},
                install_error=error.message,
            )
            for t, _ in selection
        }
        return StackOutcome(stack.name, runs, 0.0, 0.0)
    stacked = dataclasses.replace(
        request,
        stack=stack,
        build_dir=build_dir / "compat" / stack.name,
        environments=build_dir,
        jobs=1,
    )
    if progress is None:  # a worker of a parallel compat: log lines of its own, on stderr
        progress = ProgressView(sys.stderr, live=False)
    hook = progress

    def labelled(event: ProgressEvent) -> None:  # two stacks may run the same notebook at once
        hook(dataclasses.replace(event, label=f"{stack.name} {event.label}"))

    reports = run_suite(selection, project, stacked, progress=labelled)
    # what the runtime held; each notebook's install cell added the stack's other pins in its run
    held = installed_in(env, ["tensorflow", "numpy", "ipykernel"])
    stamp = dataclasses.replace(environment_stamp(project), packages=held)
    runs = {
        report.technique.slug: StackRun(
            **declared,
            finished=_now(),
            notebooks={run.stem: _cell(report, run.stem) for run in report.runs},
            environment=stamp,
        )
        for report in reports
    }
    wall = (_dt.datetime.now(_dt.UTC) - started).total_seconds()
    return StackOutcome(stack.name, runs, seconds, wall)


def record_stack(
    outcome: StackOutcome, selection: Selection, project: Project, profile: str
) -> list[Path]:
    """Merge one stack's runs into each technique's compat.json; the files written."""
    return [
        path
        for technique, _ in selection
        if technique.slug in outcome.runs
        for path in merge_into(
            technique, profile, {outcome.stack: outcome.runs[technique.slug]}, project
        )
    ]


def merge_into(
    technique: Technique, profile: str, runs: dict[str, StackRun], project: Project
) -> list[Path]:
    """Merge stack runs into a technique's compat.json (locked, written atomically): a stack's
    notebooks replace the ones it held, the other stacks and notebooks stay."""
    path = compat_path(technique)
    with locked(path):
        current = read_compat(path) or CompatFile(technique.slug, profile)
        current.profile = profile
        stacks = dict(current.stacks)
        for name, run in runs.items():
            previous = stacks.get(name)
            notebooks = {**(previous.notebooks if previous else {}), **run.notebooks}
            stacks[name] = dataclasses.replace(run, notebooks=notebooks)
        declared = [n for n in project.stacks if n in stacks]
        current.stacks = {n: stacks[n] for n in declared + [n for n in stacks if n not in declared]}
        return [path] if write_if_changed(path, dump_json(current.to_json())) else []


def merge_files(
    files: list[Path], techniques: list[Technique], project: Project
) -> tuple[Selection, list[StackOutcome]]:
    """Merge compat.json files (the columns CI jobs upload) into the techniques' own; the
    techniques they touched, and the stack runs they held."""
    by_slug = {t.slug: t for t in techniques}
    touched: dict[str, Technique] = {}
    outcomes: list[StackOutcome] = []
    for path in files:
        compat = read_compat(path)
        if compat is None:
            raise ConfigError("no such file", path=path)
        technique = by_slug.get(compat.technique)
        if technique is None:
            raise ConfigError(
                f"holds the matrix of technique '{compat.technique}', which the project lacks",
                path=path,
            )
        merge_into(technique, compat.profile, compat.stacks, project)
        touched[technique.slug] = technique
        outcomes += [
            StackOutcome(n, {technique.slug: r}, 0.0, 0.0) for n, r in compat.stacks.items()
        ]
    return [(t, None) for t in touched.values()], outcomes


def run_compat(
    stacks: list[Stack],
    selection: Selection,
    project: Project,
    request: RunRequest,
    *,
    progress: ProgressHook | None = None,
    done: Callable[[StackOutcome], None] | None = None,
) -> list[StackOutcome]:
    """Run the selection on every stack, `request.jobs` stacks at once; each stack's results are
    recorded as soon as it ends."""
    outcomes: list[StackOutcome] = []

    def finish(outcome: StackOutcome) -> None:
        record_stack(outcome, selection, project, request.profile)
        outcomes.append(outcome)
        if done:
            done(outcome)

    if request.jobs <= 1 or len(stacks) <= 1:
        for stack in stacks:
            finish(run_stack(stack, selection, project, request, progress))
    else:
        threads = max(1, (os.cpu_count() or 1) // request.jobs)
        each = dataclasses.replace(request, jobs=1, threads=threads)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(request.jobs, mp_context=context) as pool:
            futures = [pool.submit(run_stack, s, selection, project, each) for s in stacks]
            for future in as_completed(futures):
                finish(future.result())
    order = [s.name for s in stacks]
    return sorted(outcomes, key=lambda o: order.index(o.stack))


_SHOWN = {
    CompatStatus.PASS: "pass",
    CompatStatus.FAIL: "FAIL",
    CompatStatus.CLAIM_FAIL: "claim FAIL",
    CompatStatus.NO_ENVIRONMENT: "no install",
}


def matrix_lines(technique: Technique, compat: CompatFile, project: Project) -> list[str]:
    """The matrix of one technique (notebook x stack) as text, then each failure on its line."""
    names = list(compat.stacks)
    header = ["notebook", *(f"{n}{'' if compat.stacks[n].supported else '*'}" for n in names)]
    rows = [header]
    for stem in compat.notebooks():
        cells = [compat.stacks[n].notebooks.get(stem) for n in names]
        rows.append([stem, *(_SHOWN[c.status] if c else "-" for c in cells)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if any(not run.supported for run in compat.stacks.values()):
        lines.append("* not supported: shown to users, expected to fail")
    for name, run in compat.stacks.items():
        for stem, cell in run.notebooks.items():
            if not cell.ok and cell.error:
                notebook = technique.notebooks.get(stem)
                where = project.relpath(notebook.script) if notebook else stem
                at = f"{where}:{cell.line}" if cell.line else where
                lines.append(f"{name}: {at}: {cell.error}")
    return lines


def failing_supported(outcomes: list[StackOutcome]) -> list[str]:
    """'stack: technique/notebook' of every run that did not pass on a supported stack."""
    return [
        f"{outcome.stack}: {slug}/{stem}"
        for outcome in outcomes
        for slug, run in outcome.runs.items()
        if run.supported
        for stem, cell in run.notebooks.items()
        if not cell.ok
    ]


def report(outcomes: list[StackOutcome], selection: Selection, project: Project) -> int:
    """Print each technique's matrix and what failed on supported stacks; the exit code."""
    for technique, _ in selection:
        compat = read_compat(compat_path(technique))
        if compat:
            print(f"\n{project.relpath(compat_path(technique))}")
            print("\n".join(matrix_lines(technique, compat, project)))
    failing = failing_supported(outcomes)
    if failing:
        print(f"\n{len(failing)} run(s) failed on supported stacks: {'; '.join(failing)}")
    return 1 if failing else 0
