"""Reading Jupytext percent scripts, and telling their Python from IPython's shell and magic lines."""

from __future__ import annotations

import ast
import copy
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..errors import ScriptError
from ..fileio import read_text

_CELL_MARKER = re.compile(r"^# %%")
# IPython-only syntax: shell (`!cmd`) and magic (`%line`, `%%cell`) lines, alone or assigned from.
IPYTHON_LINE = re.compile(r"^(?P<indent>\s*)(?:[\w.]+\s*=\s*)?(?P<kind>!|%%?)(?P<command>\S*)")


@functools.lru_cache(maxsize=32)
def _read_percent(text: str) -> nbformat.NotebookNode:
    """Jupytext's reading of a percent script (slow: it validates every cell), once per text."""
    import jupytext  # a fifth of a second to import: a run's kernel boots meanwhile

    return jupytext.reads(text, fmt="py:percent")


def parse_script(script: Path) -> tuple[nbformat.NotebookNode, list[int | None]]:
    """Read a percent script; return its notebook and the script line where each cell's text starts."""
    text = read_text(script, ScriptError)
    if not text.strip():
        raise ScriptError(
            "the script is empty",
            path=script,
            hint="start from `tutorial-gen new` or see docs/authoring.md",
        )
    lines = text.splitlines()
    markers = [n for n, line in enumerate(lines, start=1) if _CELL_MARKER.match(line)]
    if not markers:
        raise ScriptError(
            "no `# %%` cell markers: not a Jupytext percent script", path=script, line=1
        )
    try:
        notebook = copy.deepcopy(_read_percent(text))
    except Exception as error:  # jupytext raises many types; all mean "does not parse"
        raise ScriptError(f"Jupytext cannot read it: {error}", path=script) from error
    if len(notebook.cells) not in (len(markers), len(markers) + 1):
        return notebook, [None] * len(notebook.cells)
    cells = list(notebook.cells)
    starts: list[int | None] = []
    if len(cells) == len(markers) + 1:  # text before the first marker forms a cell
        starts.append(1 + _blank_offset(lines[: markers[0] - 1], cells.pop(0).source))
    for index, (marker, cell) in enumerate(zip(markers, cells, strict=True)):
        end = markers[index + 1] if index + 1 < len(markers) else len(lines) + 1
        starts.append(marker + 1 + _blank_offset(lines[marker : end - 1], cell.source))
    return notebook, starts


def _leading_blanks(lines: list[str]) -> int:
    return next((i for i, line in enumerate(lines) if line.strip()), len(lines))


def _blank_offset(segment: list[str], source: str) -> int:
    """How many of the blank lines that open a cell's script text its source has dropped.

    Jupytext keeps the blank lines that open a code cell and drops those of a markdown cell, so
    the source's first line is found where the script's text and the source agree."""
    return max(0, _leading_blanks(segment) - _leading_blanks(source.splitlines()))


@dataclass(frozen=True)
class IPythonCommand:
    """A shell (`!cmd`) or magic (`%line`, `%%cell`) command of a cell, and the lines it spans."""

    line: int  # its first line, from 1
    end: int  # its last line: a trailing backslash continues a command onto the next line
    indent: str
    kind: str  # "!", "%" or "%%"
    text: str  # the command after its `!`/`%`, continuation lines joined by spaces

    @property
    def words(self) -> list[str]:
        return self.text.split()

    @property
    def program(self) -> str:
        """The command's first word: `pip` for `!pip install x`, `load_ext` for `%load_ext x`."""
        return self.words[0] if self.words else ""


