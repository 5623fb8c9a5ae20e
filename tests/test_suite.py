"""Suite: cache, parallel runs, shards and their merge, progress and timing output."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

from tutorial_gen.cli import main
from tutorial_gen.config import load_project, load_technique
from tutorial_gen.errors import ConfigError
from tutorial_gen.model import RunRequest
from tutorial_gen.run import cache
from tutorial_gen.run.plan import Job, shard
from tutorial_gen.run.progress import ProgressEvent
from tutorial_gen.run.report import ProgressView, timing_table
from tutorial_gen.run.store import read_results
from tutorial_gen.run.suite import run_suite


def _suite(project, tiny, tmp_path, **options):
    return run_suite(
        [(load_technique(tiny), None)], project, RunRequest(build_dir=tmp_path / "build", **options)
    )


def _cache_states(reports) -> dict[str, str]:
    return {run.stem: run.cache for report in reports for run in report.runs}


def test_unchanged_notebooks_are_reused(project, tiny, tmp_path):
    assert _cache_states(_suite(project, tiny, tmp_path)) == {"tiny": "miss", "sweep": "miss"}
    reports = _suite(project, tiny, tmp_path)
    assert _cache_states(reports) == {"tiny": "hit", "sweep": "hit"}
    assert reports[0].runs[0].metrics["squared"] == 9  # the reused metrics, claims re-checked
    assert reports[0].ok


def test_force_reruns(project, tiny, tmp_path):
    _suite(project, tiny, tmp_path)
    assert set(_cache_states(_suite(project, tiny, tmp_path, force=True)).values()) == {"miss"}


@pytest.mark.parametrize("change", ["code", "parameter", "snippet", "package", "dataset"])
def test_a_changed_input_is_a_miss(project, tiny, tmp_path, monkeypatch, change):
    (tmp_path / "data.bin").write_bytes(b"one")
    monkeypatch.setitem(cache.DATASETS, "squared", lambda: [tmp_path / "data.bin"])
    _suite(project, tiny, tmp_path)
    overrides = {}
    if change == "code":
        script = tiny / "tiny.py"
        script.write_text(
            script.read_text(encoding="utf-8").replace(
                "squared = int(np.square(start))", "squared = int(np.square(start)) + 0"
            ),
            encoding="utf-8",
        )
    elif change == "parameter":
        overrides = {"start": 5}  # only tiny has a `start` parameter
    elif change == "snippet":
        snippet = project.snippets_dir / "helpers.py"
        snippet.write_text(snippet.read_text(encoding="utf-8") + "\nEDITED = 1\n", encoding="utf-8")
    elif change == "package":
        monkeypatch.setattr(cache, "_installed", lambda name: "0.0.0")
    elif change == "dataset":
        (tmp_path / "data.bin").write_bytes(b"two")
    states = _cache_states(_suite(project, tiny, tmp_path, overrides=overrides))
    assert states["tiny"] == "miss"
    if change in ("code", "parameter", "dataset"):
        assert states["sweep"] == "hit", "only the notebook whose inputs changed reruns"


def test_comments_and_formatting_are_not_a_change(project, tiny, tmp_path):
    _suite(project, tiny, tmp_path)
    script = tiny / "tiny.py"
    script.write_text(
        script.read_text(encoding="utf-8").replace(
            "squared = int(np.square(start))", "squared = int( np.square(start) )  # reworded"
        ),
        encoding="utf-8",
    )
    snippet = project.snippets_dir / "helpers.py"
    snippet.write_text(snippet.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert set(_cache_states(_suite(project, tiny, tmp_path)).values()) == {"hit"}


def test_a_failed_run_is_never_reused(project, tiny, tmp_path):
    _suite(project, tiny, tmp_path, overrides={"fail_at": "cell"})
    assert (
        _cache_states(_suite(project, tiny, tmp_path, overrides={"fail_at": "cell"}))["tiny"]
        == "miss"
    )


def test_no_change_rerun_is_fast(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    build = str(tmp_path / "build")
    assert main(["run", "--build-dir", build]) == 0
    started = time.monotonic()
    assert main(["run", "--build-dir", build]) == 0
    assert time.monotonic() - started < 2.0
    out = capsys.readouterr().out
    assert out.count(" hit ") == 2


def test_parallel_runs_match_serial_in_order_and_results(project, tiny, tmp_path):
    serial = _suite(project, tiny, tmp_path / "one", force=True)
    parallel = _suite(project, tiny, tmp_path / "two", force=True, jobs=2)
    assert [r.stem for r in parallel[0].runs] == [r.stem for r in serial[0].runs]
    assert [r.metrics for r in parallel[0].runs] == [r.metrics for r in serial[0].runs]
    assert [c.status for c in parallel[0].claims] == [c.status for c in serial[0].claims]


def test_parallel_kernels_get_thread_limits(repo, tmp_path, make_technique):
    script = '# %%\nimport os\n\nomp_threads = int(os.environ.get("OMP_NUM_THREADS", "0"))\n'
    folder = make_technique("probe", {"first": script, "second": script}, ["omp_threads"])
    reports = run_suite(
        [(load_technique(folder), None)], load_project(repo), RunRequest(build_dir=tmp_path, jobs=2)
    )
    expected = max(1, (os.cpu_count() or 1) // 2)
    assert [r.metrics["omp_threads"] for r in reports[0].runs] == [expected, expected]


def _jobs(durations: dict[str, float], tiny) -> list[Job]:
    technique = load_technique(tiny)
    notebook = technique.notebooks["tiny"]
    return [
        Job(technique, notebook.__class__(**{**notebook.__dict__, "stem": name}), seconds)
        for name, seconds in durations.items()
    ]


def test_shards_are_deterministic_balanced_and_complete(tiny):
    jobs = _jobs({"a": 100, "b": 60, "c": 50, "d": 40, "e": 10, "f": 5}, tiny)
    shards = [shard(jobs, k, 2) for k in (1, 2)]
    labels = [[j.notebook.stem for j in s] for s in shards]
    assert sorted(labels[0] + labels[1]) == list("abcdef")
    assert not set(labels[0]) & set(labels[1])
    # longest first, each to the least loaded shard: here also the best split there is
    assert [sum(j.expected for j in s) for s in shards] == [140, 125]
    assert [[j.notebook.stem for j in shard(jobs, k, 2)] for k in (1, 2)] == labels
    with pytest.raises(Exception, match="shard 3/2"):
        shard(jobs, 3, 2)


def test_shards_then_merge(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    outputs = []
    for k in (1, 2):
        build = tmp_path / f"shard{k}"
        assert main(["run", "--shard", f"{k}/2", "--build-dir", str(build)]) == 0
        data = read_results(build / "tiny" / "results" / "smoke.json")
        assert len(data.notebooks) == 1
        outputs.append(build / "tiny" / "results" / "smoke.json")
    statuses = {c.id: c.status for c in read_results(outputs[1]).claims}
    assert "not-run" in statuses.values() or "not-in-profile" in statuses.values()
    assert main(["merge", *map(str, outputs), "--output", str(tmp_path / "merged")]) == 0
    merged = read_results(tmp_path / "merged" / "tiny" / "results" / "smoke.json")
    assert set(merged.notebooks) == {"tiny", "sweep"}
    assert {c.id: c.status for c in merged.claims}["grows"] == "pass"


def test_merge_rejects_a_file_that_is_not_results(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}", encoding="utf-8")
    assert main(["merge", str(bogus)]) == 2
    assert "is not a tutorial-gen results file" in capsys.readouterr().err


def test_progress_lines_without_a_terminal():
    stream = io.StringIO()
    view = ProgressView(stream, {"t/a": 30}, every=0)
    view(ProgressEvent("t/a", "start", 0, 5, 1.0, line=12))
    view(ProgressEvent("t/a", "done", 5, 5, 9.5))
    view(ProgressEvent("t/b", "cached", 0, 0, 3.0))
    text = stream.getvalue()
    assert "t/a: cell 1/5, script line 12, 1 s of ~30 s" in text
    assert "t/a: finished in 9.5 s" in text and "t/b: unchanged" in text
    assert "\x1b" not in text


def test_live_progress_redraws_in_place():
    stream = io.StringIO()
    view = ProgressView(stream, live=True)
    view(ProgressEvent("t/a", "start", 0, 5, 1.0))
    view(ProgressEvent("t/b", "start", 0, 5, 1.0))
    view(ProgressEvent("t/a", "cell", 1, 5, 2.0))
    assert "\x1b[2F" in stream.getvalue()  # moved up over the two live lines to redraw them


def test_timing_table_totals_what_ran(tmp_path):
    from tutorial_gen.run.execute import NotebookRun

    runs = [
        NotebookRun("t", "a", Path("a.py"), Path(), "ok", 12.0),
        NotebookRun("t", "b", Path("b.py"), Path(), "ok", 40.0, cache="hit"),
    ]
    table = timing_table(runs, {"t/a": 10})
    rows = [line.split() for line in table.splitlines()]
    assert ["t/a", "ok", "miss", "12.0", "s", "10", "s"] in rows
    assert ["t/b", "ok", "hit", "0.0", "s", "-"] in rows
    assert rows[-1] == ["total", "12.0", "s"]


def test_an_override_nobody_accepts_is_an_error(project, tiny, tmp_path):
    with pytest.raises(Exception, match="no selected notebook has a parameter 'strat'.*'start'"):
        _suite(project, tiny, tmp_path, overrides={"strat": 1})


def test_a_run_that_reuses_everything_keeps_the_environment_stamp(project, tiny, tmp_path):
    first = _suite(project, tiny, tmp_path)[0].results_path
    data = json.loads(first.read_text(encoding="utf-8"))
    data["environment"]["commit"] = "measured-elsewhere"  # as if measured at another commit
    first.write_text(json.dumps(data), encoding="utf-8")
    _suite(project, tiny, tmp_path)  # all cache hits
    assert read_results(first).environment.commit == "measured-elsewhere"
    _suite(project, tiny, tmp_path, force=True)  # measured again: a new stamp
    assert read_results(first).environment.commit != "measured-elsewhere"


@pytest.mark.parametrize(
    "text", ['{"schema": 1, "technique": "tiny"', "<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> x\n"]
)
def test_a_corrupt_results_file_is_an_error_never_replaced(
    repo, tmp_path, monkeypatch, capsys, text
):
    monkeypatch.chdir(repo)
    build = tmp_path / "build"
    assert main(["run", "notebooks/tiny", "--build-dir", str(build)]) == 0
    results = build / "tiny" / "results" / "smoke.json"
    results.write_text(text, encoding="utf-8")
    assert main(["run", "notebooks/tiny/tiny.py", "--build-dir", str(build)]) == 2
    error = capsys.readouterr().err
    assert "smoke.json" in error and "--force" in error and "Traceback" not in error
    assert results.read_text(encoding="utf-8") == text  # left for the author to resolve
    assert main(["run", "notebooks/tiny", "--build-dir", str(build), "--force"]) == 0
    assert set(read_results(results).notebooks) == {"tiny", "sweep"}


def test_an_unknown_schema_says_what_to_do(project, tiny, tmp_path):
    path = tmp_path / "full.json"
    path.write_text('{"schema": 99, "technique": "tiny", "profile": "full"}', encoding="utf-8")
    with pytest.raises(ConfigError, match="schema 99.*reads schema 1") as caught:
        read_results(path)
    assert caught.value.hint and "version" in caught.value.hint


def test_parallel_runs_start_the_longest_first(tiny, monkeypatch):
    from concurrent.futures import Future

    from tutorial_gen.run import suite

    submitted: list[str] = []

    class Pool:  # runs nothing: records the order jobs reach the workers
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, item, *args):
            submitted.append(item.job.notebook.stem)
            future: Future = Future()
            future.set_result(item.job.notebook.stem)
            return future

    monkeypatch.setattr(suite, "ProcessPoolExecutor", Pool)
    jobs = _jobs({"short": 5, "long": 300, "middle": 60, "also-long": 300}, tiny)
    pending = [suite.Pending(job, "", {}, None) for job in jobs]
    recorded: list[str] = []
    suite._run_parallel(
        pending, None, RunRequest(jobs=2), None, lambda job, run: recorded.append(run)
    )
    assert submitted == ["also-long", "long", "middle", "short"]
    assert sorted(recorded) == sorted(submitted)
