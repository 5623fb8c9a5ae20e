"""Shared snippets: inlined where a script includes them, as collapsed Colab form cells.

A snippet is a plain module in the project's snippets folder. In the notebook it becomes one code
cell whose first line is a Colab form title (what it holds, and the file it comes from), so a
reader sees one line, not a wall of helpers, before the first idea. A snippet may use what an
earlier snippet defines; `check_order` refuses a script that includes them the other way round.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScriptError
from ..fileio import read_text
from ..model import Marker, Project

INCLUDE = re.compile(rf"^{re.escape(Marker.INCLUDE)} (?P<name>[A-Za-z0-9_]+)$")
FORM_TITLE = "#@title "


@dataclass(frozen=True)
class Snippet:
    """One snippet's text, its title, and the names it defines and needs from elsewhere."""

    name: str
    path: Path
    text: str
    title: str
    defines: frozenset[str]
    needs: frozenset[str]

    def cell_source(self, project: Project) -> str:
        """The snippet as its notebook cell holds it: a form title line, then its code."""
        return f"{FORM_TITLE}{self.title} (from {project.relpath(self.path)})\n{self.text}"


def included(source: str) -> str | None:
    """The snippet name a code cell includes, or None when it is no include marker."""
    match = INCLUDE.match(source.strip())
    return match.group("name") if match else None


def load_snippet(name: str, project: Project, script: Path, line: int | None) -> Snippet:
    """Read snippet `name`, or a `ScriptError` at the script line that includes it."""
    path = project.snippets_dir / f"{name}.py"
    if not path.is_file():
        raise ScriptError(
            f"snippet '{name}' does not exist (looked for {project.relpath(path)})",
            path=script,
            line=line,
        )
    return _parse(name, path, read_text(path, ScriptError).strip("\n"))


@functools.lru_cache(maxsize=64)
def _parse(name: str, path: Path, text: str) -> Snippet:
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise ScriptError(
            f"Python syntax error: {error.msg}", path=path, line=error.lineno
        ) from error
    doc = ast.get_docstring(tree) or name
    first = doc.strip().split("\n\n")[0].replace("\n", " ")
    title = first.split(". ")[0].split(": ")[0].rstrip(".:")
    defines = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defines.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defines.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            defines.update((a.asname or a.name).split(".")[0] for a in node.names)
    bound = defines | _bound_anywhere(tree)
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    needs = loaded - bound - set(dir(builtins))
    return Snippet(name, path, text, title, frozenset(defines), frozenset(needs))


def _bound_anywhere(tree: ast.AST) -> set[str]:
    """Every name the module binds in any scope: stores, parameters, definitions, imports."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def check_order(snippets: list[tuple[Snippet, int | None]], script: Path, project: Project) -> None:
    """Every name a snippet needs from another snippet is defined by one included before it."""
    available: set[str] = set()
    for index, (snippet, line) in enumerate(snippets):
        missing = sorted(snippet.needs - available)
        for name in missing:
            provider = _provider(name, project)
            if provider is None:
                continue  # not a snippet's name: the notebook defines it, or a run will say so
            later = provider in {s.name for s, _ in snippets[index + 1 :]}
            raise ScriptError(
                f"snippet '{snippet.name}' uses '{name}' from snippet '{provider}', which is "
                + ("included after it" if later else "not included"),
                path=script,
                line=line,
                hint=f"include {provider} before {snippet.name}",
            )
        available |= snippet.defines


def _provider(name: str, project: Project) -> str | None:
    for path in sorted(project.snippets_dir.glob("*.py")):
        try:
            snippet = _parse(path.stem, path, read_text(path, ScriptError).strip("\n"))
        except ScriptError:
            continue
        if name in snippet.defines:
            return snippet.name
    return None
