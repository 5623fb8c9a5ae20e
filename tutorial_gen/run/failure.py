"""Failures of a run, as a reader of the error needs them: which cell, which script line, why."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat

from ..fileio import write_atomic
from ..model import Tag

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE = re.compile(r"Cell In\[(\d+)\], line (\d+)")
CRASH_FRAME = re.compile(r'File "[^"]*ipykernel_\d+[/\\]\d+\.py", line (\d+) in <module>')


# What a failed download says, whoever made it (Keras's get_file, urllib, requests, tfds, pip).
_OFFLINE = re.compile(
    r"URL fetch failure|Temporary failure in name resolution|Name or service not known|"
    r"Network is unreachable|No route to host|getaddrinfo failed|Failed to resolve|"
    r"Max retries exceeded|Failed to establish a new connection|urlopen error|"
    r"Could not resolve host|ConnectionError|URLError|gaierror",
)
_URL = re.compile(r"https?://[^\s'\"<>),]+")


def network_need(ename: str, evalue: str, traceback: list[str]) -> str | None:
    """What a failure needed from the network (`mnist.npz`, a URL), or None if it was no download."""
    text = _ANSI.sub("", "\n".join([f"{ename}: {evalue}", *(traceback or [])]))
    if not _OFFLINE.search(text):
        return None
    urls = [url.rstrip(":.;") for url in _URL.findall(text)]
    if not urls:
        return "something"
    name = urls[0].rstrip("/").rsplit("/", 1)[-1]
    return f"{name} ({urls[0]})" if name else urls[0]


class BudgetExceeded(Exception):
    """The whole-notebook time budget ran out between two cells."""


def locate_failure(
    notebook: nbformat.NotebookNode, exec_count: int | None, traceback: list[str]
) -> tuple[str, int | None]:
    """`where` text (the cell's number, and what made it) and the script line of the cell that raised."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.get("execution_count") == exec_count:
            origin = cell.metadata.get("tutorial_gen", {})
            start, number = origin.get("line"), origin.get("cell")
            text = _ANSI.sub("", "\n".join(traceback or []))
            hits = [
                int(m.group(2)) for m in _CELL_LINE.finditer(text) if int(m.group(1)) == exec_count
            ]
            where = f"cell {number}" if number else "a cell the run added"
            if start is None:
                generated = origin.get("generated")
                made = " (generated: setup, an inlined snippet or the harvest)" if generated else ""
                return where + made, None
            return where, start + (hits[-1] - 1 if hits else 0)
    return "a cell", None


def mark_stopped_cell(path: Path, index: int | None, message: str) -> int | None:
    """Put a red marker before the cell that was running when the run stopped; its script line."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # nothing was saved: there is nothing to mark
        return None
    if index is None or not 0 <= index < len(notebook.cells):
        return None
    line = notebook.cells[index].metadata.get("tutorial_gen", {}).get("line")
    marker = nbformat.v4.new_markdown_cell(
        f'<span style="color:red">Execution stopped in the next cell: {html.escape(message)}</span>',
        id=f"tutorial-gen-stopped-{index}",
    )
    marker.metadata["tags"] = [str(Tag.STOPPED)]
    notebook.cells[index].metadata.setdefault("tags", []).append(str(Tag.FAILED_CELL))
    notebook.cells.insert(index, marker)
    write_atomic(path, nbformat.writes(notebook))
    return line


def describe(error: BaseException) -> str:
    """Why a run stopped, in words, from the exception that stopped it."""
    name = type(error).__name__
    if name == "DeadKernelError":
        return "the kernel died (crashed, exited or was killed, e.g. for memory)"
    if name == "CellTimeoutError":
        return "a cell ran out of time"
    if isinstance(error, BudgetExceeded):
        return str(error)
    return f"{name}: {error}"
