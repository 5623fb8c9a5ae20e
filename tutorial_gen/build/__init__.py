"""Build: each script becomes its paired, committed, Colab-ready notebook."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..fileio import sync_generated
from ..model import Project
from .notebook import BuiltNotebook, build_notebook, serialize
from .script import IPYTHON_LINE, imported_modules, ipython_to_python, parse_script

__all__ = [
    "IPYTHON_LINE",
    "BuildOutcome",
    "BuiltNotebook",
    "build",
    "build_notebook",
    "imported_modules",
    "ipython_to_python",
    "parse_script",
    "serialize",
]


@dataclass(frozen=True)
class BuildOutcome:
    """What `build` did with one script."""

    script: Path
    ipynb: Path
    changed: bool


def build(scripts: list[Path], project: Project, *, check: bool = False) -> list[BuildOutcome]:
    """Write (or, with `check`, compare) the paired notebook of every script.

    In check mode nothing is written; a `CheckFailed` names every notebook that is out of date.
    """
    files = [(s.with_suffix(".ipynb"), build_notebook(s, project).text) for s in scripts]
    changed = set(
        sync_generated(files, check=check, relpath=project.relpath, command="tutorial-gen build")
    )
    return [
        BuildOutcome(s, s.with_suffix(".ipynb"), s.with_suffix(".ipynb") in changed)
        for s in scripts
    ]
