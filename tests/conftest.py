"""Shared fixtures: a throwaway copy of the fixture repository, and the real project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tutorial_gen.config import load_project
from tutorial_gen.model import Project

FIXTURE = Path(__file__).parent / "fixtures" / "repo"
GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/repo: a project with one stdlib-only technique, `tiny`."""
    target = tmp_path / "repo"
    shutil.copytree(
        FIXTURE, target, ignore=shutil.ignore_patterns("build", "*.ipynb", "overview.md")
    )
    return target


@pytest.fixture
def project(repo: Path) -> Project:
    return load_project(repo)


@pytest.fixture
def tiny(repo: Path) -> Path:
    return repo / "notebooks" / "tiny"


@pytest.fixture
def make_technique(repo: Path):
    """Make a technique folder in `repo`: make_technique(name, {stem: script body}, [metric])."""

    def make(name: str, scripts: dict[str, str], metrics: list[str]) -> Path:
        folder = repo / "notebooks" / name
        folder.mkdir()
        for stem, body in scripts.items():
            (folder / f"{stem}.py").write_text(
                f"# %% [markdown]\n# # {stem}\n\n{body}", encoding="utf-8"
            )
        declared = "".join(f'{metric} = "{metric}"\n' for metric in metrics)
        (folder / "technique.toml").write_text(
            f'[technique]\nname = "{name}"\ndescriptor = "{name}"\n\n'
            + "".join(
                f'[[notebooks]]\nscript = "{stem}.py"\n[notebooks.metrics]\n{declared}\n'
                for stem in scripts
            ),
            encoding="utf-8",
        )
        return folder

    return make
