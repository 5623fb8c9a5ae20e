"""Notebooks we did not write: read as they are, for runs and lint, never rewritten."""

from __future__ import annotations

from pathlib import Path

import nbformat

from ..errors import ScriptError
from ..fileio import read_text
from .notebook import BuiltNotebook


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """An .ipynb as nbformat reads it, or a `ScriptError` saying why it is not a notebook."""
    text = read_text(path, ScriptError)
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except nbformat.reader.NotJSONError as error:
        raise ScriptError("is not a notebook: not JSON", path=path) from error
    except Exception as error:  # nbformat raises many types; all mean "not a notebook"
        reason = " ".join(str(getattr(error, "message", error)).split())[:200]
        raise ScriptError(f"is not a valid notebook: {reason}", path=path) from error
    return notebook


def foreign_notebook(path: Path) -> BuiltNotebook:
    """A notebook to run as its author wrote it: outputs cleared, tags kept, no cell added."""
    notebook = read_notebook(path)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return BuiltNotebook(
        script=path.resolve(),
        notebook=notebook,
        source_lines=[None] * len(notebook.cells),
        requirements={},
        tags=[list(c.metadata.get("tags", [])) for c in notebook.cells],
        foreign=True,
    )
