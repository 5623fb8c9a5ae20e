"""The package's layout: stages that depend on the typed core and on each other in one direction.

Read with `ast`, so the test sees every import, at the top of a module or inside a function.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tutorial_gen"

# What each part of the package may import of tutorial_gen. Lower layers never import higher ones.
ALLOWED = {
    "model": set(),
    "errors": set(),
    "registry": {"errors"},
    "fileio": {"errors"},
    "verify": {"model", "errors", "registry"},
    "config": {"model", "errors", "registry", "fileio", "verify"},
    "build": {"model", "errors", "fileio"},
    "publish": {"model", "errors", "registry", "fileio", "config", "build"},
    "selection": {"model", "errors", "config"},
    "datasets": {"errors"},
    "run": {"model", "errors", "fileio", "config", "build", "verify", "datasets", "__init__"},
    # lint reports what run.preflight refuses: it reuses its checks
    "lint": {
        "model",
        "errors",
        "registry",
        "fileio",
        "config",
        "build",
        "selection",
        "run",
        "datasets",
    },
    "verbs": {"model", "errors", "publish", "run", "verify", "lint"},
    # the site shows what runs left in the build folder: it reads them through run's store
    "site": {"model", "errors", "build", "publish", "run"},
    "scaffold": {"model", "errors", "fileio", "config", "publish"},
    "adopt": {"model", "errors", "fileio", "build", "lint"},
    "docs": {"model", "errors", "fileio", "config", "publish"},
    "cli": {
        "__init__",
        "model",
        "errors",
        "config",
        "selection",
        "build",
        "run",
        "lint",
        "verbs",
        "scaffold",
        "adopt",
        "docs",
        "arguments",
        "datasets",
        "compat",
        "site",
    },
    "arguments": {"errors", "lint", "model"},
    "compat": {"model", "errors", "fileio", "run"},
    "__init__": set(),
    "__main__": {"cli"},
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
LONG_BY_DESIGN = {("cli", "parser")}  # the declarative argparse table


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(imported tutorial_gen module, names taken from it) for every import of `path`."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif (node.module or "").startswith("tutorial_gen"):
                target = node.module.removeprefix("tutorial_gen").lstrip(".")
            else:
                continue
            found.append((target or "__init__", [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tutorial_gen."):
                    found.append((alias.name.removeprefix("tutorial_gen."), []))
    return found


def _resolve(target: str, names: list[str], modules: dict[str, Path]) -> list[str]:
    """The modules an import reaches: `from .pkg import mod` names a module, not an attribute."""
    reached = []
    for name in names or [""]:
        candidate = f"{target}.{name}" if target != "__init__" else name
        if name and candidate in modules:
            reached.append(candidate)
        elif target in modules or f"{target}.__init__" in modules or target == "__init__":
            reached.append(target)
    return reached


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {
            reached
            for target, names in _imports(name, path)
            for reached in _resolve(target, names, modules)
            if reached != name
        }
        for name, path in modules.items()
    }


def test_no_import_cycle():
    graph = _graph()

    def package_of(module: str) -> str:
        return module.removesuffix(".__init__")

    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for child in sorted(graph.get(node, ())):
            child = child if child in graph else f"{child}.__init__"
            if state.get(child) == 1:
                cycle.extend([*trail, node, child])
            elif child in graph and not state.get(child):
                visit(child, [*trail, node])
        state[node] = 2

    for module in sorted(graph):
        if not state.get(module):
            visit(module, [])
    assert not cycle, " -> ".join(package_of(m) for m in cycle)


def test_each_part_imports_only_what_its_layer_allows():
    wrong = []
    for module, targets in _graph().items():
        part = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other != part and other not in ALLOWED[part]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, wrong


def test_no_private_name_crosses_a_module():
    crossing = []
    modules = _modules()
    for name, path in modules.items():
        for target, names in _imports(name, path):
            crossing += [
                f"{name} takes {n} from {target}"
                for n in names
                if n.startswith("_") and not n.endswith("__")
            ]
    assert not crossing, crossing


def test_the_model_imports_nothing_of_tutorial_gen():
    outside = {
        module: sorted(t for t in targets if not t.startswith("model."))
        for module, targets in _graph().items()
        if module.startswith("model.")
    }
    assert not any(outside.values()), outside


@pytest.mark.parametrize("name", sorted(_modules()))
def test_modules_and_functions_stay_small(name):
    path = _modules()[name]
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{name}: {len(text.splitlines())} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if (name, node.name) not in LONG_BY_DESIGN:
                assert length <= MAX_FUNCTION_LINES, f"{name}.{node.name}: {length} lines"


# Keys only the results model may read: how raw-dict access to the results file looks.
_RESULTS_KEYS = re.compile(r"""(?:\[|\.get\()\s*["'](?:notebooks|claims|environment|schema)["']""")


def test_only_the_model_reads_the_results_file_as_a_dict():
    raw = [
        f"{name}:{number}"
        for name, path in _modules().items()
        if not name.startswith(("model.", "config."))  # config reads technique.toml's keys
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _RESULTS_KEYS.search(line)
    ]
    assert not raw, raw
