"""Lint: find the ways a tutorial breaks for its readers before anyone runs it.

A rule (in `lint_rules`) is a function over a `Document`, the cells of one notebook and its
technique when known, that yields `Hit`s; `RULES` registers the rules by id. Our scripts are
linted as the notebook `build` makes of them, so generated cells count too; a finding points at
the script line where its cell has one, else at the cell's number. Notebooks we did not write are
read as they are. Nothing here imports TensorFlow: rules read code with `ast`, prose with regexes.
"""

from __future__ import annotations

import ast
import contextlib
import functools
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .build import build_notebook, ipython_to_python
from .config import Claim, Project, Technique, discover_techniques, load_technique
from .errors import ConfigError, ScriptError, did_you_mean
from .fileio import read_text

# --------------------------------------------------------------------------- documents


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


# --------------------------------------------------------------------------- the rule registry


@dataclass(frozen=True)
class Hit:
    """What a rule reports: a cell, the line inside it (from 1), and specifics when it has them."""

    cell: Cell
    line: int = 1
    message: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class Rule:
    """A lint rule: its id, what it catches in one line, what to do about it, and its check."""

    id: str
    message: str
    hint: str
    check: Callable[[Document], Iterable[Hit]]


RULES: dict[str, Rule] = {}


def rule(rule_id: str, message: str, hint: str) -> Callable:
    """Register a rule function under `rule_id`."""

    def register(check: Callable[[Document], Iterable[Hit]]) -> Callable:
        RULES[rule_id] = Rule(rule_id, message, hint, check)
        return check

    return register


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Finding:
    """One problem found: the rule, what is wrong, where (script line, else cell), what to do."""

    rule: str
    message: str
    path: Path
    line: int | None
    cell: int | None
    hint: str

    def __str__(self) -> str:
        path = self.path
        with contextlib.suppress(ValueError, OSError):
            path = path.resolve().relative_to(Path.cwd().resolve())
        where = self.line if self.line is not None else f"cell {self.cell}"
        return f"{path}:{where}: {self.rule} {self.message} ({self.hint})"


def check_rule_ids(rule_ids: Iterable[str]) -> None:
    """Raise `ConfigError` for an id that names no rule."""
    for rule_id in rule_ids:
        if rule_id not in RULES:
            raise ConfigError(
                f"unknown rule '{rule_id}'{did_you_mean(rule_id, RULES)}",
                hint=f"rules: {', '.join(RULES)}",
            )


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
    check_rule_ids(exclude)
    return [
        finding
        for source in _sources(paths, project)
        for finding in lint_document(load_document(source, project), exclude)
    ]


def _sources(paths: list[Path], project: Project) -> list[Path]:
    """The scripts and foreign notebooks that `paths` name; a notebook's script stands for it."""
    sources: list[Path] = []
    for path in paths or discover_techniques(project):
        if path.is_dir():
            folders = [path] if (path / "technique.toml").is_file() else []
            folders = folders or sorted(p.parent for p in path.glob("*/technique.toml"))
            if not folders:
                raise ScriptError("holds no technique (no technique.toml)", path=path)
            sources += [nb.script for f in folders for nb in load_technique(f).notebooks.values()]
        elif path.suffix == ".ipynb" and path.is_file():
            paired = path.with_suffix(".py")
            ours = paired.is_file() and (path.parent / "technique.toml").is_file()
            sources.append(paired if ours else path)
        elif path.suffix == ".py" and path.is_file():
            sources.append(path)
        else:
            raise ScriptError(
                "is not a script, a notebook or a technique folder"
                if path.exists()
                else "does not exist",
                path=path,
                hint="pass .py scripts, .ipynb notebooks or notebooks/<technique>",
            )
    return list(dict.fromkeys(s.resolve() for s in sources))


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
    text = read_text(path, ScriptError)
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except nbformat.reader.NotJSONError as error:
        raise ScriptError("is not a notebook: not JSON", path=path) from error
    except Exception as error:  # nbformat raises many types; all mean "not a notebook"
        reason = " ".join(str(getattr(error, "message", error)).split())[:200]
        raise ScriptError(f"is not a valid notebook: {reason}", path=path) from error
    return [
        Cell(i, c.cell_type, c.source, tuple(c.metadata.get("tags", [])))
        for i, c in enumerate(notebook.cells)
    ]


from . import lint_rules  # noqa: E402, F401  (registers the rules in RULES)