def ipython_commands(source: str) -> list[IPythonCommand]:
    """The cell's IPython commands: lines that `IPYTHON_LINE` matches where a statement can start.

    A line inside the brackets or the triple-quoted string of the lines before is Python, as
    IPython reads it: `      % (value))` continuing a `print("%.2f"` is the modulo operator.
    A `%%` cell magic spans the whole cell.
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        match = IPYTHON_LINE.match(lines[0])
        text = lines[0].lstrip()[2:]
        return [IPythonCommand(1, len(lines), match["indent"] if match else "", "%%", text)]
    commands: list[IPythonCommand] = []
    state = _PythonState()
    number = 0
    while number < len(lines):
        line = lines[number]
        match = IPYTHON_LINE.match(line) if state.at_statement_start else None
        if match is None:
            state.read(line)
            number += 1
            continue
        end = number
        while lines[end].endswith("\\") and end + 1 < len(lines):
            end += 1
        pieces = [lines[number][match.end("kind") :], *lines[number + 1 : end + 1]]
        text = " ".join(p.removesuffix("\\").strip() for p in pieces).strip()
        commands.append(IPythonCommand(number + 1, end + 1, match["indent"], match["kind"], text))
        number = end + 1
    return commands


class _PythonState:
    """Where a scan of Python lines stands: open brackets, an open triple-quoted string, a
    trailing backslash. A statement can start only where none is open."""

    _TOKEN = re.compile(r"('''|\"\"\"|'|\")|#|\\$|[(\[{]|[)\]}]")

    def __init__(self) -> None:
        self.depth = 0
        self.triple: str | None = None  # the quotes of an open triple-quoted string
        self.continued = False

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.triple is None and not self.continued

    def read(self, line: str) -> None:
        self.continued = False
        at = 0
        if self.triple:
            close = _string_end(line, 0, self.triple)
            if close is None:
                return
            self.triple, at = None, close
        while (token := self._TOKEN.search(line, at)) is not None:
            text, at = token.group(), token.end()
            if token.group(1):  # a string opens
                close = _string_end(line, at, token.group(1))
                if close is None:
                    if len(token.group(1)) == 3:
                        self.triple = token.group(1)
                    return  # an unclosed one-line string is a syntax error: nothing to track
                at = close
            elif text == "#":
                return
            elif text == "\\":
                self.continued = True
            elif text in "([{":
                self.depth += 1
            else:
                self.depth = max(self.depth - 1, 0)


def _string_end(line: str, start: int, quotes: str) -> int | None:
    """The offset just after the `quotes` that close a string opened before `start`, if any."""
    at = start
    while (close := line.find(quotes, at)) != -1:
        backslashes = len(line[:close]) - len(line[:close].rstrip("\\"))
        if backslashes % 2 == 0:
            return close + len(quotes)
        at = close + 1
    return None


def ipython_to_python(source: str) -> str:
    """The cell's Python, with IPython shell and magic lines turned into `pass` (same line numbers).

    A `%%` cell magic makes the whole cell something other than Python: it becomes empty. The
    continuation lines of a command (after a trailing backslash) become blank.
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    for command in ipython_commands(source):
        lines[command.line - 1] = f"{command.indent}pass"
        lines[command.line : command.end] = [""] * (command.end - command.line)
    return "\n".join(lines)


def check_syntax(
    script: Path, cells: list[nbformat.NotebookNode], starts: list[int | None]
) -> None:
    """A `ScriptError` at the script line of the first code cell that is not valid Python."""
    for cell, start in zip(cells, starts, strict=True):
        if cell.cell_type != "code":
            continue
        try:
            ast.parse(ipython_to_python(cell.source))
        except SyntaxError as error:
            line = (start or 1) + (error.lineno or 1) - 1 if start else None
            raise ScriptError(
                f"Python syntax error: {error.msg}",
                path=script,
                line=line,
                hint="fix the code cell; the notebook was not written",
            ) from error


@functools.lru_cache(maxsize=1024)
def imported_modules(source: str) -> tuple[str, ...]:
    """Top-level modules a cell imports (cached: inlined snippets recur in every notebook)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(ipython_to_python(source))):
        if isinstance(node, ast.Import):
            names.extend(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return tuple(names)
