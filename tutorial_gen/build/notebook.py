"""A Jupytext percent script becomes a Colab-ready notebook, in memory.

The script is the source of truth. The notebook adds what a Colab reader needs and an author should
not maintain by hand: copyright and license cells, a row of buttons, the pinned install cell, and the
shared snippets. The output is byte-for-byte deterministic.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..errors import ScriptError
from ..model import Marker, Project, Tag
from .links import buttons
from .requirements import data_packages_for, requirements_for, setup_source
from .script import check_syntax, parse_script
from .snippets import FORM_TITLE, Snippet, check_order, included, load_snippet

LICENSE = """#@title Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
# https://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License."""


@dataclass
class BuiltNotebook:
    """A notebook built from a script, and where each of its cells came from."""

    script: Path
    notebook: nbformat.NotebookNode
    source_lines: list[int | None] = field(default_factory=list)  # script line of each cell
    requirements: dict[str, str] = field(default_factory=dict)
    data_packages: dict[str, str] = field(default_factory=dict)  # installed without dependencies
    tags: list[list[str]] = field(default_factory=list)  # per cell, for runs (not committed)
    foreign: bool = False  # read as it is from an .ipynb we did not write

    @property
    def text(self) -> str:
        return serialize(self.notebook)


def serialize(notebook: nbformat.NotebookNode) -> str:
    """Canonical JSON as `nbfmt` writes it: sources as lists of lines, sorted keys, two-space
    indent, UTF-8 text, one trailing newline."""
    data = json.loads(json.dumps(notebook))
    for cell in data["cells"]:
        cell["source"] = cell["source"].splitlines(keepends=True)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _cell_id(source: str, taken: set[str]) -> str:
    base = hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]
    cell_id, n = base, 1
    while cell_id in taken:
        cell_id, n = f"{base}-{n}", n + 1
    taken.add(cell_id)
    return cell_id


# A cell before it becomes a notebook cell: (type, source, tags, script line).
_Cell = tuple[str, str, list[str], int | None]


def _check_shape(script: Path, cells: list[nbformat.NotebookNode], starts: list) -> None:
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.startswith("# "):
        raise ScriptError(
            "the first cell must be markdown starting with '# Title'",
            path=script,
            line=starts[0] if starts else 1,
        )
    if sum(Tag.PARAMETERS in c.metadata.get("tags", []) for c in cells) > 1:
        raise ScriptError(
            "more than one cell is tagged 'parameters'",
            path=script,
            hint="papermill injects profile values after exactly one cell",
        )


def _expand(
    script: Path, project: Project, cells: list[nbformat.NotebookNode], starts: list
) -> tuple[list[_Cell], int | None, str]:
    """The script's cells with snippets inlined; where the setup marker was, if anywhere; and
    whose copyright the notebook carries (the project's, unless the script names its own)."""
    expanded: list[_Cell] = []
    snippets: list[tuple[Snippet, int | None]] = []
    setup_at: int | None = None
    holder = project.copyright
    for cell, start in zip(cells, starts, strict=True):
        source = cell.source.strip("\n")
        if start is not None:  # the cell now starts at its first line that is not blank
            start += cell.source[: len(cell.source) - len(cell.source.lstrip("\n"))].count("\n")
        tags = list(cell.metadata.get("tags", []))
        if cell.cell_type == "code" and source.strip() == Marker.SETUP:
            setup_at = len(expanded)
            continue
        if cell.cell_type == "code" and source.startswith(Marker.COPYRIGHT):
            holder = source.removeprefix(Marker.COPYRIGHT).strip() or holder
            continue
        name = included(source) if cell.cell_type == "code" else None
        if name:
            snippet = load_snippet(name, project, script, start)
            snippets.append((snippet, start))
            source = snippet.cell_source(project)
            start = None  # its lines live in the snippet file, not in the script
        expanded.append((cell.cell_type, source, tags, start))
    check_order(snippets, script, project)
    return expanded, setup_at, holder


def _head(project: Project, ipynb: Path, title_cell: _Cell, holder: str) -> list[_Cell]:
    """Copyright, license, title, buttons, and the rest of the title cell as its own cell."""
    title_type, title_source, title_tags, title_line = title_cell
    title, _, intro = title_source.partition("\n")
    head: list[_Cell] = [
        ("markdown", f"##### Copyright {holder}.", [], None),
        ("code", LICENSE, [], None),
        (title_type, title, title_tags, title_line),
        ("markdown", buttons(project, ipynb), [], None),
    ]
    if intro.strip():
        skipped = len(intro) - len(intro.lstrip("\n"))  # blank lines between title and intro
        intro_line = title_line + 1 + skipped if title_line else None
        head.append(("markdown", intro.strip("\n"), [], intro_line))
    return head


def build_notebook(script: Path, project: Project) -> BuiltNotebook:
    """Build the Colab notebook of one script, in memory."""
    script = script.resolve()
    parsed, starts = parse_script(script)
    cells = list(parsed.cells)
    check_syntax(script, cells, starts)
    _check_shape(script, cells, starts)
    expanded, setup_at, holder = _expand(script, project, cells, starts)
    code = [source for kind, source, _, _ in expanded if kind == "code"]
    requirements = requirements_for(code, project, script)
    data_packages = data_packages_for(code, project)
    if setup_at is None:
        setup_at = next((i for i, c in enumerate(expanded) if c[0] == "code"), len(expanded))
    expanded.insert(
        setup_at,
        (
            "code",
            setup_source(requirements, project.stacks.values(), data_packages),
            [Tag.SETUP],
            None,
        ),
    )
    ipynb = script.with_suffix(".ipynb")
    body = _head(project, ipynb, expanded[0], holder) + expanded[1:]

    # The TensorFlow docs' canonical form (what `nbfmt` writes): nbformat 4.0, Colab-style cell
    # ids in metadata, no tags. Tags live on in `BuiltNotebook.tags` for the run copy.
    notebook = nbformat.v4.new_notebook()
    notebook.nbformat, notebook.nbformat_minor = 4, 0
    notebook.metadata = nbformat.NotebookNode(
        {
            "colab": {"name": ipynb.name, "toc_visible": True},
            "kernelspec": {"display_name": "Python 3", "name": "python3"},
        }
    )
    taken: set[str] = set()
    for kind, source, _, _ in body:
        metadata = {"id": _cell_id(source, taken)}
        if kind == "code" and source.startswith(FORM_TITLE):  # the license and the snippets
            metadata["cellView"] = "form"
        if kind == "code":
            cell = nbformat.NotebookNode(
                cell_type="code", execution_count=None, outputs=[], metadata=metadata, source=source
            )
        else:
            cell = nbformat.NotebookNode(cell_type="markdown", metadata=metadata, source=source)
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return BuiltNotebook(
        script=script,
        notebook=notebook,
        source_lines=[line for *_, line in body],
        requirements=requirements,
        data_packages=data_packages,
        tags=[[str(t) for t in tags] for _, _, tags, _ in body],
    )
