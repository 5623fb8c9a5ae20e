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
from tutorial_gen.run.suite import run_technique


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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")  # a zombie waiting for its reaper is dead too
    return not (status.is_file() and "\nState:\tZ" in status.read_text(encoding="utf-8"))


def _wait_for(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _sleeping_run(repo: Path, tiny: Path, tmp_path: Path, *more: str, session: bool = False):
    """A run whose tiny notebook sleeps in a cell; returns it and the kernel's pid once there."""
    build = tmp_path / "build"
    marker = tmp_path / "sleeping"
    env = {**os.environ, "TINY_SLEEPING": str(marker)}
    run = _cli(
        repo,
        "run",
        *(more or ("notebooks/tiny/tiny.py",)),
        "--build-dir",
        str(build),
        "--force",
        "-p",
        "fail_at=sleep",
        env=env,
        start_new_session=session,
    )
    assert _wait_for(lambda: marker.is_file() and marker.read_text()), "the cell never started"
    return run, int(marker.read_text()), build


def test_ctrl_c_leaves_sources_and_results_intact(repo, tiny, tmp_path):
    build = tmp_path / "build"
    first = _cli(repo, "run", "notebooks/tiny", "--profile", "full", "--build-dir", str(build))
    assert first.wait(120) == 0
    before = _digest(tiny)
    run, kernel, _ = _sleeping_run(
        repo, tiny, tmp_path, "notebooks/tiny/tiny.py", "--profile", "full"
    )
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert _digest(tiny) == before
    assert _wait_for(lambda: not _alive(kernel), 10)


def test_sigterm_exits_like_ctrl_c_and_stops_the_kernel(repo, tiny, tmp_path):
    run, kernel, build = _sleeping_run(repo, tiny, tmp_path)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143, err
    assert err.strip().splitlines()[-1] == "terminated: sources and finished results are kept"
    assert "Traceback" not in err
    assert _wait_for(lambda: not _alive(kernel), 10)
    assert not list(build.glob("*/*/*/kernel.json")), "the connection file was left behind"


def test_ctrl_c_to_a_parallel_run_stops_workers_and_kernels(repo, tiny, tmp_path):
    run, kernel, build = _sleeping_run(
        repo, tiny, tmp_path, "notebooks/tiny", "-j", "2", session=True
    )
    results = build / "tiny" / "results" / "smoke.json"
    assert _wait_for(lambda: results.is_file() and "sweep" in read_results(results).notebooks)
    os.killpg(run.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    for noise in ("Traceback", "KeyboardInterrupt", "DeadKernelError", "leaked semaphore"):
        assert noise not in err, err
    assert _wait_for(lambda: not _alive(kernel), 10)
    assert _wait_for(lambda: not _group_members(run.pid), 10), _group_members(run.pid)
    # the notebook that finished before the interrupt keeps its results
    recorded = read_results(results)
    assert recorded.notebooks["sweep"].ok and "tiny" not in recorded.notebooks


def _group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_killed_tool_leaves_no_process_and_the_next_run_cleans_up(repo, tiny, tmp_path, jobs):
    run, kernel, build = _sleeping_run(
        repo, tiny, tmp_path, "notebooks/tiny", "-j", jobs, session=True
    )
    run.kill()
    run.communicate(timeout=30)
    assert _wait_for(lambda: not _alive(kernel), 10), "the kernel outlived the tool"
    assert _wait_for(lambda: not _group_members(run.pid), 15), _group_members(run.pid)
    assert list(build.glob("*/*/*/kernel.json")), "a killed run leaves its connection file"
    again = _cli(repo, "run", "notebooks/tiny/sweep.py", "--build-dir", str(build))
    assert again.wait(120) == 0
    assert not list(build.glob("*/*/*/kernel.json")), "the next run removes stale ones"


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


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('float("nan")', "is nan, not a finite number"),
        ('float("inf")', "is inf, not a finite number"),
        ('"many"', "is a str"),
        ("True", "is a bool"),
        ('{"a": 1}', "is a dict"),
        ('[{"model": "m", "accuracy": float("nan")}]', "has a row whose 'accuracy' is nan"),
    ],
)
def test_a_metric_that_is_no_number_fails_its_notebook(
    make_technique, project, tmp_path, value, shown
):
    folder = make_technique("odd", {"odd": f"# %%\nx = {value}\n"}, ["x"])
    report = run_technique(load_technique(folder), project, RunRequest(build_dir=tmp_path))
    [run] = report.runs
    assert run.status == "error"
    assert f"metric 'x' {shown}" in str(run.error) and "None where it cannot be measured" in str(
        run.error
    )


def _break(path: Path, old: str, new: str) -> int:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


@pytest.mark.parametrize("verb", ["build", "lint", "run"])
def test_a_syntax_error_is_one_line_naming_its_line(
    repo, tiny, monkeypatch, capsys, verb, tmp_path
):
    from tutorial_gen.cli import main

    monkeypatch.chdir(repo)
    line = _break(
        tiny / "tiny.py", "squared = int(np.square(start))", "squared = int(np.square(start)"
    )
    args = [verb, "notebooks/tiny/tiny.py"] + (
        ["--build-dir", str(tmp_path)] if verb == "run" else []
    )
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"tiny.py:{line}: Python syntax error" in err


@pytest.mark.parametrize("verb", ["build", "lint", "run"])
def test_a_syntax_error_in_a_snippet_names_the_snippet(repo, monkeypatch, capsys, verb, tmp_path):
    from tutorial_gen.cli import main

    monkeypatch.chdir(repo)
    snippet = repo / "notebooks" / "_snippets" / "helpers.py"
    line = _break(snippet, "def ", "def (")
    args = [verb, "notebooks/tiny/tiny.py"] + (
        ["--build-dir", str(tmp_path)] if verb == "run" else []
    )
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"helpers.py:{line}: Python syntax error" in err


def test_a_full_disk_keeps_the_results_and_says_how_to_record_them(
    repo, tiny, monkeypatch, capsys, tmp_path
):
    import errno

    from tutorial_gen.cli import main
    from tutorial_gen.run import store

    monkeypatch.chdir(repo)

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(store, "write_if_changed", full)
    assert main(["run", "notebooks/tiny", "--profile", "full"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert (
        "could not write notebooks/tiny/results/full.json: No space left on device (errno 28)"
        in err
    )
    kept = repo / "build" / "tiny" / "results" / "full.unsaved.json"
    assert f"tutorial-gen merge {kept.relative_to(repo)}" in err
    monkeypatch.undo()
    monkeypatch.chdir(repo)
    (tiny / "results" / "full.json").unlink()
    assert main(["merge", str(kept)]) == 0
    assert set(read_results(tiny / "results" / "full.json").notebooks) == {"tiny", "sweep"}


def test_render_on_a_full_disk_is_one_line(repo, monkeypatch, capsys):
    import errno

    from tutorial_gen import fileio
    from tutorial_gen.cli import main

    monkeypatch.chdir(repo)

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(fileio, "write_atomic", full)
    assert main(["render"]) == 1
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "No space left on device (errno 28)" in err
        and "overview.md" in err
    )
