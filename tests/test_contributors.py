"""`check-technique` and `new`: the contributors' guide, executable."""

from __future__ import annotations

import shutil

import pytest

from conftest import ROOT
from tutorial_gen.cli import main
from tutorial_gen.config import load_project, load_technique
from tutorial_gen.model import ROW_KEYS, ResultsFile, Role, RunRequest
from tutorial_gen.run.store import read_results
from tutorial_gen.run.suite import run_technique
from tutorial_gen.verbs import check_technique
from tutorial_gen.verify.checklist import CHECKS, Evidence

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
        stems=["weight_sharing_example", "weight_sharing_guide"],  # results: the test below
    )
    assert all(run.status == "ok" for run in report.runs), [str(r.error) for r in report.runs]
    assert report.ok
    outcome = dict(
        (n, p) for n, p, _ in check_technique(load_technique(folder), load_project(empty_repo))
    )
    assert outcome["overview page complete"] is False  # its TODO(tutorial-gen) places


# The checklist items a results notebook's rows decide.
RESULTS_CHECKS = ("three-models", "tasks", "with-ptq", "deployment")


def test_new_scaffolds_a_results_notebook(empty_repo, monkeypatch):
    monkeypatch.chdir(empty_repo)
    assert main(["new", "weight_sharing"]) == 0
    technique = load_technique(empty_repo / "notebooks" / "weight_sharing")
    results, text = technique.with_role(Role.RESULTS)
    assert (results.stem, text.stem) == ("weight_sharing_results", "weight_sharing_text_results")
    assert "results_rows" in results.metrics and "results_rows" in text.metrics
    assert [table["rows"] for table in technique.overview["results"]] == [
        [{"notebook": results.stem, "rows": "results_rows"}],
        [{"notebook": text.stem, "rows": "results_rows"}],
    ]
    evidence = Evidence(technique, ResultsFile(technique.slug, "full"), None)
    assert not CHECKS["three-models"].decide(evidence)[0]  # nothing measured yet


@pytest.mark.tutorial
def test_new_results_notebook_runs_and_its_rows_pass_the_checklist(
    empty_repo, monkeypatch, tmp_path
):
    monkeypatch.chdir(empty_repo)
    assert main(["new", "weight_sharing"]) == 0
    stems = ["weight_sharing_results", "weight_sharing_text_results"]
    assert main(["build", *(f"notebooks/weight_sharing/{stem}.py" for stem in stems)]) == 0
    technique = load_technique(empty_repo / "notebooks" / "weight_sharing")
    report = run_technique(
        technique,
        load_project(empty_repo),
        # the smoke profile, measuring memory as the full profile does
        RunRequest(
            profile="smoke", build_dir=tmp_path / "build", overrides={"measure_memory": True}
        ),
        stems=stems,
    )
    assert [run.status for run in report.runs] == ["ok", "ok"], [str(r.error) for r in report.runs]
    results = read_results(report.results_path)
    rows = results.rows(stems)
    assert {row.model for row in rows} >= {"MLP", "MiniLM-L6 classifier"}
    for row in rows:  # every key measured, none the model does not know
        assert not [k for k in ROW_KEYS if k != "hyperparameter" and getattr(row, k) is None]
        assert not row.extra
    evidence = Evidence(technique, results, None)
    for check_id in RESULTS_CHECKS:
        passed, reason = CHECKS[check_id].decide(evidence)
        assert passed, f"{check_id}: {reason}"


def test_the_checklist_wants_every_tutorial_measured_on_every_declared_stack(project, tiny):
    from tutorial_gen.model import CompatCell, CompatFile, CompatStatus, Stack, StackRun

    technique = load_technique(tiny)
    stacks = (Stack("old", {"numpy": "1.26.4"}), Stack("new", {"numpy": "2.4.6"}))

    def run(stack, status, error=None):
        cell = CompatCell(status, error=error, line=3 if error else None)
        return StackRun(stack.pins, stack.supported, True, None, "2026-12-01", {"tiny": cell})

    def decide(compat, declared=stacks):
        evidence = Evidence(
            technique,
            ResultsFile("tiny", "full"),
            None,
            compat=compat,
            stacks=declared,
            folder="notebooks/tiny",
        )
        return CHECKS["compat"].decide(evidence)

    assert decide(None) == (
        False,
        "no results/compat.json: run `tutorial-gen compat notebooks/tiny --role tutorial`",
    )
    one = CompatFile("tiny", "smoke", {"old": run(stacks[0], CompatStatus.PASS)})
    assert decide(one)[0] is False and "not measured: new" in decide(one)[1]
    both = CompatFile(
        "tiny", "smoke", {**one.stacks, "new": run(stacks[1], CompatStatus.FAIL, "E")}
    )
    assert decide(both) == (False, "fails on a supported stack: new/tiny (E)")
    unsupported = (stacks[0], Stack("new", {"numpy": "2.4.6"}, supported=False))
    assert decide(both, unsupported)[0] is True  # shown, expected to fail
    repinned = (stacks[0], Stack("new", {"numpy": "2.4.7"}))
    assert "new (pins changed)" in decide(both, repinned)[1]
