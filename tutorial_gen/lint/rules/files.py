"""Rules about what a notebook touches outside itself: absolute paths, files in the working
directory, shell commands whose failure goes unnoticed."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ...build import IPYTHON_LINE
from ...model import Tag
from ..document import Cell, Document, dotted
from ..registry import Hit, rule

_ABSOLUTE = re.compile(r"^(?:/[\w.~+-]+(?:/[\w.~+-]*)*|[A-Za-z]:\\.*)$")
# Kernel interfaces every Linux runtime (Colab included) has: reading them is not machine-bound.
_SYSTEM_FILES = ("/proc/", "/sys/", "/dev/null")


def _strings(cell: Cell) -> Iterator[tuple[int, str]]:
    """String literals of a cell's code, and the words of its shell and magic lines."""
    for node in cell.nodes():
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
    for number, line in enumerate(cell.lines, start=1):
        if IPYTHON_LINE.match(line):
            yield from ((number, word.strip("\"'")) for word in line.split())


@rule(
    "absolute-path",
    "a hard-coded absolute path",
    "write under tempfile.mkdtemp() and build paths with os.path.join",
)
def _absolute_path(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        for line, text in _strings(cell):
            if _ABSOLUTE.match(text) and not text.startswith(_SYSTEM_FILES):
                yield Hit(
                    cell, line, f"hard-coded path '{text}': it exists on the author's machine"
                )


# Call name (its last part) -> position of the path argument, for calls that write a file.
_WRITERS = {"save": 0, "savez": 0, "savez_compressed": 0, "savetxt": 0, "savefig": 0}
_WRITERS |= {"save_weights": 0, "to_csv": 0, "save_model": 1}
_PATH_KEYWORDS = {"file", "filename", "filepath", "fname", "path", "export_dir"}


def _written_path(name: str, call: ast.Call) -> ast.expr | None:
    last = name.rsplit(".", 1)[-1]
    if last == "open" and name in {"open", "io.open"}:
        mode = call.args[1] if len(call.args) > 1 else None
        mode = mode or next((k.value for k in call.keywords if k.arg == "mode"), None)
        writes = isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+")
        return call.args[0] if writes and call.args else None
    if last in {"write_text", "write_bytes"} and isinstance(call.func, ast.Attribute):
        receiver = call.func.value  # Path("name").write_text(...)
        return receiver.args[0] if isinstance(receiver, ast.Call) and receiver.args else None
    if last in _WRITERS:
        index = 1 if name.endswith("saved_model.save") else _WRITERS[last]
        keyword = next((k.value for k in call.keywords if k.arg in _PATH_KEYWORDS), None)
        return call.args[index] if len(call.args) > index else keyword
    return None


@rule(
    "cwd-write",
    "a file is written into the working directory",
    "write under a tempfile.mkdtemp() directory instead",
)
def _cwd_write(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        for node in cell.nodes():
            if not isinstance(node, ast.Call):
                continue
            path = _written_path(dotted(node.func), node)
            if (
                isinstance(path, ast.Constant)
                and isinstance(path.value, str)
                and path.value
                and not _ABSOLUTE.match(path.value)
                and "://" not in path.value
            ):
                yield Hit(cell, node.lineno, f"writes '{path.value}' into the working directory")


# Magics that cannot fail unnoticed: they set kernel state, or time Python that raises as usual.
_SAFE_MAGICS = {"env", "matplotlib", "time", "timeit", "capture"}


@rule(
    "shell-cell",
    "a shell command or magic whose failure the run does not notice",
    f"run it from Python with subprocess.run(..., check=True), or tag the cell '{Tag.SKIP_EXECUTION}' "
    "if it is for readers only",
)
def _shell_cell(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        if Tag.SKIP_EXECUTION in cell.tags:
            continue
        for number, line in enumerate(cell.lines, start=1):
            match = IPYTHON_LINE.match(line)
            if match and not (match["kind"] != "!" and match["command"] in _SAFE_MAGICS):
                yield Hit(cell, number, f"`{line.strip()}` runs outside Python")
