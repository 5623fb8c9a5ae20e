"""Check a technique against the TFMOT contributors' guide: every component a new technique must
bring, decided from its files and its committed full-profile results.

Each check is a function in a small registry returning (passed, reason); the reasons say what is
missing and what to do, so the checklist doubles as a to-do list for a technique author.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import Project, Technique
from .errors import TutorialGenError
from .render import render_files
from .suite import read_results

Outcome = tuple[bool, str]
MARKER = "TODO(tutorial-gen)"  # what `tutorial-gen new` leaves to fill
_PTQ = re.compile(r"int8|ptq|post[- ]training", re.IGNORECASE)


@dataclass(frozen=True)
class Evidence:
    """What the checks look at: the technique, its full-profile results, the project."""

    technique: Technique
    results: dict[str, Any]
    project: Project

    def entries(self, role: str) -> list[tuple[str, dict[str, Any] | None]]:
        return [
            (stem, self.results.get("notebooks", {}).get(stem))
            for stem, notebook in self.technique.notebooks.items()
            if notebook.role == role
        ]

    def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for _, entry in self.entries("results"):
            for value in ((entry or {}).get("metrics") or {}).values():
                if isinstance(value, list):
                    rows.extend(r for r in value if isinstance(r, dict))
        return rows


def _notebook_passes(evidence: Evidence, role: str, what: str) -> Outcome:
    entries = evidence.entries(role)
    if not entries:
        return False, f"no notebook with role '{role}' in technique.toml"
    for stem, entry in entries:
        if entry is None:
            return False, f"{stem} has no full-profile result: run it with --profile full"
        if entry.get("status") != "ok":
            return False, f"{stem} failed in its last full run: {entry.get('error')}"
    failed = [
        c["id"]
        for c in evidence.results.get("claims", [])
        if c.get("status") == "fail" and c.get("notebook") in {s for s, _ in entries}
    ]
    if failed:
        return False, f"claims fail: {', '.join(failed)}"
    return True, f"{', '.join(s for s, _ in entries)}: {what}"


def overview_complete(evidence: Evidence) -> Outcome:
    try:
        files = render_files(evidence.technique, evidence.project, evidence.results)
    except TutorialGenError as error:
        return False, error.message
    overview = files[evidence.technique.folder / "overview.md"]
    if MARKER in overview:
        return False, f"{overview.count(MARKER)} unfilled {MARKER} places"
    stale = [
        p.name
        for p, text in files.items()
        if not p.is_file() or p.read_text(encoding="utf-8") != text
    ]
    if stale:
        return False, f"{', '.join(stale)} out of date: run `tutorial-gen render`"
    return True, "every template section filled, no placeholder, up to date"


def tutorial(evidence: Evidence) -> Outcome:
    return _notebook_passes(evidence, "tutorial", "runs and its claims hold")


def guide(evidence: Evidence) -> Outcome:
    return _notebook_passes(evidence, "guide", "runs and its checks hold")


def three_models(evidence: Evidence) -> Outcome:
    models = sorted({str(r.get("model")) for r in evidence.rows()})
    if len(models) < 3:
        return False, (
            f"results rows cover {len(models)} model(s) ({', '.join(models) or 'none'}); "
            "a results notebook must measure at least three architectures"
        )
    return True, f"{len(models)} models: {', '.join(models)}"


def with_ptq(evidence: Evidence) -> Outcome:
    rows = [r for r in evidence.rows() if _PTQ.search(str(r.get("config", "")))]
    if not rows:
        return (
            False,
            "no results row combined with post-training quantization (config naming int8 or PTQ)",
        )
    return True, f"{len(rows)} rows with post-training quantization"


def deployment_metrics(evidence: Evidence) -> Outcome:
    rows = evidence.rows()
    if not rows:
        return False, "no results rows"
    for key, name in (("size", "size"), ("latency_ms", "latency"), ("memory_bytes", "memory")):
        missing = sum(1 for r in rows if r.get(key) is None)
        if missing:
            return False, f"{missing} of {len(rows)} rows lack {name} ({key})"
    return True, f"size, latency and memory in all {len(rows)} rows"


def hyperparameters(evidence: Evidence) -> Outcome:
    for stem in evidence.technique.notebooks:
        entry = evidence.results.get("notebooks", {}).get(stem) or {}
        if not entry.get("parameters"):
            return False, f"{stem}: no recorded parameters (run the full profile again)"
    if any(
        r.get("hyperparameter") is None and "baseline" not in str(r.get("config", "")).lower()
        for r in evidence.rows()
    ):
        return False, "results rows without their critical hyperparameter"
    return True, "every notebook's parameters recorded with its results"


def references(evidence: Evidence) -> Outcome:
    refs = evidence.technique.overview.get("references") or []
    if not refs:
        return False, "no [[overview.references]]"
    if any(MARKER in str(value) for ref in refs for value in ref.values()):
        return False, f"references still hold {MARKER} places"
    return True, "; ".join(str(r.get("title")) for r in refs)


CHECKS: list[tuple[str, Callable[[Evidence], Outcome]]] = [
    ("overview page complete", overview_complete),
    ("end-to-end tutorial present and passing", tutorial),
    ("comprehensive guide present", guide),
    ("results across at least three models", three_models),
    ("results combined with post-training quantization", with_ptq),
    ("deployment metrics (size, latency, memory)", deployment_metrics),
    ("hyperparameters recorded", hyperparameters),
    ("references present", references),
]


def check_technique(technique: Technique, project: Project) -> list[tuple[str, bool, str]]:
    """Every component of the contributors' guide: (component, present, reason)."""
    evidence = Evidence(
        technique, read_results(technique.folder / "results" / "full.json"), project
    )
    return [(name, *check(evidence)) for name, check in CHECKS]
