"""`check-technique` and `new`: the contributors' guide, executable."""

from __future__ import annotations

import shutil

import pytest

from conftest import ROOT
from tutorial_gen.cli import main
from tutorial_gen.config import load_project, load_technique
from tutorial_gen.model import RunRequest
from tutorial_gen.run.suite import run_technique
from tutorial_gen.verbs import check_technique

SHIPPED = sorted(p.parent for p in (ROOT / "notebooks").glob("*/technique.toml"))


@pytest.mark.parametrize("folder", SHIPPED, ids=[f.name for f in SHIPPED])
def test_every_shipped_technique_passes_the_checklist(folder):
    outcome = check_technique(load_technique(folder), load_project(ROOT))
    missing = [f"{name}: {reason}" for name, present, reason in outcome if not present]
    assert not missing


def test_the_fixture_lacks_what_it_lacks(project, tiny):
    outcome = {name: present for name, present, _ in check_technique(load_technique(tiny), project)}
    assert outcome["comprehensive guide present"] is False  # the fixture has no guide
    assert outcome["references present"] is True
    assert outcome["overview page complete"] is False  # not rendered in the copy


def test_check_technique_exit_code_and_marks(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    assert main(["render"]) == 0
    assert main(["check-technique", "notebooks/tiny"]) == 1
    out = capsys.readouterr().out
    assert "✓ overview page complete" in out and "✗ comprehensive guide present" in out


@pytest.fixture
def empty_repo(tmp_path):
    """A repository with the project's pins and snippets and no technique."""
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    shutil.copyfile(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(ROOT / "notebooks" / "_snippets", root / "notebooks" / "_snippets")
    return root


def test_new_refuses_bad_names_and_existing_folders(empty_repo, monkeypatch, capsys):
    monkeypatch.chdir(empty_repo)
    assert main(["new", "Bad-Name"]) == 2
    assert main(["new", "weight_sharing"]) == 0
    assert main(["new", "weight_sharing"]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.tutorial
def test_new_technique_builds_and_runs(empty_repo, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(empty_repo)
    assert main(["new", "weight_sharing", "--name", "Weight sharing"]) == 0
    assert main(["build"]) == 0
    folder = empty_repo / "notebooks" / "weight_sharing"
    assert (folder / "overview.md").is_file()
    report = run_technique(
        load_technique(folder),
        load_project(empty_repo),
        RunRequest(profile="smoke", build_dir=tmp_path / "build"),
    )
    assert all(run.status == "ok" for run in report.runs), [str(r.error) for r in report.runs]
    assert report.ok
    outcome = dict(
        (n, p) for n, p, _ in check_technique(load_technique(folder), load_project(empty_repo))
    )
    assert outcome["overview page complete"] is False  # its TODO(tutorial-gen) places
