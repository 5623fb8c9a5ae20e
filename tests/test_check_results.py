"""`check-technique` on the committed results: every claim holds, the results are of the sources
as they are (the run's cache digest), and lint finds nothing.

The results are recorded as a run records them, with the digest the run's cache computes, but
without executing the notebooks.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tutorial_gen.cli import main
from tutorial_gen.config import load_technique
from tutorial_gen.fileio import dump_json
from tutorial_gen.model import ClaimStatus, NotebookEntry, Profile, Project, RunRequest, RunStatus
from tutorial_gen.run.cache import run_inputs
from tutorial_gen.run.store import read_results, record, results_path
from tutorial_gen.run.suite import run_technique
from tutorial_gen.verbs import check_technique

CLAIMS = "every notebook ran and its claims hold"
CURRENT = "full results current with the sources"
LINT = "lint clean"
RERUN = "rerun `tutorial-gen run --profile full notebooks/tiny`"


def record_full(folder: Path, project: Project, **metrics: dict[str, Any]) -> None:
    """Record full results of the sources as they are, each notebook's metrics those of the
    fixture's committed results updated with `metrics[stem]`."""
    technique = load_technique(folder)
    path = results_path(technique, Profile.FULL)
    committed = read_results(path)
    assert committed is not None
    entries = {
        stem: NotebookEntry(
            project.relpath(notebook.script),
            RunStatus.OK,
            1.0,
            {**(committed.entry(stem).metrics or {}), **metrics.get(stem, {})},
            inputs=run_inputs(technique, notebook, project, Profile.FULL)[1],
            parameters={"recorded": True},
            finished="2026-01-01T00:00:00",
        )
        for stem, notebook in technique.notebooks.items()
    }
    record(technique, project, Profile.FULL, path, entries)


def rewrite_results(folder: Path, change) -> None:
    """Replace the committed results by `change(results)`, as a hand edit or a bad merge would."""
    path = results_path(load_technique(folder), Profile.FULL)
    path.write_text(dump_json(change(read_results(path)).to_json()), encoding="utf-8")


def checklist(folder: Path, project: Project) -> dict[str, tuple[bool, str]]:
    return {
        name: (ok, reason) for name, ok, reason in check_technique(load_technique(folder), project)
    }


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def claim_on_the_sweep(tiny: Path) -> None:
    """A metric and a claim for the results notebook, which the fixture does not claim on."""
    with (tiny / "sweep.py").open("a", encoding="utf-8") as script:
        script.write('\n# %%\nbest_accuracy = max(row["accuracy"] for row in results_rows)\n')
    rows = 'results_rows = "one row per (model, start)"\n'
    edit(tiny / "technique.toml", rows, f'{rows}best_accuracy = "the best accuracy"\n')
    with (tiny / "technique.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            '\n[[claims]]\nid = "best"\nnotebook = "sweep"\nphrase = "Squares and cubes"\n'
            'expr = "best_accuracy"\nop = ">="\nthreshold = 0.9\n'
        )


def test_results_of_the_sources_as_they_are_pass(project, tiny):
    record_full(tiny, project)
    outcome = checklist(tiny, project)
    assert all(outcome[item][0] for item in (CLAIMS, CURRENT, LINT)), outcome


def test_results_over_several_seeds_are_decided_per_seed(project, tiny):
    record_full(tiny, project)
    path = results_path(load_technique(tiny), Profile.FULL)
    results = read_results(path)
    entry = results.entry("tiny")
    seeds = {42: dict(entry.metrics), 43: {**entry.metrics, "growth": 3.5}}
    # the median passes `four-x` (growth >= 4), seed 43 does not: recorded as a fail, the
    # check re-decides it per seed and agrees
    seeded = dataclasses.replace(
        entry, metrics={**entry.metrics, "growth": 4.0}, seed_metrics=seeds
    )
    record(load_technique(tiny), project, Profile.FULL, path, {"tiny": seeded})
    outcome = checklist(tiny, project)
    assert outcome[CURRENT][0], outcome[CURRENT]
    assert not outcome[CLAIMS][0] and "four-x" in outcome[CLAIMS][1]


def test_a_failing_claim_of_the_results_notebook_fails(project, tiny):
    claim_on_the_sweep(tiny)
    record_full(tiny, project, sweep={"best_accuracy": 0.8})
    outcome = checklist(tiny, project)
    assert outcome[CLAIMS] == (False, "sweep/best fail: measured 0.8, needs >= 0.9")
    assert outcome[CURRENT][0] and outcome[LINT][0], outcome  # only the claim is wrong


def test_an_inconclusive_claim_fails(project, tiny):
    record_full(tiny, project)

    def inconclusive(results):
        claims = tuple(
            dataclasses.replace(c, status=ClaimStatus.INCONCLUSIVE, interval=[3.5, 4.5])
            if c.id == "four-x"
            else c
            for c in results.claims
        )
        return dataclasses.replace(results, claims=claims)

    rewrite_results(tiny, inconclusive)
    outcome = checklist(tiny, project)
    assert outcome[CLAIMS] == (
        False,
        "tiny/four-x inconclusive: measured 4 (3.5, 4.5), needs >= 4",
    )
    assert outcome["end-to-end tutorial present and passing"] == (
        False,
        "claims do not hold: four-x",
    )


def test_a_results_notebook_that_failed_fails(project, tiny):
    record_full(tiny, project)
    failed = {"status": RunStatus.ERROR, "metrics": None, "error": "sweep.py:9: ValueError"}
    rewrite_results(
        tiny,
        lambda r: dataclasses.replace(
            r,
            notebooks={**r.notebooks, "sweep": dataclasses.replace(r.notebooks["sweep"], **failed)},
        ),
    )
    assert checklist(tiny, project)[CLAIMS] == (
        False,
        "sweep failed in its last full run: sweep.py:9: ValueError",
    )


