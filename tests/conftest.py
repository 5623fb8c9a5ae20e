"""Shared fixtures: a throwaway copy of the fixture repository, and the real project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tutorial_gen.config import Project, load_project

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
