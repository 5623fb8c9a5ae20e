"""The project's settings: `[tool.tutorial_gen]` and the pinned dependencies of `pyproject.toml`."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError
from ..model import Project, canonical_name
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
    settings = data.get("tool", {}).get("tutorial_gen", {})
    reject_unknown(settings, _SETTINGS, path, "tool.tutorial_gen")
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
    return Project(root=root, pins=pins, **settings)
