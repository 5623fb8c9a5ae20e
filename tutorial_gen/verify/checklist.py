"""The TFMOT contributors' guide as a checklist: every component a new technique must bring,
decided from its files, its committed full-profile results (which must hold every claim and still
describe the sources), its lint findings and its rendered overview.

Each check is registered with its title and returns (passed, reason); the reasons say what is
missing and what to do, so the checklist doubles as a to-do list for a technique author.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import (
    ClaimOutcome,
    ClaimStatus,
    CompatFile,
    Marker,
    NotebookEntry,
    Profile,
    ResultRow,
    ResultsFile,
    Role,
    Stack,
    Technique,
)
from ..registry import Registry
from .claims import check_all

Outcome = tuple[bool, str]
_PTQ = re.compile(r"int8|ptq|post[- ]training", re.IGNORECASE)
_NOT_HOLDING = (ClaimStatus.FAIL, ClaimStatus.INCONCLUSIVE)  # what a published claim may not be


@dataclass(frozen=True)
class Evidence:
    """What the checks look at: the technique, its full-profile results, its overview as it
    renders now (or why it does not render), which generated overview files are stale, each
    notebook's cache digest as a full run would compute it now (or why it cannot be computed),
    the lint findings on the technique, and the technique's folder as a command names it."""

    technique: Technique
    results: ResultsFile
    overview: str | None
    overview_error: str | None = None
    stale: tuple[Path, ...] = ()
    inputs: Mapping[str, str] = field(default_factory=dict)
    unbuilt: Mapping[str, str] = field(default_factory=dict)
    findings: tuple[str, ...] = ()
    folder: str = "PATH"
    compat: CompatFile | None = None  # results/compat.json
    stacks: tuple[Stack, ...] = ()  # the stacks pyproject.toml declares

    def entries(self, role: Role) -> list[tuple[str, NotebookEntry | None]]:
        return [(n.stem, self.results.entry(n.stem)) for n in self.technique.with_role(role)]

    def rows(self) -> list[ResultRow]:
        return self.results.rows(n.stem for n in self.technique.with_role(Role.RESULTS))


@dataclass(frozen=True)
class Check:
    """One component of the guide: what it is, and how to decide it."""

    title: str
    decide: Callable[[Evidence], Outcome]


CHECKS: Registry[Check] = Registry("check")


def check(check_id: str, title: str) -> Callable[[Callable[[Evidence], Outcome]], Check]:
    """Register a checklist item under `check_id`."""
    return lambda decide: CHECKS.add(check_id, Check(title, decide))


def _notebook_passes(evidence: Evidence, role: Role, what: str) -> Outcome:
    entries = evidence.entries(role)
    if not entries:
        return False, f"no notebook with role '{role}' in technique.toml"
    for stem, entry in entries:
        if entry is None:
            return False, f"{stem} has no full-profile result: run it with --profile full"
        if not entry.ok:
            return False, f"{stem} failed in its last full run: {entry.error}"
    failed = _not_holding(evidence, {s for s, _ in entries})
    if failed:
        return False, f"claims do not hold: {', '.join(c.id for c in failed)}"
    return True, f"{', '.join(s for s, _ in entries)}: {what}"


def _not_holding(evidence: Evidence, stems: Collection[str]) -> list[ClaimOutcome]:
    """The claims of notebooks `stems` that failed or were left open in the full results."""
    return [c for c in evidence.results.claims if c.status in _NOT_HOLDING and c.notebook in stems]


def _verdict(outcome: ClaimOutcome) -> str:
    """`notebook/claim status: why`, in the words of the outcome."""
    if outcome.reason:
        why = outcome.reason
    else:
        measured = "not measured" if outcome.measured is None else f"measured {outcome.measured:g}"
        if outcome.interval:
            measured += f" ({', '.join(f'{v:g}' for v in outcome.interval)})"
        why = f"{measured}, needs {outcome.op} {outcome.threshold:g}"
    return f"{outcome.notebook}/{outcome.id} {outcome.status}: {why}"