@pytest.mark.parametrize(
    ("changed", "old", "new", "stale"),
    [
        ("tiny/tiny.py", 'print(f"growth {growth}")', 'print(f"growth: {growth}")', "tiny"),
        ("_snippets/helpers.py", "return a / b", "return float(a) / b", "tiny"),
        (
            "tiny/technique.toml",
            "starts = [2]\n",
            "starts = [2]\n[notebooks.profiles.full]\nstarts = [2, 3, 4]\n",
            "sweep",
        ),
    ],
    ids=["script", "snippet", "parameters"],
)
def test_results_older_than_their_sources_fail(project, tiny, changed, old, new, stale):
    record_full(tiny, project)
    edit(tiny.parent / changed, old, new)
    ok, reason = checklist(tiny, project)[CURRENT]
    assert not ok
    assert reason == (
        f"stale: {stale}: changed since their full run (script, snippets, parameters, seeds, "
        f"metrics, claims decided, installed packages or datasets); {RERUN}"
    )


def test_results_decided_with_other_claims_fail(project, tiny):
    record_full(tiny, project)
    # a threshold is part of what a run decides (a measuring helper samples until it is decided)
    edit(tiny / "technique.toml", 'op = ">="\nthreshold = 4\n', 'op = ">="\nthreshold = 5\n')
    ok, reason = checklist(tiny, project)[CURRENT]
    assert not ok
    assert "tiny: changed since their full run" in reason
    assert "claims four-x: recorded otherwise than technique.toml decides them" in reason


def test_results_with_claims_decided_otherwise_fail(project, tiny):
    record_full(tiny, project)
    # prose and phrase are not part of the run (its digest holds), but the stored outcome no
    # longer matches what technique.toml says
    edit(tiny / "technique.toml", 'phrase = "squares numbers"', 'phrase = "squares them"')
    edit(tiny / "tiny.py", "It squares numbers", "It squares them")
    assert checklist(tiny, project)[CURRENT] == (
        False,
        f"stale: claims phone: recorded otherwise than technique.toml decides them; {RERUN}",
    )


def test_a_notebook_without_full_results_fails(project, tiny):
    record_full(tiny, project)
    rewrite_results(tiny, lambda r: dataclasses.replace(r, notebooks={"tiny": r.notebooks["tiny"]}))
    ok, reason = checklist(tiny, project)[CURRENT]
    assert not ok and reason.startswith("stale: sweep: no full results;"), reason


def test_a_lint_finding_fails(project, tiny):
    script = tiny / "sweep.py"
    script.write_text(
        script.read_text(encoding="utf-8") + "\n# %% [markdown]\n# TODO(tutorial-gen) explain\n",
        encoding="utf-8",
    )
    line = len(script.read_text(encoding="utf-8").splitlines())
    record_full(tiny, project)
    outcome = checklist(tiny, project)
    ok, reason = outcome[LINT]
    assert not ok
    assert reason.startswith(f"1 lint finding, the first {script}:{line}: placeholder "), reason
    assert outcome[CURRENT][0], outcome  # fresh: only lint finds something


def test_a_claim_phrase_that_differs_in_case_fails(project, tiny):
    record_full(tiny, project)
    # the prose says "squares numbers"; the claim "Squares numbers" is not that sentence
    edit(tiny / "technique.toml", 'phrase = "squares numbers"', 'phrase = "Squares numbers"')
    ok, reason = checklist(tiny, project)[LINT]
    assert not ok
    assert "claim-phrase" in reason and "the case differs" in reason, reason


def test_a_full_run_records_what_the_check_expects(project, tiny, tmp_path):
    report = run_technique(
        load_technique(tiny), project, RunRequest(profile=Profile.FULL, build_dir=tmp_path / "b")
    )
    assert report.ok, [str(r.error) for r in report.runs]
    assert checklist(tiny, project)[CURRENT] == (True, "all 2 notebooks and their claims")


def test_check_technique_prints_the_stale_notebook(repo, project, tiny, monkeypatch, capsys):
    record_full(tiny, project)
    edit(tiny / "tiny.py", 'print(f"growth {growth}")', 'print(f"growth: {growth}")')
    monkeypatch.chdir(repo)
    assert main(["check-technique", "notebooks/tiny"]) == 1
    out = capsys.readouterr().out
    assert "  ✗ full results current with the sources: stale: tiny: changed since" in out


TASKS = "results on more than one task"


def test_two_results_tables_with_measured_rows_are_two_tasks(project, tiny):
    record_full(tiny, project)
    assert checklist(tiny, project)[TASKS] == (True, "2 tasks: Numbers; Sweep")


def test_a_results_table_without_measured_rows_is_no_task(project, tiny):
    record_full(tiny, project, sweep={"results_rows": []})
    ok, reason = checklist(tiny, project)[TASKS]
    assert not ok
    assert reason.startswith("measured rows for 1 task(s) (Numbers); add a results table")


def test_two_tables_of_one_task_are_one_task(project, tiny):
    edit(tiny / "technique.toml", 'title = "Sweep"', 'title = "Numbers: the sweep"')
    record_full(tiny, project)
    ok, reason = checklist(tiny, project)[TASKS]
    assert not ok
    assert reason.startswith("measured rows for 1 task(s) (Numbers); add a results table")


def test_a_table_names_its_task_to_count_as_another(project, tiny):
    edit(
        tiny / "technique.toml", 'title = "Sweep"', 'title = "Numbers: the sweep"\ntask = "Sweeps"'
    )
    record_full(tiny, project)
    assert checklist(tiny, project)[TASKS] == (True, "2 tasks: Numbers; Sweeps")
