"""The verdict of a run: one line counting its claims, failed notebooks shown as failed, noise
named, and whose numbers the cache hits reuse."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from tutorial_gen.cli import main
from tutorial_gen.config import load_technique
from tutorial_gen.model import ClaimStatus, Environment
from tutorial_gen.run import store
from tutorial_gen.run.recorder import Reused, TechniqueReport
from tutorial_gen.run.verdict import reuse_notes

PLANTED = """[[claims]]
id = "planted"
notebook = "tiny"
phrase = "4x bigger"
expr = "growth"
op = ">="
threshold = 100

[overview]"""
VERDICT = (
    "3 claims: 1 pass, 1 FAIL, 0 inconclusive, 1 unverified (not counted: 1 not in this profile)"
)


@pytest.fixture(autouse=True)
def _in_repo(repo, monkeypatch):
    monkeypatch.chdir(repo)


def _plant_failing_claim(tiny) -> None:
    toml = tiny / "technique.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("[overview]", PLANTED), "utf-8")


def _status_rows(out: str) -> dict[str, list[str]]:
    """{notebook: [status, cache]} from the timing table."""
    rows = [re.split(r"\s{2,}", line) for line in out.splitlines() if line.startswith("tiny/")]
    return {row[0]: row[1:3] for row in rows}


def test_a_failing_claim_fails_its_notebook_the_exit_code_and_the_verdict(tiny, tmp_path, capsys):
    _plant_failing_claim(tiny)
    build = ["--build-dir", str(tmp_path)]
    assert main(["run", "notebooks/tiny", *build]) == 1
    out = capsys.readouterr().out
    assert _status_rows(out) == {"tiny/tiny": ["claim FAIL", "miss"], "tiny/sweep": ["ok", "miss"]}
    assert out.splitlines()[-1] == VERDICT
    # nothing changed: every result is reused, and the verdict is the same
    assert main(["run", "notebooks/tiny", *build]) == 1
    out = capsys.readouterr().out
    assert _status_rows(out) == {"tiny/tiny": ["claim FAIL", "hit"], "tiny/sweep": ["ok", "hit"]}
    assert out.splitlines()[-1] == VERDICT


def test_parallel_and_shard_runs_end_with_the_verdict(tiny, tmp_path, capsys):
    _plant_failing_claim(tiny)
    assert main(["run", "notebooks/tiny", "--jobs", "2", "--build-dir", str(tmp_path / "j")]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == VERDICT
    lines = []
    for k in (1, 2):
        main(["run", "notebooks/tiny", "--shard", f"{k}/2", "--build-dir", str(tmp_path / f"s{k}")])
        lines.append(capsys.readouterr().out.splitlines()[-1])
    not_run = "0 claims: 0 pass, 0 FAIL, 0 inconclusive, 0 unverified (not counted: "
    assert sorted(lines) == [
        not_run + "1 not in this profile, 3 not run: their notebooks are in another shard)",
        VERDICT,
    ]


def _inconclusive(monkeypatch) -> None:
    """Noise leaves the claim `grows` undecided, as a noisy latency measurement would."""
    decide = store.check_all

    def noisy(*args, **kwargs):
        return [
            dataclasses.replace(c, status=ClaimStatus.INCONCLUSIVE, interval=[0.9, 1.3])
            if c.id == "grows"
            else c
            for c in decide(*args, **kwargs)
        ]

    monkeypatch.setattr(store, "check_all", noisy)


def test_an_inconclusive_claim_fails_the_full_profile(tmp_path, monkeypatch, capsys):
    _inconclusive(monkeypatch)
    assert main(["run", "notebooks/tiny", "--profile", "full", "--build-dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert _status_rows(out)["tiny/tiny"] == ["inconclusive", "miss"]
    assert out.splitlines()[-1] == "3 claims: 1 pass, 0 FAIL, 1 inconclusive, 1 unverified"
    [message] = [line for line in err.splitlines() if "inconclusive" in line]
    assert message.startswith("error: claim 'grows' (tiny/tiny) is inconclusive")
    assert "interval [0.9, 1.3]" in message and "too noisy" in message


def test_an_inconclusive_claim_is_reported_in_smoke(tmp_path, monkeypatch, capsys):
    _inconclusive(monkeypatch)
    assert main(["run", "notebooks/tiny", "--build-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert _status_rows(out)["tiny/tiny"] == ["ok", "miss"]
    assert out.splitlines()[-1].startswith("2 claims: 0 pass, 0 FAIL, 1 inconclusive, 1 unverified")
    assert "note: claim 'grows' (tiny/tiny) is inconclusive" in err
    assert "interval [0.9, 1.3]" in err


def test_cache_hits_say_whose_numbers_they_reuse(tmp_path, capsys):
    build = ["--build-dir", str(tmp_path)]
    assert main(["run", "notebooks/tiny", *build]) == 0
    assert "reused" not in capsys.readouterr().out
    results = tmp_path / "tiny" / "results" / "smoke.json"
    data = json.loads(results.read_text(encoding="utf-8"))
    data["environment"].update(cpu="Elsewhere CPU", cores=64, commit="0123456789abcdef-dirty")
    data["environment"]["diff"] = "fedcba987654"
    for entry in data["notebooks"].values():
        entry["finished"] = "2026-01-02T03:04:05+00:00"
    results.write_text(json.dumps(data), encoding="utf-8")
    assert main(["run", "notebooks/tiny", *build]) == 0
    assert (
        "reused (cache hits): the numbers of tiny/tiny, tiny/sweep, measured on Elsewhere CPU "
        "(64 cores) on 2026-01-02 at commit 0123456789ab-dirty (diff fedcba987654)"
    ) in capsys.readouterr().out


def test_many_reused_notebooks_are_counted_by_technique(tiny):
    stamp = Environment(cpu="Some CPU", cores=2, commit="a" * 40)
    reused = {
        stem: Reused(stamp, f"2026-01-0{day}T00:00:00") for day, stem in enumerate("abcde", 1)
    }
    report = TechniqueReport(load_technique(tiny), "full", [], [], Path(), reused=reused)
    assert reuse_notes([report]) == [
        "reused (cache hits): the numbers of 5 notebooks (tiny), measured on Some CPU (2 cores) "
        "on 2026-01-01 to 2026-01-05 at commit aaaaaaaaaaaa"
    ]
