"""Seeds: a notebook run over several seeds, each recorded, its claims held for every seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutorial_gen.config import load_technique
from tutorial_gen.errors import ConfigError
from tutorial_gen.model import ClaimStatus, RunRequest
from tutorial_gen.run.seeds import combined_metrics
from tutorial_gen.run.store import read_results, results_path
from tutorial_gen.run.suite import run_suite

SCRIPT = """\
# %% [markdown]
# # Seeded
#
# The value is at least 420, and it stays under 430.

# %% tags=["parameters"]
seed = 42

# %%
value = seed * 10
"""

TECHNIQUE = """\
[technique]
name = "Seeded"
descriptor = "A value that depends on the seed"

[[notebooks]]
script = "seeded.py"
role = "tutorial"

[notebooks.profiles.smoke]
seeds = 3

[notebooks.metrics]
value = "ten times the seed"

[[claims]]
id = "at-least"
notebook = "seeded"
phrase = "at least 420"
expr = "value"
op = ">="
threshold = 420

[[claims]]
id = "under"
notebook = "seeded"
phrase = "stays under 430"
expr = "value"
op = "<"
threshold = 430

[[claims]]
id = "under-at-best"
notebook = "seeded"
phrase = "stays under 430"
expr = "value"
op = "<"
threshold = 430
over_seeds = "min"
"""


@pytest.fixture
def seeded(repo: Path) -> Path:
    folder = repo / "notebooks" / "seeded"
    folder.mkdir()
    (folder / "seeded.py").write_text(SCRIPT, encoding="utf-8")
    (folder / "technique.toml").write_text(TECHNIQUE, encoding="utf-8")
    return folder


def _run(project, folder, tmp_path, **options):
    request = RunRequest(build_dir=tmp_path / "build", **options)
    return run_suite([(load_technique(folder), None)], project, request)


def test_each_seed_runs_and_a_claim_must_hold_for_every_one(project, seeded, tmp_path):
    (report,) = _run(project, seeded, tmp_path)
    results = read_results(results_path(load_technique(seeded), "smoke", tmp_path / "build"))
    assert results is not None
    entry = results.entry("seeded")
    assert sorted(entry.seed_metrics) == [42, 43, 44]
    assert [entry.seed_metrics[s]["value"] for s in (42, 43, 44)] == [420, 430, 440]
    assert entry.metrics["value"] == 430  # the median of the seeds
    outcomes = {c.id: c for c in report.claims}
    assert outcomes["at-least"].status == ClaimStatus.PASS
    assert outcomes["at-least"].per_seed == [420, 430, 440]
    assert outcomes["under"].status == ClaimStatus.FAIL  # seed 42 holds it, 43 and 44 do not
    assert "seed 43" in outcomes["under"].reason
    assert outcomes["under-at-best"].status == ClaimStatus.PASS  # its minimum, 420, is under
    executed = tmp_path / "build" / "seeded" / "smoke"
    assert {p.name for p in executed.glob("seeded*.ipynb")} == {
        "seeded.ipynb",
        "seeded.seed43.ipynb",
        "seeded.seed44.ipynb",
    }


def test_a_claim_of_another_profile_is_reported_once_not_per_seed():
    from tutorial_gen.model import Claim
    from tutorial_gen.verify.claims import check_seeds

    claim = Claim("c", "nb", "p", "value", ">=", 1, profiles=("full",))
    outcome = check_seeds(claim, [(42, {"value": 2}), (43, {"value": 3})], "smoke")
    assert outcome.status == ClaimStatus.NOT_IN_PROFILE
    assert outcome.reason == "holds for full" and outcome.per_seed is None


def test_a_reason_every_seed_shares_is_said_once():
    from tutorial_gen.model import Claim
    from tutorial_gen.verify.claims import check_seeds

    claim = Claim("c", "nb", "p", "value", ">=", 1, unverified="needs a phone")
    outcome = check_seeds(claim, [(42, {"value": 2}), (43, {"value": 3})], "smoke")
    assert (outcome.status, outcome.reason) == (ClaimStatus.UNVERIFIED, "needs a phone")
    failing = Claim("d", "nb", "p", "value", ">=", 3)
    outcome = check_seeds(
        failing, [(42, {"value": 2}), (43, {"value": 3}), (44, {"value": 1})], "smoke"
    )
    assert outcome.reason == "seed 42: measured 2; seed 44: measured 1"


def test_the_seed_count_is_part_of_the_cache_key(project, seeded, tmp_path):
    _run(project, seeded, tmp_path, seeds=1)
    (report,) = _run(project, seeded, tmp_path, seeds=1)
    assert report.runs[0].cache == "hit"
    (report,) = _run(project, seeded, tmp_path, seeds=2)
    assert report.runs[0].cache == "miss"
    assert sorted(report.runs[0].seed_metrics) == [42, 43]


def test_seeds_need_a_seed_parameter(project, tiny, tmp_path):
    with pytest.raises(ConfigError, match="no 'seed' parameter"):
        _run(project, tiny, tmp_path, seeds=2)


def test_a_tutorial_without_a_seed_parameter_runs_once_by_default(project, tiny, tmp_path):
    (report,) = _run(project, tiny, tmp_path, profile="full")
    assert all(run.seed_metrics is None for run in report.runs)


def test_combined_metrics_are_medians_and_keep_samples_per_seed():
    combined = combined_metrics(
        {
            1: {"a": 1.0, "n": 3, "rows": [{"x": 1}], "a_samples": [1.0, 2.0], "r": None},
            2: {"a": 3.0, "n": 5, "rows": [{"x": 2}], "a_samples": [3.0, 4.0], "r": None},
            3: {"a": 2.0, "n": 4, "rows": [{"x": 3}], "a_samples": [5.0, 6.0], "r": 1.0},
        }
    )
    assert combined == {"a": 2.0, "n": 4, "rows": [{"x": 1}], "r": None}


def test_seeds_in_a_profile_table_are_validated(seeded):
    toml = seeded / "technique.toml"
    toml.write_text(toml.read_text().replace("seeds = 3", "seeds = 0"), encoding="utf-8")
    with pytest.raises(ConfigError, match="seeds in profile 'smoke' must be a whole number"):
        load_technique(seeded)


def test_over_seeds_is_validated(seeded):
    toml = seeded / "technique.toml"
    toml.write_text(toml.read_text().replace('"min"', '"minimum"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="over_seeds must be one of"):
        load_technique(seeded)
