"""Documents: what the lint rules see of one notebook, its cells, imports and calls."""

from __future__ import annotations

import ast
import bisect
import contextlib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..build import ipython_to_python
from ..build.script import IPythonCommand, ipython_commands
from ..model import Claim, Notebook, Tag, Technique

# The TensorFlow docs' marker of a cell their notebook tooling does not execute.
NO_EXECUTE = re.compile(r"^\s*#\s*docs_infra:\s*no_execute\b", re.MULTILINE)


@dataclass(frozen=True)
class Cell:
    """One notebook cell, and the script line its text starts at (None where it has none)."""

    index: int
    kind: str
    source: str
    tags: tuple[str, ...] = ()
    line: int | None = None

    @functools.cached_property
    def _parsed(self) -> ast.Module | SyntaxError | None:
        if self.kind != "code":
            return None
        try:
            return ast.parse(ipython_to_python(self.source))
        except SyntaxError as error:
            return error

    @property
    def tree(self) -> ast.Module | None:
        """The cell's Python (IPython lines blanked); None for prose or code that does not parse."""
        return self._parsed if isinstance(self._parsed, ast.Module) else None

    @property
    def syntax_error(self) -> SyntaxError | None:
        """Why the cell's code does not parse (None for prose and code that parses)."""
        return self._parsed if isinstance(self._parsed, SyntaxError) else None

    @functools.cached_property
    def commands(self) -> list[IPythonCommand]:
        """The cell's shell and magic commands (none for prose)."""
        return ipython_commands(self.source) if self.kind == "code" else []

    @property
    def skipped(self) -> bool:
        """Whether runs leave the cell out: tagged `skip-execution`, or marked for the TF docs'
        tooling with `#docs_infra: no_execute`."""
        return Tag.SKIP_EXECUTION in self.tags or bool(NO_EXECUTE.search(self.source))

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
    notebook: Notebook | None = None  # its entry in technique.toml
    # {function of the project's snippets: what it calls, also through the snippet functions it
    # calls}: a call of `to_tflite` stands for the converter calls in its body
    helpers: Mapping[str, frozenset[str]] = field(default_factory=dict)

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
        bodies = function_calls(node for cell in self.code for node in cell.nodes())
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

    @functools.cached_property
    def bindings(self) -> dict[str, list[Binding]]:
        """Where each name is bound, in notebook order."""
        found: dict[str, list[Binding]] = {}
        for cell in self.code:
            for node in cell.nodes():
                for name, value in _bound(node):
                    found.setdefault(name, []).append(Binding(_bound_at(cell, node), value))
        return {name: sorted(b, key=lambda b: b.position) for name, b in found.items()}

    def binding(self, name: str, position: tuple[int, int, int]) -> Binding | None:
        """The binding of `name` in force at `position` (cell, line, column): the last one made
        before it, else (for the body of a function defined early) the last one at all."""
        bindings = self.bindings.get(name, [])
        made = bisect.bisect_right(bindings, position, key=lambda b: b.position)
        return bindings[made - 1] if made else (bindings[-1] if bindings else None)

    def resolve(self, name: str, position: tuple[int, int, int], depth: int = 0) -> str:
        """`name` (`a.b.c`) with its head replaced by what it stands for: `tf.keras.Model` is
        `tensorflow.keras.Model` after `import tensorflow as tf`, `mnist.load_data` is
        `tensorflow.keras.datasets.mnist.load_data` after `mnist = tf.keras.datasets.mnist`."""
        head, dot, rest = name.partition(".")
        bound = self.binding(head, position)
        if bound is None or depth > 8:
            return name
        if isinstance(bound.value, str):
            return bound.value + dot + rest
        if isinstance(bound.value, ast.Name | ast.Attribute):
            target = self.resolve(dotted(bound.value), bound.position, depth + 1)
            return target + dot + rest
        return name


@dataclass(frozen=True)
class Binding:
    """A name bound where its statement ends (cell, line, column), to an import's module (`a.b`),
    an assigned expression, or None: a loop target, an unpacked tuple, a function's parameter."""

    position: tuple[int, int, int]
    value: str | ast.expr | None


def _bound_at(cell: Cell, node: ast.AST) -> tuple[int, int, int]:
    """Where a statement's names are bound: at its end, but at the start of a function (its
    parameters are bound throughout its body)."""
    if isinstance(node, ast.comprehension):
        node = node.target
    elif isinstance(node, ast.withitem):
        node = node.context_expr
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        return cell.index, node.lineno, node.col_offset
    return cell.index, node.end_lineno or node.lineno, node.end_col_offset or 0


def _bound(node: ast.AST) -> Iterator[tuple[str, str | ast.expr | None]]:
    """The names a statement binds, each with what it binds it to."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            top = alias.name.split(".")[0]
            yield (alias.asname, alias.name) if alias.asname else (top, top)
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        for alias in node.names:
            yield alias.asname or alias.name, f"{node.module}.{alias.name}"
    elif isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                yield target.id, node.value
            else:
                yield from ((n.id, None) for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension | ast.withitem):
        target = node.optional_vars if isinstance(node, ast.withitem) else node.target
        yield from ((n.id, None) for n in ast.walk(target or ast.Pass()) if isinstance(n, ast.Name))
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        yield from ((a.arg, None) for a in ast.walk(node.args) if isinstance(a, ast.arg))
        if not isinstance(node, ast.Lambda):
            yield node.name, None


def function_calls(nodes: Iterable[ast.AST]) -> dict[str, list[str]]:
    """{name of each function among `nodes`: the calls in its body, as `a.b.c`}."""
    return {
        node.name: [dotted(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)]
        for node in nodes
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def snippet_calls(folder: Path) -> dict[str, frozenset[str]]:
    """{function the snippets in `folder` define: what it calls, directly or through the other
    snippet functions it calls}. A snippet that cannot be read is left to `build` to report."""
    texts = []
    for path in sorted(folder.glob("*.py")):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            texts.append(path.read_text(encoding="utf-8"))
    return _closure(tuple(texts))


@functools.lru_cache(maxsize=8)
def _closure(texts: tuple[str, ...]) -> dict[str, frozenset[str]]:
    direct: dict[str, list[str]] = {}
    for text in texts:
        with contextlib.suppress(SyntaxError, ValueError):
            direct |= function_calls(ast.parse(text).body)
    reached = {}
    for name in direct:
        seen: set[str] = set()
        pending = [name]
        while pending:
            fresh = set(direct.get(pending.pop(), ())) - seen
            seen |= fresh
            pending += fresh
        reached[name] = frozenset(seen)
    return reached


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
