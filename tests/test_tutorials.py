"""The real tutorials, in the smoke profile: they run, and their smoke claims hold.

Each takes about a minute on two cores; they are what proves the shipped notebooks still work with
the pinned stack.
"""

from __future__ import annotations

import pytest

from conftest import ROOT
from tutorial_gen.config import discover_techniques, load_project, load_technique
from tutorial_gen.model import RunRequest
from tutorial_gen.run.suite import run_suite, run_technique

PROJECT = load_project(ROOT)
TECHNIQUES = discover_techniques(PROJECT)


@pytest.mark.tutorial
@pytest.mark.parametrize("folder", TECHNIQUES, ids=[f.name for f in TECHNIQUES])
def test_smoke_profile_runs_and_its_claims_hold(folder, tmp_path):
    technique = load_technique(folder)
    [report] = run_suite(
        [(technique, None)],
        PROJECT,
        RunRequest(profile="smoke", build_dir=tmp_path, jobs=2, force=True),
    )
    for run in report.runs:
        assert run.status == "ok", str(run.error)
    failed = [
        f"{c.id}: {c.measured} {c.op} {c.threshold}" for c in report.claims if c.status == "fail"
    ]
    assert not failed
    assert any(c.status == "pass" for c in report.claims), "no smoke claim was checked"


@pytest.mark.tutorial
def test_pruning_smoke_claims_fail_when_nothing_is_pruned(tmp_path):
    """A pipeline that prunes nothing must not pass: the smoke claims are not vacuous."""
    technique = load_technique(ROOT / "notebooks" / "pruning")
    report = run_technique(
        technique,
        PROJECT,
        RunRequest(build_dir=tmp_path, overrides={"initial_sparsity": 0.0, "final_sparsity": 0.0}),
        stems=["pruning_with_keras"],
    )
    assert [run.status for run in report.runs] == ["ok"]
    failed = {c.id for c in report.claims if c.status == "fail"}
    assert {"pruned-sparsity", "smoke-pruned-tflite-smaller"} <= failed
    assert not report.ok
