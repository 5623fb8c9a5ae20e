"""Report: what a run prints for people (claim tables, progress lines, timing, the verdict)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from ..model import (
    MANIFEST_NAME,
    CacheState,
    ClaimOutcome,
    ClaimStatus,
    ModelManifest,
    ProgressKind,
    Project,
)
from .execute import NotebookRun
from .progress import ProgressEvent
from .recorder import TechniqueReport
from .verdict import (
    measured_with_noise,
    noise_messages,
    notebook_statuses,
    reuse_notes,
    verdict_line,
)

_MARK = {
    ClaimStatus.PASS: "pass",
    ClaimStatus.FAIL: "FAIL",
    ClaimStatus.INCONCLUSIVE: "inconclusive",
    ClaimStatus.UNVERIFIED: "unverified",
    ClaimStatus.NOT_IN_PROFILE: "-",
    ClaimStatus.NOT_RUN: "not run",
}


_EXPLAINED = (ClaimStatus.FAIL, ClaimStatus.INCONCLUSIVE, ClaimStatus.UNVERIFIED)


def claims_table(results: Iterable[ClaimOutcome]) -> str:
    """A plain-text table: claim, measured (with its interval and its range over seeds, where
    there are some), threshold, outcome (and why, where not plain)."""
    rows = [("claim", "measured", "must hold", "status")]
    notes = []
    for result in results:
        rows.append(
            (
                result.id,
                measured_with_noise(result),
                f"{result.op} {result.threshold:g}",
                _MARK[result.status],
            )
        )
        if result.status in _EXPLAINED and result.reason:
            notes.append(f"  {result.id}: {result.reason}")
    if len(rows) == 1:
        return "(no claims)"
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + notes)


class ProgressView:
    """Shows a suite's progress: a live block of lines on a terminal, log lines otherwise.

    Fed with `ProgressEvent`s (from this process or relayed from workers); `expected` holds each
    notebook's duration in its previous run, to show elapsed against expected.
    """

    def __init__(
        self,
        stream: TextIO,
        expected: dict[str, float] | None = None,
        every: float = 15.0,
        live: bool | None = None,
    ) -> None:
        self.stream = stream
        self.expected = expected or {}
        self.every = every
        self.live = stream.isatty() if live is None else live
        self.active: dict[str, str] = {}
        self.logged: dict[str, float] = {}
        self.drawn = 0

    def _status(self, event: ProgressEvent) -> str:
        expected = self.expected.get(event.label)
        budget = f" of ~{expected:.0f} s" if expected else ""
        where = f", script line {event.line}" if event.line else ""
        return (
            f"{event.label}: cell {min(event.done + 1, event.total)}/{event.total}{where}, "
            f"{event.elapsed:.0f} s{budget}"
        )

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == ProgressKind.CACHED:
            self._print(f"{event.label}: unchanged, reusing results (cache hit)")
            return
        if event.kind == ProgressKind.DONE:
            self.active.pop(event.label, None)
            self._print(f"{event.label}: finished in {event.elapsed:.1f} s")
            return
        self.active[event.label] = self._status(event)
        if self.live:
            self._redraw()
        elif time.monotonic() - self.logged.get(event.label, 0.0) >= self.every:
            self.logged[event.label] = time.monotonic()
            print(self.active[event.label], file=self.stream, flush=True)

    def _print(self, text: str) -> None:
        if self.live:
            self._clear()
            print(text, file=self.stream)
            self._redraw()
        else:
            print(text, file=self.stream, flush=True)

    def _clear(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
        self.drawn = 0

    def _redraw(self) -> None:
        self._clear()
        for line in self.active.values():
            self.stream.write(f"{line}\x1b[K\n")
        self.drawn = len(self.active)
        self.stream.flush()


def timing_table(
    runs: Iterable[NotebookRun],
    expected: dict[str, float] | None = None,
    statuses: dict[str, str] | None = None,
) -> str:
    """Wall time per notebook, cache status and outcome (`statuses`, by label: a notebook whose
    claim fails is not `ok`), with a total."""
    rows = [("notebook", "status", "cache", "wall time", "expected")]
    total = 0.0
    for run in runs:
        label = f"{run.technique}/{run.stem}"
        seconds = 0.0 if run.cache == CacheState.HIT else run.wall_seconds
        total += seconds
        known = (expected or {}).get(label)
        rows.append(
            (
                label,
                (statuses or {}).get(label, str(run.status)),
                str(run.cache),
                f"{seconds:.1f} s",
                f"{known:.0f} s" if known else "-",
            )
        )
    rows.append(("total", "", "", f"{total:.1f} s", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_reports(
    reports: list[TechniqueReport],
    project: Project,
    expected: dict[str, float],
    build_dir: Path | None = None,
) -> bool:
    """Print each technique's claims and executed notebooks, the timing table, whose numbers
    were reused, how to open the site, and the verdict line last (errors on stderr); True if
    the run failed."""
    failed = False
    for report in reports:
        for run in report.runs:
            if run.error:
                print(f"error: {run.error}", file=sys.stderr)
            if run.executed.is_file() and (run.error or report.technique.foreign):
                print(f"executed notebook: {project.relpath(run.executed)}", file=sys.stderr)
        if report.problem:
            print(f"error: {report.problem}", file=sys.stderr)
        print(f"\n{report.technique.slug} [{report.profile}]")
        print(claims_table(report.claims))
        print(f"results: {project.relpath(report.results_path)}")
        if report.models is not None and report.models_path is not None:
            print(f"models: {models_line(report.models, project.relpath(report.models_path))}")
        for run in report.runs:
            if run.executed.is_file():
                print(f"executed: {project.relpath(run.executed)}")
        failed |= not report.ok
    print()
    runs = [run for report in reports for run in report.runs]
    print(timing_table(runs, expected, notebook_statuses(reports)))
    for note in reuse_notes(reports):
        print(note)
    sys.stdout.flush()
    for message in noise_messages(reports):
        print(message, file=sys.stderr)
    sys.stderr.flush()
    print(site_hint(project, build_dir))
    print(verdict_line(reports))
    return failed


def models_line(manifest: ModelManifest, folder: str) -> str:
    """Where the models of the full-profile rows are kept, and how many of them."""
    offered, named = len(manifest.offered), len(manifest.models)
    unnamed = sum(u.rows for u in manifest.unnamed)
    line = f"{folder}/ ({offered} of {named} rows' models kept, listed in {MANIFEST_NAME})"
    if unnamed:
        line += f"; {unnamed} rows name no model file (measured before models were kept)"
    return line


def site_hint(project: Project, build_dir: Path | None = None) -> str:
    """How to read the results in a browser: the site, and the command that builds it from the
    runs in `build_dir` (the project's build folder when None)."""
    index = project.build_path / "site" / "index.html"
    other = build_dir is not None and build_dir.resolve() != project.build_path.resolve()
    command = f"tutorial-gen site{f' --build-dir {project.relpath(build_dir)}' if other else ''}"
    if index.is_file():
        return f"site: open {project.relpath(index)} (`{command}` brings it up to date)"
    return f"site: `{command}` builds {project.relpath(index)} to read these in a browser"
