"""The overview's compatibility matrix: how each notebook fared on each tested stack, as the plain
data the template prints, with the sentences that sum it up derived from the measurement.

Nothing here states a version by hand: every release the page names comes from the stacks of
`results/compat.json`, and a page without one says that the matrix has not been measured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..model import CompatCell, CompatFile, CompatStatus, StackRun

TFMOT = "tensorflow-model-optimization"
TF_KERAS = "tf-keras"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_UNHELD = ("fail", "inconclusive")  # claim statuses that make a notebook's outcome claim-fail

# What went wrong, by status, as the list under the table says it.
_WHAT = {
    CompatStatus.FAIL: "failed",
    CompatStatus.CLAIM_FAIL: "ran, but a claim of the profile did not hold",
    CompatStatus.NO_ENVIRONMENT: "the stack could not be installed",
}


def _join(words: list[str], last: str = "and") -> str:
    """`a`, `a and b`, `a, b and c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _label(name: str, run: StackRun) -> str:
    return f"TensorFlow {run.tensorflow} ({name})"


def _date(compat: CompatFile) -> str | None:
    """When the matrix was measured: the day its stacks finished, or the range of days."""
    days = sorted(
        {run.finished[:10] for run in compat.stacks.values() if _DATE.match(run.finished)}
    )
    if not days:
        return None
    return f"on {days[0]}" if len(days) == 1 else f"between {days[0]} and {days[-1]}"


def _cell(run: StackRun, stem: str) -> CompatCell | None:
    """The outcome of one notebook on one stack: a stack that could not be installed fails every
    notebook it has no entry for; otherwise a missing entry is a notebook that did not run."""
    cell = run.notebooks.get(stem)
    if cell is None and run.install_error is not None:
        return CompatCell(CompatStatus.NO_ENVIRONMENT, error=run.install_error)
    return cell


def _what(cell: CompatCell) -> str:
    held_not = sorted(claim for claim, status in cell.claims.items() if status in _UNHELD)
    if cell.status == CompatStatus.CLAIM_FAIL and held_not:
        claims = "claims" if len(held_not) > 1 else "claim"
        return f"ran, but {claims} {_join(held_not)} did not hold"
    return _WHAT.get(cell.status, str(cell.status))


def _failure(
    number: int, name: str, run: StackRun, title: str, script: str, cell: CompatCell
) -> dict[str, Any]:
    return {
        "number": number,
        "stack": name,
        "tensorflow": run.tensorflow,
        "notebook": title,
        "where": f"{script}:{cell.line}" if cell.line is not None else None,
        "what": _what(cell),
        "error": cell.error,
    }


def _matrix(
    compat: CompatFile, stems: list[str], titles: Mapping[str, Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The table's rows (one cell per stack, in the file's order) and the failures they point
    to, numbered."""
    failures: list[dict[str, Any]] = []
    numbered: dict[str, int] = {}  # {stack that could not be installed: its failure's number}
    rows = []
    for stem in stems:
        link = titles.get(stem) or {}
        title = str(link.get("title") or stem)
        cells = []
        for name, run in compat.stacks.items():
            cell = _cell(run, stem)
            if cell is None:
                cells.append("not run")
                continue
            if cell.ok:
                cells.append("passes")
                continue
            # a stack that could not be installed is one failure, whichever notebook shows it
            whole = name if cell.error is not None and cell.error == run.install_error else None
            if whole is None or whole not in numbered:
                shown = "every notebook" if whole else title
                script = str(link.get("script") or f"{stem}.py")
                failures.append(_failure(len(failures) + 1, name, run, shown, script, cell))
                if whole:
                    numbered[whole] = len(failures)
            number = numbered[whole] if whole else len(failures)
            cells.append(f"fails [{number}]")
        rows.append({"title": title, "url": link.get("url"), "cells": cells})
    return rows, failures


def _outcome(run: StackRun, stems: list[str], titles: Mapping[str, Mapping[str, Any]]) -> str:
    """How the notebooks fared on one stack, as the end of a sentence: `every notebook passed`,
    `2 of 3 notebooks fail: A (line 12) and B (not run)`."""
    if run.install_error is not None and not any(c.ok for c in run.notebooks.values()):
        return "the stack could not be installed, so no notebook ran"
    failing = []
    for stem in stems:
        cell = _cell(run, stem)
        if cell is not None and cell.ok:
            continue
        title = str((titles.get(stem) or {}).get("title") or stem)
        if cell is None:
            failing.append(f"{title} (not run)")
        elif cell.line is not None:
            failing.append(f"{title} (line {cell.line})")
        else:
            failing.append(f"{title} ({_what(cell)})")
    if not failing:
        return "every notebook passed"
    if len(failing) == len(stems):
        return f"every notebook fails: {_join(failing)}"
    verb = "fails" if len(failing) == 1 else "fail"
    return f"{len(failing)} of {len(stems)} notebooks {verb}: {_join(failing)}"


def _passes(run: StackRun, stems: list[str]) -> bool:
    return all((cell := _cell(run, stem)) is not None and cell.ok for stem in stems)


def _summary(
    compat: CompatFile, stems: list[str], titles: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """The sentences above the table: the releases every notebook passes on, then where
    notebooks fail, supported stacks first; then each stack that is not supported."""
    supported = {n: r for n, r in compat.stacks.items() if r.supported}
    passed = {n for n, r in supported.items() if _passes(r, stems)}
    passing = [r for n, r in supported.items() if n in passed]
    sentences = []
    if passing:
        versions = _join(_distinct([r.tensorflow for r in passing]))
        tfmot = _distinct([r.pins.get(TFMOT, "") for r in passing])
        companions = ["tf-keras"] if all(r.pins.get(TF_KERAS) for r in passing) else []
        companions += [f"tfmot {_join(tfmot, 'or')}"] if tfmot else []
        extra = f" with {_join(companions)}" if companions else ""
        every = "Every notebook" if len(stems) > 1 else "The notebook"
        sentences.append(f"{every} passed on TensorFlow {versions}{extra}.")
    elif supported:
        sentences.append("No supported stack ran every notebook to the end.")
    for name, run in supported.items():
        if name not in passed:
            sentences.append(f"On {_label(name, run)}, {_outcome(run, stems, titles)}.")
    for name, run in compat.stacks.items():
        if not run.supported:
            note = f" ({run.note})" if run.note else ""
            sentences.append(
                f"{_label(name, run)} is not a supported stack{note}: on it, "
                f"{_outcome(run, stems, titles)}."
            )
    return sentences


def compat_context(
    compat: CompatFile | None, order: list[str], titles: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The compatibility section's data, None where nothing was measured. `order` is the
    technique's notebooks as declared (rows follow it, then any other notebook of the file);
    `titles` maps a stem to its `title`, `url` and `script` name."""
    if compat is None:
        return None
    ran = compat.notebooks()
    stems = [s for s in order if s in ran] + [s for s in ran if s not in order]
    rows, failures = _matrix(compat, stems, titles)
    return {
        "profile": compat.profile,
        "date": _date(compat),
        "summary": _summary(compat, stems, titles) if stems else ["No notebook has run yet."],
        "stacks": [
            {
                "name": name,
                "tensorflow": run.tensorflow,
                "tfmot": run.pins.get(TFMOT),
                "supported": run.supported,
                "note": run.note,
            }
            for name, run in compat.stacks.items()
        ],
        "rows": rows,
        "failures": failures,
    }
