"""The executed notebook as the site shows it: a copy, never the run's own file.

The copy holds what a reader of the tutorial saw, outputs included, and nothing a run added to
measure it (the harvest and prelude cells). It needs no network and runs no code of the notebook
in the reader's browser: the Colab buttons become plain links (their icons are images from the
web), raw HTML in Markdown is shown as text, an image from the web becomes a link, and an output
keeps only the kinds the page shows as text or pictures (`text/html`, JavaScript, SVG and widget
outputs are dropped for the plain text that comes with them).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from ..build.links import button_links
from ..model import Notebook, Project, Tag

# Cells a run adds to the copy it executes: they measure, they are not the tutorial.
RUN_CELLS = frozenset({str(Tag.HARVEST), str(Tag.PRELUDE)})
# Output kinds the page shows: text it escapes, pictures as data, Markdown shown as text.
SHOWN_OUTPUTS = frozenset({"text/plain", "text/markdown", "image/png", "image/jpeg"})
BUTTONS = '<table class="tfo-notebook-buttons"'

_AUTOLINK = re.compile(r"<https?://[^\s<>]*>")
_WEB_IMAGE = re.compile(r"!\[([^\]\n]*)\]\((https?://)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _inline_as_text(text: str) -> str:
    """`<` outside code spans (and autolinks) escaped with a backslash, so that no raw HTML
    survives; an image from the web becomes a link to it."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\":  # an escape already: keep it and the character it escapes
            out.append(text[index : index + 2])
            index += 2
        elif char == "`":
            run = len(text[index:]) - len(text[index:].lstrip("`"))
            close = re.compile(rf"(?<!`){'`' * run}(?!`)").search(text, index + run)
            end = close.end() if close else index + run
            out.append(text[index:end])
            index = end
        elif char == "<" and (link := _AUTOLINK.match(text, index)):
            out.append(link.group(0))
            index = link.end()
        elif char == "<":
            out.append("\\<")
            index += 1
        elif char == "!" and (image := _WEB_IMAGE.match(text, index)):
            out.append(f"[{image.group(1)}]({image.group(2)}")
            index = image.end()
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes the code fence `fence` (same character, at least as long, alone)."""
    closing = _FENCE.match(line)
    return bool(
        closing
        and closing.group(1)[0] == fence[0]
        and len(closing.group(1)) >= len(fence)
        and not line.strip().strip(fence[0])
    )


def markdown_as_text(source: str) -> str:
    """Markdown whose raw HTML shows as text: fenced code is left as written (it is text
    already), and so are code spans; everything else goes through `_inline_as_text`."""
    out: list[str] = []
    chunk: list[str] = []  # the lines since the last fence, read as one run of inline text
    fence = None
    for line in source.split("\n"):
        opening = _FENCE.match(line)
        if fence is None and opening:
            out += [_inline_as_text("\n".join(chunk))] if chunk else []
            chunk, fence = [], opening.group(1)
            out.append(line)
        elif fence is not None:
            out.append(line)
            fence = None if _closes(line, fence) else fence
        else:
            chunk.append(line)
    out += [_inline_as_text("\n".join(chunk))] if chunk else []
    return "\n".join(out)


def _buttons(project: Project, notebook: Notebook) -> str:
    """The Colab / GitHub / download row as plain Markdown links (no icons from the web)."""
    return " · ".join(
        f"[{label}]({href})" for href, _, label in button_links(project, notebook.ipynb)
    )


def _outputs(outputs: list) -> list:
    shown = []
    for output in outputs:
        if output.get("output_type") in ("display_data", "execute_result"):
            data = {k: v for k, v in output.get("data", {}).items() if k in SHOWN_OUTPUTS}
            if not data:
                continue
            if "text/markdown" in data:
                text = data["text/markdown"]
                data["text/markdown"] = markdown_as_text(
                    text if isinstance(text, str) else "".join(text)
                )
            output = nbformat.from_dict({**output, "data": data})
        shown.append(output)
    return shown


def readable_copy(
    executed: nbformat.NotebookNode, notebook: Notebook, project: Project, origin: str
) -> nbformat.NotebookNode:
    """The executed notebook as a reader sees it, with a first cell saying which run made it
    (`origin`, Markdown); `executed` is left as it is."""
    copied = copy.deepcopy(executed)
    copied.metadata.pop("widgets", None)  # their state would load the widget manager from the web
    cells = []
    for cell in copied.cells:
        if RUN_CELLS & set(cell.metadata.get("tags", [])):
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if cell.cell_type == "markdown":
            cell.source = (
                _buttons(project, notebook)
                if source.startswith(BUTTONS)
                else markdown_as_text(source)
            )
        elif cell.cell_type == "raw":  # shown as the text it is, whatever format it names
            fence = "`" * max([3, *(len(r) + 1 for r in re.findall(r"`+", source))])
            cell = nbformat.v4.new_markdown_cell(f"{fence}\n{source}\n{fence}", id=cell.get("id"))
        elif cell.cell_type == "code":
            cell.outputs = _outputs(cell.get("outputs", []))
        cells.append(cell)
    note = nbformat.v4.new_markdown_cell(
        f"*As the newest run in the build folder executed it, {origin}: its outputs as the run "
        "left them, without the cells the run added to measure it.*"
    )
    if (copied.nbformat, copied.nbformat_minor) >= (4, 5):
        note.id = "tutorial-gen-site-note"  # a fixed id: the same copy is the same file
    else:
        note.pop("id", None)
    copied.cells = [note, *cells]
    return copied


def write_readable(
    executed: Path, notebook: Notebook, project: Project, origin: str, target: Path
) -> None:
    """Write the readable copy of the executed notebook at `executed` to `target`; `origin`
    (Markdown) says which run executed it."""
    node = nbformat.read(executed, as_version=4)
    shown = readable_copy(node, notebook, project, origin)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(shown), encoding="utf-8")
