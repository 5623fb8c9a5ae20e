"""The project's settings: `[tool.tutorial_gen]` and the pinned dependencies of `pyproject.toml`."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError
from ..model import Project, Stack, canonical_name
from .toml import line_of, load_toml, reject_unknown

_PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([A-Za-z0-9_.\-+]+)\s*$")
_SETTINGS = {"repository", "branch", "notebooks", "snippets", "build_dir", "copyright"}


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding a `pyproject.toml` with `[tool.tutorial_gen]`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "[tool.tutorial_gen]" in candidate.read_text(encoding="utf-8"):
            return folder
    raise ConfigError(
        f"no pyproject.toml with [tool.tutorial_gen] at or above {here}",
        hint="run tutorial-gen inside the repository that holds the tutorials",
    )


def load_project(root: Path | None = None) -> Project:
    """Read `[tool.tutorial_gen]` and the pinned dependencies from `pyproject.toml`."""
    root = find_root(root)
    path = root / "pyproject.toml"
    data = load_toml(path)
    settings = dict(data.get("tool", {}).get("tutorial_gen", {}))
    reject_unknown(settings, _SETTINGS | {"stacks", "no_deps"}, path, "tool.tutorial_gen")
    stacks = _stacks(settings.pop("stacks", {}), path)
    no_deps = _no_deps(settings.pop("no_deps", []), path)
    for key, value in settings.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"[tool.tutorial_gen] {key} must be a string", path=path, line=line_of(path, key)
            )
    pins: dict[str, str] = {}
    for requirement in data.get("project", {}).get("dependencies", []):
        match = _PIN.match(requirement)
        if match:
            pins[canonical_name(match.group(1))] = match.group(2)
    return Project(root=root, pins=pins, no_deps=no_deps, stacks=stacks, **settings)


def _no_deps(data: object, path: Path) -> dict[str, str]:
    """`[tool.tutorial_gen] no_deps`: exact pins of what is installed without its dependencies."""
    entries = data if isinstance(data, list) else [None]
    matches = [_PIN.match(entry) if isinstance(entry, str) else None for entry in entries]
    if not all(matches):
        raise ConfigError(
            "[tool.tutorial_gen] no_deps must be an array of exact pins, such as "
            '["scattertext==0.2.2"]',
            path=path,
            line=line_of(path, "no_deps"),
        )
    return {canonical_name(m.group(1)): m.group(2) for m in matches}


_VERSION = re.compile(r"^[0-9][A-Za-z0-9_.+\-]*$")
_STACK_KEYS = {"pins", "legacy_keras", "supported", "note"}
# What every stack pins: the releases a tutorial's imports resolve to.
STACK_PINS = ("tensorflow", "tensorflow-model-optimization", "ai-edge-litert")


def _stacks(data: object, path: Path) -> dict[str, Stack]:
    """`[tool.tutorial_gen.stacks.<name>]`: each a table of exact pins and how the stack runs."""
    if not isinstance(data, dict):
        raise ConfigError("[tool.tutorial_gen] stacks must be a table of stacks", path=path)
    stacks = {}
    for name, table in data.items():
        where = f"tool.tutorial_gen.stacks.{name}"
        line = line_of(path, f"[{where}]")
        if not isinstance(table, dict):
            raise ConfigError(f"[{where}] must be a table", path=path, line=line)
        reject_unknown(table, _STACK_KEYS, path, where)
        pins = table.get("pins")
        if not isinstance(pins, dict) or not all(
            isinstance(v, str) and _VERSION.match(v) for v in pins.values()
        ):
            raise ConfigError(
                f"[{where}] pins must be a table of exact versions, such as "
                '{ tensorflow = "2.21.0" }',
                path=path,
                line=line,
            )
        pins = {canonical_name(k): v for k, v in pins.items()}
        legacy = table.get("legacy_keras", True)
        needed = STACK_PINS + (("tf-keras",) if legacy else ())
        missing = [n for n in needed if n not in pins]
        if missing:
            raise ConfigError(
                f"[{where}] pins no {', '.join(missing)}",
                path=path,
                line=line,
                hint="every stack pins tensorflow, tensorflow-model-optimization and "
                "ai-edge-litert, and tf-keras where it runs with legacy Keras",
            )
        for flag in ("legacy_keras", "supported"):
            if not isinstance(table.get(flag, True), bool):
                raise ConfigError(f"[{where}] {flag} must be true or false", path=path, line=line)
        stacks[name] = Stack(name, pins, legacy, table.get("supported", True), table.get("note"))
    return stacks
