"""Provenance: committed numbers come from a clean tree, or say how it was dirty."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT
from tutorial_gen.cli import main
from tutorial_gen.config import load_project
from tutorial_gen.fileio import dump_json
from tutorial_gen.model import ResultsFile
from tutorial_gen.run.provenance import tree_state
from tutorial_gen.run.store import read_results


def _git(repo: Path, *args: str) -> bytes:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    return subprocess.run(
        ["git", *identity, *args], cwd=repo, capture_output=True, check=True
    ).stdout


@pytest.fixture
def committed(repo: Path, monkeypatch) -> str:
    """The fixture repository as a git repository with everything committed; its HEAD."""
    (repo / ".gitignore").write_text("/build/\n.*.lock\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "fixture")
    monkeypatch.chdir(repo)
    return _git(repo, "rev-parse", "HEAD").decode().strip()


def _edit(script: Path) -> None:
    script.write_text(script.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")


def test_a_dirty_tree_refuses_a_full_run_before_running_anything(repo, tiny, committed, capsys):
    _edit(tiny / "tiny.py")
    before = (tiny / "results" / "full.json").read_text(encoding="utf-8")
    assert main(["run", "notebooks/tiny", "--profile", "full"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: the tree has uncommitted changes")
    assert "notebooks/tiny/tiny.py" in err and "--allow-dirty" in err
    assert not (repo / "build").exists(), "nothing was executed"
    assert (tiny / "results" / "full.json").read_text(encoding="utf-8") == before


def test_smoke_runs_go_ahead_on_a_dirty_tree_and_say_so(repo, tiny, committed, tmp_path):
    _edit(tiny / "tiny.py")
    assert main(["run", "notebooks/tiny", "--build-dir", str(tmp_path)]) == 0
    environment = read_results(tmp_path / "tiny" / "results" / "smoke.json").environment
    assert environment.commit == f"{committed}-dirty" and environment.diff


def test_allow_dirty_stamps_the_hash_of_the_diff_and_the_page_shows_it(tiny, committed):
    _edit(tiny / "tiny.py")
    diff = hashlib.sha256(_git(tiny.parent.parent, "diff", "HEAD")).hexdigest()[:12]
    assert main(["run", "notebooks/tiny", "--profile", "full", "--allow-dirty"]) == 0
    environment = read_results(tiny / "results" / "full.json").environment
    assert (environment.commit, environment.diff) == (f"{committed}-dirty", diff)
    assert main(["render"]) == 0
    page = (tiny / "overview.md").read_text(encoding="utf-8")
    assert f"at commit `{committed[:12]}-dirty` (uncommitted changes, diff sha256 `{diff}`)" in page


def test_a_clean_tree_stamps_its_commit_and_its_results_do_not_make_it_dirty(tiny, committed):
    assert main(["run", "notebooks/tiny", "--profile", "full"]) == 0
    results = tiny / "results" / "full.json"
    assert read_results(results).environment.commit == committed
    assert "diff" not in json.loads(results.read_text(encoding="utf-8"))["environment"]
    assert main(["render"]) == 0  # the run and the render wrote their files: still clean
    assert main(["run", "notebooks/tiny", "--profile", "full"]) == 0


def test_what_makes_a_tree_dirty(repo, tiny, committed):
    project = load_project(repo)
    assert tree_state(project).changed == ()
    (repo / "scratch.txt").write_text("notes", encoding="utf-8")  # no run executes it
    (tiny / "results" / "smoke.json").write_text("{}", encoding="utf-8")  # a run's output
    assert tree_state(project).changed == ()
    (tiny / "extra.py").write_text("x = 1\n", encoding="utf-8")  # a run may execute it
    state = tree_state(project)
    assert state.changed == ("notebooks/tiny/extra.py",) and state.commit == f"{committed}-dirty"
    (repo / "pyproject.toml").write_text("", encoding="utf-8")  # a tracked file, anywhere
    assert tree_state(project).changed == ("notebooks/tiny/extra.py", "pyproject.toml")


def test_outside_a_repository_there_is_no_tree(project):
    assert tree_state(project) is None


@pytest.mark.parametrize("path", sorted(ROOT.glob("notebooks/*/results/full.json")))
def test_committed_results_are_written_back_byte_for_byte(path):
    """A run that reuses every result (make notebooks on a fresh clone) changes no file."""
    text = path.read_text(encoding="utf-8")
    assert dump_json(ResultsFile.from_json(json.loads(text)).to_json()) == text
