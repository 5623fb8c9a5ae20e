"""Harvest: the metrics a notebook measured, read from its kernel's variables after the last cell.

The run copy gets one extra last cell that reports the declared metrics as a custom MIME output,
so the notebook itself never imports tutorial_gen (in Colab it does not exist).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import nbformat

from ..build import IPYTHON_LINE, BuiltNotebook
from ..model import NUMERIC_ROW_KEYS, Claim, Notebook, Tag

METRICS_MIME = "application/vnd.tutorial-gen.metrics+json"

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
        for key in (name, name + "_unmeasured_reason", name + "_samples"):
            if key in globals():
                found[key] = _tutorial_gen_value(globals()[key])
    return found


from IPython.display import display as _tutorial_gen_display

_tutorial_gen_display({%(mime)r: _tutorial_gen_harvest(%(names)r)}, raw=True)
"""


# Run first, in the kernel: a shell command (`!cmd`) that exits non-zero raises, as a failing
# Python line would, so that the run fails where the notebook's author would have seen an error.
PRELUDE_SOURCE = """\
def _tutorial_gen_strict_shell():
    import subprocess

    shell = get_ipython()
    plain = shell.system

    def system(command):
        plain(command)
        status = shell.user_ns.get("_exit_code", 0)
        if status:
            raise subprocess.CalledProcessError(status, command)

    shell.system = system


_tutorial_gen_strict_shell()
del _tutorial_gen_strict_shell
"""
# Run first, in the kernel: the claims the notebook's prose makes, as data, so that a measuring
# helper (the measure snippet's `compare_latency`) samples until the ones it can inform are decided.
CLAIMS_SOURCE = """\
import os as _tutorial_gen_os

_tutorial_gen_os.environ[%(env)r] = %(claims)r
del _tutorial_gen_os
"""
CLAIMS_ENV = "TUTORIAL_GEN_CLAIMS"  # read by notebooks/_snippets/measure.py
NO_EXECUTE = "#docs_infra: no_execute"  # the TensorFlow docs' own marker of a cell not to run


def has_shell_lines(built: BuiltNotebook) -> bool:
    """Whether any code cell runs a shell command (`!cmd`), which the prelude watches."""
    return any(
        (match := IPYTHON_LINE.match(line)) and match.group("kind") == "!"
        for cell in built.notebook.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
    )


def _generated_cell(source: str, tag: Tag, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, id=cell_id)  # dropped where the format has no ids
    cell.metadata["tags"] = [str(tag)]
    cell.metadata["tutorial_gen"] = {"line": None, "cell": None, "generated": True}
    return cell


def claims_cell(claims: Sequence[Claim]) -> nbformat.NotebookNode:
    """The first cell of a run: the claims to decide, in the environment variable CLAIMS_ENV."""
    data = [{"id": c.id, "expr": c.expr, "op": c.op, "threshold": c.threshold} for c in claims]
    source = CLAIMS_SOURCE % {"env": CLAIMS_ENV, "claims": json.dumps(data)}
    return _generated_cell(source, Tag.PRELUDE, "tutorial-gen-claims")


