"""The CI workflow stays consistent with the CLI it calls."""

from __future__ import annotations

import re
import shlex

import yaml

from conftest import ROOT
from tutorial_gen.cli import parser

WORKFLOW = ROOT / ".github" / "workflows" / "notebooks.yml"


def _steps(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_every_tutorial_gen_command_parses():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    shards = workflow["jobs"]["smoke"]["strategy"]["matrix"]["shard"]
    count = int(workflow["env"]["SHARDS"])
    assert shards == list(range(1, count + 1)), "the matrix must list every shard once"
    commands = [
        run for job in workflow["jobs"].values() for run in _steps(job) if "tutorial-gen" in run
    ]
    assert len(commands) == 2
    for command in commands:
        for shard in shards:
            text = command.replace("${{ matrix.shard }}", str(shard))
            text = text.replace("${{ env.SHARDS }}", str(count))
            assert "${{" not in text
            args = shlex.split(text)
            parsed = parser().parse_args(args[args.index(".venv/bin/tutorial-gen") + 1 :])
            if parsed.verb == "run":
                assert parsed.shard == (shard, count) and parsed.profile == "smoke"


def test_merge_reads_what_the_shards_upload():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    upload = next(
        s
        for s in workflow["jobs"]["smoke"]["steps"]
        if s.get("uses", "").startswith("actions/upload-artifact")
    )
    uploaded = upload["with"]["path"].split()
    assert "build/*/results/smoke.json" in uploaded  # where `run --build-dir build` writes them
    merge = next(run for run in _steps(workflow["jobs"]["merge"]) if "merge" in run)
    assert re.search(r"shards/\*/\*/results/smoke\.json", merge)
    assert workflow["jobs"]["merge"]["needs"] == "smoke"
    assert workflow["jobs"]["merge"]["if"] == "always()"
