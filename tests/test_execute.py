"""Execute: real papermill runs of the stdlib-only fixture (seconds, no TensorFlow)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from tutorial_gen.config import load_technique
from tutorial_gen.errors import ConfigError
from tutorial_gen.model import RunRequest
from tutorial_gen.run.preflight import preflight
from tutorial_gen.run.suite import run_technique


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def test_full_run_harvests_metrics_and_checks_claims(project, tiny, tmp_path):
    technique = load_technique(tiny)
    report = run_technique(
        technique, project, RunRequest(profile="full", build_dir=tmp_path / "build")
    )
    run, sweep = report.runs
    assert sweep.status == "ok" and len(sweep.metrics["results_rows"]) == 4
    assert run.status == "ok", run.error
    assert run.metrics["squared"] == 16 and run.metrics["growth"] == 4.0
    assert run.metrics["not_measured"] is None
    outcome = {c.id: c.status for c in report.claims}
    assert outcome == {"four-x": "pass", "grows": "pass", "phone": "unverified"}
    assert report.ok
    data = json.loads((tiny / "results" / "full.json").read_text(encoding="utf-8"))
    assert data["profile"] == "full"
    assert data["notebooks"]["tiny"]["metrics"]["squared"] == 16
    assert {"cpu", "python", "packages", "date", "commit", "latency_threads"} <= set(
        data["environment"]
    )
    assert data["notebooks"]["tiny"]["cells"], "per-cell durations recorded"


def test_smoke_profile_parameters_reach_the_kernel(project, tiny, tmp_path):
    report = run_technique(
        load_technique(tiny), project, RunRequest(profile="smoke", build_dir=tmp_path / "build")
    )
    assert report.runs[0].metrics["squared"] == 9  # start = 3 in the smoke profile
    assert report.results_path == tmp_path / "build" / "tiny" / "results" / "smoke.json"
    assert not (tiny / "results" / "smoke.json").exists()
    four_x = next(c for c in report.claims if c.id == "four-x")
    assert four_x.status == "not-in-profile"


def test_a_false_claim_fails_the_run(project, tiny, tmp_path):
    report = run_technique(
        load_technique(tiny),
        project,
        RunRequest(profile="full", build_dir=tmp_path / "b", overrides={"start": 2}),
    )
    assert {c.id: c.status for c in report.claims}["four-x"] == "fail"
    assert not report.ok


def test_failing_cell_names_script_line_and_keeps_marked_notebook(project, tiny, tmp_path):
    sources = _digest(tiny)
    report = run_technique(
        load_technique(tiny),
        project,
        RunRequest(build_dir=tmp_path / "b", overrides={"fail_at": "cell"}),
        stems=["tiny"],
    )
    [run] = report.runs
    assert run.status == "error"
    assert run.error.path == tiny / "tiny.py"
    lines = (tiny / "tiny.py").read_text(encoding="utf-8").splitlines()
    assert lines[run.error.line - 1].strip() == 'raise ValueError("planted failure")'
    assert "ValueError: planted failure" in str(run.error)
    executed = nbformat.read(run.executed, as_version=4)
    tags = [t for c in executed.cells for t in c.metadata.get("tags", [])]
    assert "papermill-error-cell-tag" in tags
    assert not report.ok
    assert _digest(tiny) == sources | {}  # sources untouched (results of smoke go to the build dir)


def test_sources_are_never_modified(project, tiny, tmp_path):
    before = _digest(tiny)
    run_technique(
        load_technique(tiny), project, RunRequest(profile="smoke", build_dir=tmp_path / "b")
    )
    assert _digest(tiny) == before


def test_metric_never_set_fails_the_notebook(project, tiny, tmp_path):
    script = tiny / "tiny.py"
    script.write_text(
        script.read_text(encoding="utf-8").replace(
            "not_measured = None\n", "if start > 100:\n    not_measured = None\n"
        ),
        encoding="utf-8",
    )
    report = run_technique(
        load_technique(tiny), project, RunRequest(profile="smoke", build_dir=tmp_path / "b")
    )
    assert report.runs[0].status == "error"
    assert "metrics never set: not_measured" in str(report.runs[0].error)


def test_preflight_rejects_a_phrase_missing_from_the_prose(tiny):
    toml = tiny / "technique.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            'phrase = "squares numbers"', 'phrase = "cubes numbers"'
        ),
        encoding="utf-8",
    )
    technique = load_technique(tiny)
    with pytest.raises(ConfigError, match='"cubes numbers" does not appear') as error:
        preflight(technique, technique.notebooks["tiny"], "full")
    assert error.value.line is not None


def test_preflight_rejects_an_unknown_profile_parameter(tiny):
    toml = tiny / "technique.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("start = 3", "strat = 3"), encoding="utf-8"
    )
    technique = load_technique(tiny)
    with pytest.raises(ConfigError, match="'strat'.*did you mean 'start'"):
        preflight(technique, technique.notebooks["tiny"], "smoke")


def test_preflight_rejects_a_metric_the_script_never_assigns(tiny):
    toml = tiny / "technique.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            'growth = "squared over start"', 'growth = "squared over start"\nshrink = "never set"'
        ),
        encoding="utf-8",
    )
    technique = load_technique(tiny)
    with pytest.raises(ConfigError, match="metric 'shrink'.*never assigns it"):
        preflight(technique, technique.notebooks["tiny"], "smoke")