def run_copy(
    built: BuiltNotebook, metric_names: list[str], claims: Sequence[Claim] = ()
) -> nbformat.NotebookNode:
    """The notebook as it runs: each cell's origin recorded (its number in the notebook, its
    script line), cells marked not to run skipped, the preludes first and the harvest last.

    `claims` are the ones to decide in this run (a measuring helper may sample until they are)."""
    notebook = nbformat.from_dict(json.loads(built.text))
    cells = zip(notebook.cells, built.source_lines, built.tags, strict=True)
    for number, (cell, line, tags) in enumerate(cells, start=1):
        generated = not built.foreign and line is None
        cell.metadata["tutorial_gen"] = {"line": line, "cell": number, "generated": generated}
        tags = list(tags)
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if cell.cell_type == "code" and NO_EXECUTE in source:
            tags.append(str(Tag.SKIP_EXECUTION))
        if tags:
            cell.metadata["tags"] = tags
    if has_shell_lines(built):
        notebook.cells.insert(
            0, _generated_cell(PRELUDE_SOURCE, Tag.PRELUDE, "tutorial-gen-prelude")
        )
    if claims:
        notebook.cells.insert(0, claims_cell(claims))
    harvest = HARVEST_SOURCE % {"mime": METRICS_MIME, "names": sorted(metric_names)}
    notebook.cells.append(_generated_cell(harvest, Tag.HARVEST, "tutorial-gen-harvest"))
    if (notebook.nbformat, notebook.nbformat_minor) < (4, 5):  # cell ids came with 4.5
        for cell in notebook.cells:
            cell.pop("id", None)
    return notebook


def harvested(notebook: nbformat.NotebookNode) -> dict[str, Any] | None:
    """The metrics the harvest cell reported, or None if it reported nothing."""
    for cell in reversed(notebook.cells):
        if Tag.HARVEST in cell.metadata.get("tags", []):
            for output in cell.get("outputs", []):
                if METRICS_MIME in output.get("data", {}):
                    return dict(output["data"][METRICS_MIME])
    return None


def cell_durations(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """{index, script line, seconds} of every executed code cell."""
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


# How a kernel's JSON output spells the floats JSON has no number for.
_NOT_FINITE = {"nan", "inf", "-inf", "NaN", "Infinity", "-Infinity"}


def _scalar_problem(value: Any, text_allowed: bool) -> str | None:
    if value is None or (text_allowed and isinstance(value, str)):
        return None
    if isinstance(value, str) and value in _NOT_FINITE:
        return f"is {value.lower().replace('infinity', 'inf')}, not a finite number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "dict" if isinstance(value, dict) else type(value).__name__
        return f"is a {kind}, which a metric cannot hold"
    if not math.isfinite(value):
        return f"is {value}, not a finite number"
    return None


def _value_problem(value: Any) -> str | None:
    """Why a declared metric's value is unusable: numbers, None, or a list of flat rows only."""
    if isinstance(value, dict) and "__unsupported__" in value:
        return f"is a {value['__unsupported__']}, which a metric cannot hold"
    if isinstance(value, list):
        for row in value:
            if not isinstance(row, dict):
                return f"holds a {type(row).__name__} where a row (a flat dict) belongs"
            for key, item in row.items():
                problem = _scalar_problem(item, text_allowed=key not in NUMERIC_ROW_KEYS)
                if problem:
                    return f"has a row whose '{key}' {problem}"
        return None
    return _scalar_problem(value, text_allowed=False)


def metrics_problem(notebook: Notebook, metrics: dict[str, Any] | None) -> str | None:
    """Why harvested metrics are unusable, or None when they are fine."""
    if metrics is None:
        return "the harvest cell produced no metrics"
    missing = sorted(n for n in notebook.metrics if n not in metrics)
    if missing:
        return f"metrics never set: {', '.join(missing)}"
    for name in sorted(notebook.metrics):
        problem = _value_problem(metrics[name])
        if problem:
            shown = repr(metrics[name])
            shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
            return (
                f"metric '{name}' {problem} ({shown}): set a finite number, a list of flat rows, "
                "or None where it cannot be measured here"
            )
    for name, value in metrics.items():
        if name.endswith("_unmeasured_reason") and not isinstance(value, str):
            return f"'{name}' must be a string saying why, not {type(value).__name__}"
        if name.endswith("_samples") and not _samples_fine(value):
            return (
                f"'{name}' must be a list of finite numbers (the samples whose median is "
                f"'{name.removesuffix('_samples')}')"
            )
    return None


def _samples_fine(value: Any) -> bool:
    return isinstance(value, list) and all(
        _scalar_problem(v, text_allowed=False) is None and v is not None for v in value
    )
