"""Faults a real notebook has: each is planted, and each must be reported and survived."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tutorial_gen.config import load_technique
from tutorial_gen.model import RunRequest
from tutorial_gen.run.execute import run_notebook
from tutorial_gen.run.store import read_results


def _line(tiny: Path, text: str) -> int:
    lines = (tiny / "tiny.py").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


def _run(project, tiny, tmp_path, fail_at, **limits):
    technique = load_technique(tiny)
    return run_notebook(
        technique,
        technique.notebooks["tiny"],
        project,
        RunRequest(build_dir=tmp_path, overrides={"fail_at": fail_at}, **limits),
    )


def _marked(run) -> list[str]:
    notebook = nbformat.read(run.executed, as_version=4)
    return [t for cell in notebook.cells for t in cell.metadata.get("tags", [])]


def test_cell_timeout_names_the_cell_and_marks_it(project, tiny, tmp_path):
    run = _run(project, tiny, tmp_path, "sleep", cell_timeout=3)
    assert run.status == "error"
    assert "a cell ran out of time" in str(run.error)
    assert run.error.line == _line(tiny, 'if fail_at == "cell":')
    assert "tutorial-gen-failed-cell" in _marked(run)
    assert run.wall_seconds < 60


def test_notebook_budget_stops_a_long_run(project, tiny, tmp_path):
    run = _run(project, tiny, tmp_path, "sleep", budget=4)
    assert run.status == "error"
    assert run.wall_seconds < 60
    assert "tutorial-gen-failed-cell" in _marked(run)


@pytest.mark.parametrize("fault", ["exit", "segfault"])
def test_dead_kernel_is_reported_with_last_cell_and_stderr(project, tiny, tmp_path, fault):
    run = _run(project, tiny, tmp_path, fault)
    assert run.status == "error"
    message = str(run.error)
    assert "the kernel died" in message
    if fault == "exit":  # no crash report: the error points at the cell that was running
        assert "planted: the kernel exits now" in message
        assert run.error.line == _line(tiny, 'if fail_at == "cell":')
    else:  # faulthandler's report names the very line
        assert "Fatal Python error: Segmentation fault" in message
        assert run.error.line == _line(tiny, "ctypes.string_at(0)")
    assert "tutorial-gen-failed-cell" in _marked(run)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _cli(repo: Path, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tutorial_gen", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_ctrl_c_leaves_sources_and_results_intact(repo, tiny, tmp_path):
    build = tmp_path / "build"
    first = _cli(repo, "run", "notebooks/tiny", "--profile", "full", "--build-dir", str(build))
    assert first.wait(120) == 0
    before = _digest(tiny)
    run = _cli(
        repo,
        "run",
        "notebooks/tiny/tiny.py",
        "--profile",
        "full",
        "--build-dir",
        str(build),
        "--force",
        "-p",
        "fail_at=sleep",
    )
    deadline = time.monotonic() + 60
    while not list(build.glob("tiny/full/tiny.*/kernel.log")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # the kernel is now inside the sleeping cell
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert _digest(tiny) == before


def test_two_runs_at_once_keep_both_results(repo, tiny, tmp_path):
    build = str(tmp_path / "build")
    runs = [
        _cli(repo, "run", f"notebooks/tiny/{stem}.py", "--build-dir", build)
        for stem in ("tiny", "sweep")
    ]
    assert [r.wait(180) for r in runs] == [0, 0]
    data = read_results(tmp_path / "build" / "tiny" / "results" / "smoke.json")
    assert set(data.notebooks) == {"tiny", "sweep"}
    assert all(e.status == "ok" for e in data.notebooks.values())


def test_errors_survive_a_process_boundary():
    import pickle

    from tutorial_gen.errors import ExecutionError

    error = ExecutionError("boom", path=Path("a.py"), line=3, hint="fix it")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.path, copy.line, copy.hint) == ("boom", Path("a.py"), 3, "fix it")
    assert os.fspath(copy.path) == "a.py"