@check("overview", "overview page complete")
def _overview(evidence: Evidence) -> Outcome:
    if evidence.overview is None:
        return False, evidence.overview_error or "the overview does not render"
    if Marker.PLACEHOLDER in evidence.overview:
        count = evidence.overview.count(Marker.PLACEHOLDER)
        return False, f"{count} unfilled {Marker.PLACEHOLDER} places"
    if evidence.stale:
        names = ", ".join(p.name for p in evidence.stale)
        return False, f"{names} out of date: run `tutorial-gen render`"
    return True, "every template section filled, no placeholder, up to date"


@check("tutorial", "end-to-end tutorial present and passing")
def _tutorial(evidence: Evidence) -> Outcome:
    return _notebook_passes(evidence, Role.TUTORIAL, "runs and its claims hold")


@check("guide", "comprehensive guide present")
def _guide(evidence: Evidence) -> Outcome:
    return _notebook_passes(evidence, Role.GUIDE, "runs and its checks hold")


@check("claims", "every notebook ran and its claims hold")
def _claims(evidence: Evidence) -> Outcome:
    stems = evidence.technique.notebooks
    failed = [
        f"{stem} failed in its last full run: {entry.error}"
        for stem in stems
        if (entry := evidence.results.entry(stem)) is not None and not entry.ok
    ]
    failed += [_verdict(c) for c in _not_holding(evidence, stems)]
    if failed:
        return False, "; ".join(failed)
    held = [c for c in evidence.results.claims if c.status == ClaimStatus.PASS]
    return True, f"{len(held)} claims pass, none fails or is inconclusive"


def _stale_notebooks(evidence: Evidence) -> dict[str, list[str]]:
    """{why: notebooks} of the notebooks whose full results are not of their sources as they are."""
    stale: dict[str, list[str]] = {}
    for stem in evidence.technique.notebooks:
        entry = evidence.results.entry(stem)
        if stem in evidence.unbuilt:
            why = f"cannot be built ({evidence.unbuilt[stem]})"
        elif entry is None:
            why = "no full results"
        elif entry.inputs is None:
            why = "results recorded without the digest of their inputs"
        elif entry.inputs != evidence.inputs.get(stem):
            why = (
                "changed since their full run (script, snippets, parameters, seeds, metrics, "
                "claims decided, installed packages or datasets)"
            )
        else:
            continue
        stale.setdefault(why, []).append(stem)
    return stale


@check("current", "full results current with the sources")
def _current(evidence: Evidence) -> Outcome:
    """Each notebook's stored digest is the one a full run's cache computes now, and its claims
    are decided as technique.toml's claims decide them now."""
    stale = [f"{', '.join(s)}: {why}" for why, s in _stale_notebooks(evidence).items()]
    now = check_all(
        evidence.technique.claims, evidence.results.seed_runs_by_notebook(), Profile.FULL
    )
    recorded = {c.id: c for c in evidence.results.claims}
    claims = [c.id for c in now if recorded.pop(c.id, None) != c] + sorted(recorded)
    if claims:
        stale.append(
            f"claims {', '.join(claims)}: recorded otherwise than technique.toml decides them"
        )
    if stale:
        return False, (
            f"stale: {'; '.join(stale)}; rerun `tutorial-gen run --profile full {evidence.folder}`"
        )
    return True, f"all {len(evidence.technique.notebooks)} notebooks and their claims"


@check("three-models", "results across at least three models")
def _three_models(evidence: Evidence) -> Outcome:
    models = sorted({str(r.model) for r in evidence.rows()})
    if len(models) < 3:
        return False, (
            f"results rows cover {len(models)} model(s) ({', '.join(models) or 'none'}); "
            "a results notebook must measure at least three architectures"
        )
    return True, f"{len(models)} models: {', '.join(models)}"


def _measured(evidence: Evidence, table: Mapping[str, Any]) -> bool:
    """Whether a `[[overview.results]]` table has a measured row: a row of its list metric, or
    a row built from the scalar metrics of a notebook that ran."""
    for source in table.get("rows", []):
        entry = evidence.results.entry(str(source.get("notebook")))
        if entry is None or not entry.ok:
            continue
        if not source.get("rows") or entry.rows(str(source["rows"])):
            return True
    return False


