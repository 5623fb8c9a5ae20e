"""Documents: what the lint rules see of one notebook, its cells, imports and calls."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..build import ipython_to_python
from ..model import Claim, Technique


@dataclass(frozen=True)
class Cell:
    """One notebook cell, and the script line its text starts at (None where it has none)."""

    index: int
    kind: str
    source: str
    tags: tuple[str, ...] = ()
    line: int | None = None

    @functools.cached_property
    def tree(self) -> ast.Module | None:
        """The cell's Python (IPython lines blanked); None for prose or code that does not parse."""
        if self.kind != "code":
            return None
        try:
            return ast.parse(ipython_to_python(self.source))
        except SyntaxError:
            return None

    @property
    def lines(self) -> list[str]:
        return self.source.splitlines()

    def nodes(self) -> Iterator[ast.AST]:
        """Every node of the cell's Python (none for prose or code that does not parse)."""
        return ast.walk(self.tree) if self.tree else iter(())


@dataclass(frozen=True)
class Found:
    """Something in the code (an import, a call) and where it is: cell and line in the cell."""

    cell: Cell
    line: int
    name: str  # the imported top-level module, or the called function as `a.b.c`

    @property
    def position(self) -> tuple[int, int]:
        return self.cell.index, self.line


@dataclass
class Document:
    """What the rules see of one notebook."""

    path: Path
    cells: list[Cell]
    pins: dict[str, str]  # the tested versions, from pyproject.toml
    technique: Technique | None = None
    role: str | None = None
    claims: list[Claim] = field(default_factory=list)

    @property
    def code(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "code"]

    @property
    def markdown(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "markdown"]

    @functools.cached_property
    def imports(self) -> list[Found]:
        found = []
        for cell in self.code:
            for node in cell.nodes():
                if isinstance(node, ast.Import):
                    found += [Found(cell, node.lineno, a.name.split(".")[0]) for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.append(Found(cell, node.lineno, node.module.split(".")[0]))
        return sorted(found, key=lambda f: f.position)

    @functools.cached_property
    def calls(self) -> list[Found]:
        """The calls the notebook makes as it runs, in order. A call to a function the notebook
        defines also stands for the calls in that function's body, so a helper hides no `fit`."""
        bodies = {
            node.name: [dotted(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)]
            for cell in self.code
            for node in cell.nodes()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        calls = sorted(
            (
                (cell.index, node.lineno, node.col_offset, cell, dotted(node.func))
                for cell in self.code
                for node in run_time_nodes(cell.tree)
                if isinstance(node, ast.Call)
            ),
            key=lambda call: call[:3],
        )
        return [
            Found(cell, line, called)
            for _, line, _, cell, name in calls
            for called in [name, *bodies.get(name, [])]
        ]

    def first_import(self, *names: str) -> Found | None:
        """The first import of any of the top-level modules `names`."""
        return next((f for f in self.imports if f.name in names), None)


def dotted(node: ast.expr) -> str:
    """The called or referenced name as `a.b.c` (`f()` for a call result, `?` for the rest)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{dotted(node.func)}()"
    return "?"


def run_time_nodes(tree: ast.Module | None) -> Iterator[ast.AST]:
    """The nodes that run when the cell runs: not the bodies of functions, classes or lambdas."""
    stack: list[ast.AST] = [tree] if tree else []
    while stack:
        node = stack.pop()
        yield node
        stack += [
            child
            for child in ast.iter_child_nodes(node)
            if not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            )
        ]
