"""Kernel lifecycle: booted ahead of its notebook, stopped at once, never left behind; and the
executed notebook saved sparsely while it runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import papermill.engines

from tutorial_gen.config import load_project, load_technique
from tutorial_gen.errors import ExecutionError
from tutorial_gen.model import RunRequest
from tutorial_gen.run import engine, suite
from tutorial_gen.run.kernel import KernelLaunch
from tutorial_gen.run.suite import run_suite


def _kernel_children() -> list[int]:
    """Jupyter kernels that are children of this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # the process ended meanwhile
            continue
        parent = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid"))
        if int(parent) == os.getpid() and b"ipykernel" in command:
            found.append(int(entry.name))
    return found


def _work_folders(build: Path) -> list[Path]:
    return [p for p in build.glob("*/*/*") if p.is_dir()]


def test_serial_runs_boot_the_next_kernel_ahead_and_leave_none_behind(
    project, tiny, tmp_path, monkeypatch
):
    launched: dict[str, float] = {}
    finished: dict[str, float] = {}

    def launch_kernel(technique, notebook, *args, **kwargs):
        launched[notebook.stem] = time.monotonic()
        return real_launch(technique, notebook, *args, **kwargs)

    def progress(event):
        if event.kind == "done":
            finished[event.label.split("/")[1]] = time.monotonic()

    real_launch = suite.launch_kernel
    monkeypatch.setattr(suite, "launch_kernel", launch_kernel)
    options = RunRequest(build_dir=tmp_path / "build")
    reports = run_suite([(load_technique(tiny), None)], project, options, progress=progress)
    assert [run.stem for run in reports[0].runs] == ["tiny", "sweep"]
    assert all(run.status == "ok" for run in reports[0].runs)
    assert launched["sweep"] < finished["tiny"], "the second kernel boots while the first runs"
    assert _kernel_children() == []
    assert _work_folders(tmp_path / "build") == []  # run folders go once their run succeeds

    launched.clear()
    reports = run_suite([(load_technique(tiny), None)], project, options, progress=progress)
    assert {run.cache for run in reports[0].runs} == {"hit"}
    assert list(launched) == ["tiny"]  # launched while the cache was checked, then discarded
    assert _kernel_children() == []
    assert _work_folders(tmp_path / "build") == []


def test_the_kernel_is_stopped_without_waiting_for_its_clean_up(
    repo, tmp_path, make_technique, monkeypatch
):
    slow_exit = "# %%\nimport atexit\nimport time\n\natexit.register(time.sleep, 120)\nready = 1\n"
    folder = make_technique("slow", {"slow_exit": slow_exit}, ["ready"])
    stops = []
    real_stop = KernelLaunch.stop

    def stop(self):
        started = time.monotonic()
        real_stop(self)
        stops.append(time.monotonic() - started)

    monkeypatch.setattr(KernelLaunch, "stop", stop)
    reports = run_suite(
        [(load_technique(folder), None)], load_project(repo), RunRequest(build_dir=tmp_path)
    )
    assert reports[0].runs[0].metrics["ready"] == 1
    # a polite shutdown would wait for the exit handler, up to jupyter_client's 5 s grace period
    assert stops and max(stops) < 2.0
    assert _kernel_children() == []


def test_a_running_notebook_is_saved_sparsely_and_whole_at_the_end(
    repo, tmp_path, make_technique, monkeypatch
):
    cells = "".join(f"# %%\nvalue_{n} = {n}\nprint(value_{n})\n\n" for n in range(30))
    folder = make_technique("many", {"many_cells": cells + "# %%\ntotal = 1\n"}, ["total"])
    saves = []
    real_write = papermill.engines.write_ipynb

    def write_ipynb(nb, path):
        saves.append(path)
        real_write(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", write_ipynb)
    monkeypatch.setattr(engine, "SAVE_EVERY", 3600.0)
    reports = run_suite(
        [(load_technique(folder), None)], load_project(repo), RunRequest(build_dir=tmp_path)
    )
    run = reports[0].runs[0]
    assert run.status == "ok"
    assert len(saves) <= 3, f"{len(saves)} saves for 33 cells (papermill alone makes 66)"
    executed = nbformat.read(run.executed, as_version=4)
    printed = [o.get("text") for c in executed.cells for o in c.get("outputs", [])]
    assert "29\n" in printed  # the last cell's output made it to the saved notebook


def test_a_look_ahead_kernel_that_cannot_start_fails_no_run_that_needs_none(
    project, tiny, tmp_path, monkeypatch
):
    options = RunRequest(build_dir=tmp_path / "build")
    run_suite([(load_technique(tiny), None)], project, options)

    def broken(*args, **kwargs):
        raise ExecutionError("could not start the Jupyter kernel 'tutorial-gen'")

    monkeypatch.setattr(suite, "launch_kernel", broken)
    reports = run_suite([(load_technique(tiny), None)], project, options)
    assert {run.cache for run in reports[0].runs} == {"hit"}
    assert reports[0].ok


def test_a_later_kernel_that_cannot_start_keeps_the_finished_results(
    project, tiny, tmp_path, monkeypatch
):
    from tutorial_gen.run import execute
    from tutorial_gen.run.store import read_results

    real = execute.launch_kernel

    def fails_for_sweep(technique, notebook, *args, **kwargs):
        if notebook.stem == "sweep":
            raise ExecutionError("could not start the Jupyter kernel 'tutorial-gen'")
        return real(technique, notebook, *args, **kwargs)

    monkeypatch.setattr(execute, "launch_kernel", fails_for_sweep)
    monkeypatch.setattr(suite, "launch_kernel", fails_for_sweep)
    request = RunRequest(build_dir=tmp_path / "build")
    [report] = run_suite([(load_technique(tiny), None)], project, request)
    runs = {run.stem: run for run in report.runs}
    assert runs["tiny"].status == "ok"
    assert runs["sweep"].status == "error" and "could not start" in str(runs["sweep"].error)
    assert runs["sweep"].error.path == tiny / "sweep.py"
    recorded = read_results(report.results_path)
    assert recorded.notebooks["tiny"].ok and recorded.notebooks["tiny"].metrics["squared"] == 9
    assert not recorded.notebooks["sweep"].ok