@check("tasks", "results on more than one task")
def _tasks(evidence: Evidence) -> Outcome:
    technique = evidence.technique
    tables = technique.overview.get("results", [])
    measured = list(
        dict.fromkeys(technique.results_task(t) for t in tables if _measured(evidence, t))
    )
    if len(measured) < 2:
        return False, (
            f"measured rows for {len(measured)} task(s) ({'; '.join(measured) or 'none'}); "
            "add a results table (`[[overview.results]]`) and notebook for a second task, "
            "such as text classification, and run the full profile"
        )
    return True, f"{len(measured)} tasks: {'; '.join(measured)}"


@check("with-ptq", "results combined with post-training quantization")
def _with_ptq(evidence: Evidence) -> Outcome:
    rows = [r for r in evidence.rows() if _PTQ.search(str(r.config or ""))]
    if not rows:
        return (
            False,
            "no results row combined with post-training quantization (config naming int8 or PTQ)",
        )
    return True, f"{len(rows)} rows with post-training quantization"


@check("deployment", "deployment metrics (size, latency, memory)")
def _deployment(evidence: Evidence) -> Outcome:
    rows = evidence.rows()
    if not rows:
        return False, "no results rows"
    for key, name in (("size", "size"), ("latency_ms", "latency"), ("memory_bytes", "memory")):
        missing = sum(1 for r in rows if getattr(r, key) is None)
        if missing:
            return False, f"{missing} of {len(rows)} rows lack {name} ({key})"
    return True, f"size, latency and memory in all {len(rows)} rows"


@check("hyperparameters", "hyperparameters recorded")
def _hyperparameters(evidence: Evidence) -> Outcome:
    for stem in evidence.technique.notebooks:
        entry = evidence.results.entry(stem)
        if entry is None or not entry.parameters:
            return False, f"{stem}: no recorded parameters (run the full profile again)"
    if any(
        r.hyperparameter is None and "baseline" not in str(r.config or "").lower()
        for r in evidence.rows()
    ):
        return False, "results rows without their critical hyperparameter"
    return True, "every notebook's parameters recorded with its results"


@check("references", "references present")
def _references(evidence: Evidence) -> Outcome:
    refs = evidence.technique.overview.get("references") or []
    if not refs:
        return False, "no [[overview.references]]"
    if any(Marker.PLACEHOLDER in str(value) for ref in refs for value in ref.values()):
        return False, f"references still hold {Marker.PLACEHOLDER} places"
    return True, "; ".join(str(r.get("title")) for r in refs)


@check("compat", "tutorials measured on every declared stack")
def _compat(evidence: Evidence) -> Outcome:
    stems = [n.stem for n in evidence.technique.with_role(Role.TUTORIAL)]
    command = f"run `tutorial-gen compat {evidence.folder} --role tutorial`"
    if not evidence.stacks:
        return True, "pyproject.toml declares no stacks"
    if evidence.compat is None:
        return False, f"no results/compat.json: {command}"
    missing, failing = [], []
    for stack in evidence.stacks:
        run = evidence.compat.stacks.get(stack.name)
        if run is None or run.pins != stack.pins:
            missing.append(stack.name if run is None else f"{stack.name} (pins changed)")
            continue
        for stem in stems:
            cell = run.notebooks.get(stem)
            if cell is None:
                missing.append(f"{stack.name}/{stem}")
            elif stack.supported and not cell.ok:
                failing.append(f"{stack.name}/{stem} ({cell.error})")
    if missing:
        return False, f"not measured: {', '.join(missing)}: {command}"
    if failing:
        return False, f"fails on a supported stack: {'; '.join(failing)}"
    names = [s.name for s in evidence.stacks]
    return True, f"{len(stems)} tutorial(s) on {len(names)} stacks ({', '.join(names)})"


@check("lint", "lint clean")
def _lint(evidence: Evidence) -> Outcome:
    if evidence.findings:
        count = len(evidence.findings)
        return False, (
            f"{count} lint finding{'s' if count > 1 else ''}, the first {evidence.findings[0]}: "
            f"run `tutorial-gen lint {evidence.folder}`"
        )
    return True, "no finding in the notebooks or technique.toml"


def run_checklist(evidence: Evidence) -> list[tuple[str, bool, str]]:
    """Every component of the contributors' guide: (title, present, reason)."""
    return [(item.title, *item.decide(evidence)) for item in CHECKS.values()]
