"""Running the rules: over the documents that paths name, findings in notebook order.

Our scripts are linted as the notebook `build` makes of them, so generated cells count too; a
finding points at the script line where its cell has one, else at the cell's number. Notebooks we
did not write are read as they are. Nothing here imports TensorFlow: rules read code with `ast`,
prose with regexes.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from ..build import build_notebook
from ..build.foreign import read_notebook
from ..config import load_technique
from ..model import Project
from ..selection import select
from .document import Cell, Document, snippet_calls
from .registry import Finding, Hit, Rule
from .rules import RULES


def lint_document(doc: Document, exclude: Collection[str] = frozenset()) -> list[Finding]:
    """Every finding of the rules not in `exclude` on one document, in notebook order."""
    hits = [
        (hit, rule) for rule in RULES.values() if rule.id not in exclude for hit in rule.check(doc)
    ]
    # the notebook's findings in its order, then those in technique.toml in the file's
    hits.sort(key=lambda pair: (*_order(pair[0]), pair[0].line or 0))
    return [_finding(doc, hit, rule) for hit, rule in hits]


def _order(hit: Hit) -> tuple[int, int]:
    return (1, 0) if hit.cell is None else (0, hit.cell.index)


def _finding(doc: Document, hit: Hit, rule: Rule) -> Finding:
    message, hint = hit.message or rule.message, hit.hint or rule.hint
    if hit.cell is None:  # a line of another file: technique.toml
        return Finding(rule.id, message, hit.path or doc.path, hit.line, None, hint)
    line = hit.cell.line + (hit.line or 1) - 1 if hit.cell.line is not None else None
    return Finding(rule.id, message, doc.path, line, hit.cell.index + 1, hint)


def lint_paths(
    paths: list[Path], project: Project, exclude: Collection[str] = frozenset()
) -> list[Finding]:
    """Lint scripts, notebooks and technique folders (every technique when `paths` is empty)."""
    RULES.check(exclude)
    selection = select(paths, project)
    sources = [*selection.scripts(), *(p.resolve() for p in selection.loose)]
    findings: list[Finding] = []
    for source in dict.fromkeys(sources):
        found = lint_document(load_document(source, project), exclude)
        # a finding in technique.toml is one for all of its notebooks
        findings += [f for f in found if f.cell is not None or f not in findings]
    return findings


def load_document(path: Path, project: Project) -> Document:
    """A `.py` script as the notebook `build` makes of it, or an `.ipynb` as it is."""
    if path.suffix == ".ipynb":
        return Document(path, _read_notebook(path), project.pins)
    built = build_notebook(path, project)
    cells = [
        Cell(i, c.cell_type, c.source, tuple(tags), line)
        for i, (c, line, tags) in enumerate(
            zip(built.notebook.cells, built.source_lines, built.tags, strict=True)
        )
    ]
    technique = notebook = None
    if (path.parent / "technique.toml").is_file():
        technique = load_technique(path.parent)
        notebook = technique.notebooks.get(path.stem)
    return Document(
        path,
        cells,
        project.pins,
        technique,
        notebook.role if notebook else None,
        [c for c in technique.claims if c.notebook == path.stem] if technique else [],
        notebook,
        snippet_calls(project.snippets_dir),
    )


def _read_notebook(path: Path) -> list[Cell]:
    notebook = read_notebook(path)
    return [
        Cell(i, c.cell_type, c.source, tuple(c.metadata.get("tags", [])))
        for i, c in enumerate(notebook.cells)
    ]
