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
from .document import Cell, Document
from .registry import Finding
from .rules import RULES


def lint_document(doc: Document, exclude: Collection[str] = frozenset()) -> list[Finding]:
    """Every finding of the rules not in `exclude` on one document, in notebook order."""
    hits = [
        (hit, rule) for rule in RULES.values() if rule.id not in exclude for hit in rule.check(doc)
    ]
    hits.sort(key=lambda pair: (pair[0].cell.index, pair[0].line))
    return [
        Finding(
            rule.id,
            hit.message or rule.message,
            doc.path,
            hit.cell.line + hit.line - 1 if hit.cell.line is not None else None,
            hit.cell.index + 1,
            hit.hint or rule.hint,
        )
        for hit, rule in hits
    ]


def lint_paths(
    paths: list[Path], project: Project, exclude: Collection[str] = frozenset()
) -> list[Finding]:
    """Lint scripts, notebooks and technique folders (every technique when `paths` is empty)."""
    RULES.check(exclude)
    selection = select(paths, project)
    sources = [*selection.scripts(), *(p.resolve() for p in selection.loose)]
    return [
        finding
        for source in dict.fromkeys(sources)
        for finding in lint_document(load_document(source, project), exclude)
    ]


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
    )


def _read_notebook(path: Path) -> list[Cell]:
    notebook = read_notebook(path)
    return [
        Cell(i, c.cell_type, c.source, tuple(c.metadata.get("tags", [])))
        for i, c in enumerate(notebook.cells)
    ]
