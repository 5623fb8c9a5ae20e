"""Adopt: a notebook someone else wrote becomes our source form, with a to-do list.

The notebook becomes a Jupytext percent script in `notebooks/NAME/`, title first. Its own copyright
is kept once, as the notebook's (build writes it where it writes ours, with the one license
cell), and its old header (license cell, tensorflow.org buttons) goes, since build makes them anew.
`technique.toml` gets one claim candidate per number or qualitative claim of the prose: the phrase
filled in, the expression a marked TODO to bind to a variable the notebook sets. The lint findings
are the rest of the to-do list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .build.foreign import read_notebook
from .errors import ConfigError, TutorialGenError
from .fileio import write_atomic
from .lint import lint_document, load_document
from .model import Marker, Project

_COPYRIGHT = re.compile(r"^#+\s*Copyright\s+(?P<holder>.+?)\.?\s*$", re.IGNORECASE)
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
CANDIDATE_RULES = ("unbacked-number", "qualitative-claim")


@dataclass(frozen=True)
class Adopted:
    """What `adopt` wrote, and what is left to do."""

    script: Path
    technique_toml: Path
    candidates: list[str]  # the phrases of the claim candidates
    todo: list[str]  # the lint findings of the adopted script


def _header(cells: list) -> tuple[str | None, list]:
    """The notebook's own copyright holder, and its cells without the old header."""
    holder, kept = None, []
    for index, cell in enumerate(cells):
        text = cell.source.strip()
        match = _COPYRIGHT.match(text) if cell.cell_type == "markdown" else None
        if match and holder is None and index < 3:
            holder = match.group("holder")
        elif (
            index < 5
            and "Licensed under the Apache License" in text
            and cell.cell_type == "code"
            or index < 5
            and "tfo-notebook-buttons" in text
        ):
            continue
        else:
            kept.append(cell)
    return holder, kept


def _script(path: Path, holder: str | None) -> str:
    import jupytext
    import nbformat

    notebook = read_notebook(path)
    found, cells = _header(list(notebook.cells))
    holder = holder or found
    first = next((i for i, c in enumerate(cells) if c.source.lstrip().startswith("# ")), None)
    if first is None:
        raise ConfigError(
            "has no title (a markdown cell starting with '# ')", path=path, hint="add one first"
        )
    cells.insert(0, cells.pop(first))
    if holder:
        cells.insert(1, nbformat.v4.new_code_cell(f"{Marker.COPYRIGHT} {holder}"))
    for cell in cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.cells = cells
    # a script of ours carries no header: build writes the notebook metadata
    notebook.metadata = {"jupytext": {"notebook_metadata_filter": "-all"}}
    return jupytext.writes(notebook, fmt="py:percent")


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _technique_toml(name: str, stem: str, candidates: list[str]) -> str:
    todo = Marker.PLACEHOLDER
    lines = [
        "[technique]",
        f"name = {_toml_string(name)}",
        f'descriptor = "{todo}: what {name} does, in a few words"',
        "",
        "[[notebooks]]",
        f'script = "{stem}.py"',
        'role = "tutorial"',
        "",
        "[notebooks.metrics]",
        f"# {todo}: declare the top-level variables the claims below read, e.g.",
        '# baseline_zipped_bytes = "zipped size of the baseline model"',
        "",
    ]
    for number, phrase in enumerate(candidates, start=1):
        lines += [
            f"# {todo}: bind this sentence to a metric the notebook sets, then uncomment it.",
            "# [[claims]]",
            f'# id = "claim-{number}"',
            f'# notebook = "{stem}"',
            f"# phrase = {_toml_string(phrase)}",
            f'# expr = "{todo}"',
            '# op = ">="',
            "# threshold = 0",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _candidates(text: str, findings: list) -> list[str]:
    """The phrase of each finding that states a result: its words and the word after them."""
    phrases: list[str] = []
    for finding in findings:
        quoted = re.match(r"^'([^']+)'", finding.message)
        if not quoted:
            continue
        token = quoted.group(1)
        match = re.search(re.escape(token) + r"(?:[ \t]+[A-Za-z]+)?", text)
        phrase = " ".join((match.group(0) if match else token).split())
        if phrase not in phrases:
            phrases.append(phrase)
    return phrases


def adopt(notebook: Path, slug: str, project: Project, name: str | None = None) -> Adopted:
    """Turn `notebook` into `notebooks/<slug>/<stem>.py` and a technique.toml of candidates."""
    if not _SLUG.match(slug):
        raise ConfigError(
            f"'{slug}' is not a valid technique name",
            hint="use lower case letters, digits and underscores, e.g. weight_sharing",
        )
    folder = project.notebooks_dir / slug
    script = folder / f"{notebook.stem}.py"
    toml = folder / "technique.toml"
    for target in (script, toml):
        if target.exists():
            raise ConfigError(
                "already exists", path=target, hint="adopt into a new technique folder"
            )
    write_atomic(script, _script(notebook, None))
    try:
        document = load_document(script, project)
        problems: list[str] = []
    except TutorialGenError as error:  # e.g. an import the project pins nowhere: a to-do too
        problems = [str(error)]
        document = load_document(notebook, project)  # the original, as it is
    findings = lint_document(document)
    prose = "\n".join(cell.source for cell in document.markdown)
    candidates = _candidates(prose, [f for f in findings if f.rule in CANDIDATE_RULES])
    display = name or slug.replace("_", " ").capitalize()
    write_atomic(toml, _technique_toml(display, notebook.stem, candidates))
    todo = problems + [str(f) for f in findings if f.rule not in CANDIDATE_RULES]
    return Adopted(script, toml, candidates, todo)
