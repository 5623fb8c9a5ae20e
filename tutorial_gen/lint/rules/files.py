"""Rules about what a notebook touches outside itself: absolute paths, files in the working
directory, shell commands whose failure goes unnoticed."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ...model import Tag
from ..document import Cell, Document, dotted
from ..registry import Hit, rule
from .runtime import device_command
from .setup import pip_install_command

_ABSOLUTE = re.compile(r"^(?:/[\w.~+-]+(?:/[\w.~+-]*)*|[A-Za-z]:\\.*)$")
# Kernel interfaces every Linux runtime (Colab included) has: reading them is not machine-bound.
_SYSTEM_FILES = ("/proc/", "/sys/", "/dev/null")


def _strings(cell: Cell) -> Iterator[tuple[int, str]]:
    """String literals of a cell's code, and the words of its shell and magic lines (not of
    the commands run on a phone: `/data/local/tmp` is a path there)."""
    for node in cell.nodes():
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
    for command in cell.commands:
        if not device_command(command):
            yield from ((command.line, word.strip("\"'")) for word in command.words)


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


def _at(cell: Cell, node: ast.expr) -> tuple[int, int, int]:
    return cell.index, node.lineno, node.col_offset


def _relative(doc: Document, cell: Cell, node: ast.expr | None, depth: int = 0) -> str | None:
    """The path relative to the working directory that `node` names, as a reader would write
    it; None where it names none or cannot be read. Names are followed to what they are bound
    to; an f-string counts when its text has no directory part, or starts with a relative one.
    """
    if isinstance(node, ast.Name) and depth < 8:
        bound = doc.binding(node.id, _at(cell, node))
        value = bound.value if bound and isinstance(bound.value, ast.expr) else None
        return _relative(doc, cell, value, depth + 1)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
        return text if text and not _ABSOLUTE.match(text) and "://" not in text else None
    if isinstance(node, ast.JoinedStr) and node.values:
        first, text = node.values[0], ast.unparse(node)[2:-1]
        if isinstance(first, ast.Constant):
            return _relative(doc, cell, first, depth + 1) and text
        constants = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
        if isinstance(first, ast.FormattedValue) and not re.search(r"[/\\]", constants):
            name = first.value
            if isinstance(name, ast.Name) and not doc.binding(name.id, _at(cell, name)):
                return text  # `f"{name}.tflite"`, `name` bound nowhere in sight: a file name
            return _relative(doc, cell, name, depth + 1) and text
        return None
    if isinstance(node, ast.Call) and dotted(node.func) in {"os.path.join", "Path", "pathlib.Path"}:
        first = _relative(doc, cell, node.args[0] if node.args else None, depth + 1)
        return first and ast.unparse(node)
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
            path = _relative(doc, cell, _written_path(dotted(node.func), node))
            if path:
                yield Hit(cell, node.lineno, f"writes '{path}' into the working directory")


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
        if cell.skipped:
            continue
        for command in cell.commands:
            if command.kind != "!" and command.program in _SAFE_MAGICS:
                continue
            if pip_install_command(command) or device_command(command):
                continue  # pip-magic and device say what is wrong with these
            line = cell.lines[command.line - 1].strip()
            yield Hit(cell, command.line, f"`{line}` runs outside Python")
