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
    assert len(commands) == 3
    for command in commands:
        for shard in shards:
            text = command.replace("${{ matrix.shard }}", str(shard))
            text = text.replace("${{ env.SHARDS }}", str(count))
            assert "${{" not in text
            args = shlex.split(text)
            parsed = parser().parse_args(args[args.index(".venv/bin/tutorial-gen") + 1 :])
            if parsed.verb == "run":
                assert parsed.shard == (shard, count) and parsed.profile == "smoke"


def test_the_site_is_built_from_the_merged_results_and_uploaded():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["merge"]["steps"]
    merge = next(shlex.split(s["run"]) for s in steps if "tutorial-gen merge" in s.get("run", ""))
    merged = parser().parse_args(merge[merge.index(".venv/bin/tutorial-gen") + 1 :]).output
    site = next(shlex.split(s["run"]) for s in steps if "tutorial-gen site" in s.get("run", ""))
    parsed = parser().parse_args(site[site.index(".venv/bin/tutorial-gen") + 1 :])
    assert parsed.build_dir == merged, "the site reads the merged results"
    assert parsed.output is None  # so it is build/site, which the next step uploads
    gather = next(s["run"] for s in steps if "cp " in s.get("run", ""))
    assert "shards/*/*/smoke/*.ipynb" in gather and f'"{merged}/' in gather
    upload = steps[-1]
    assert (
        upload["uses"].startswith("actions/upload-artifact")
        and upload["with"]["path"] == "build/site"
    )
    names = [s.get("name") for s in steps]
    built = names.index("Build the site")
    models = steps[names.index("Keep the trained models")]
    assert models["uses"].startswith("actions/upload-artifact")
    assert models["with"]["path"] == f"{merged}/models", "where the site keeps the manifests"
    assert names.index("Keep the trained models") > built
    assert names.index("Merge the shards and check every claim") < built
    assert all(s.get("if") == "always()" for s in steps[built - 1 :]), "a failing merge still shows"


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


COMPAT = ROOT / ".github" / "workflows" / "compat.yml"


def test_the_compat_workflow_has_one_job_per_declared_stack_and_its_commands_parse():
    from tutorial_gen.config import load_project

    workflow = yaml.safe_load(COMPAT.read_text(encoding="utf-8"))
    stacks = workflow["jobs"]["stack"]["strategy"]["matrix"]["stack"]
    assert stacks == list(load_project(ROOT).stacks), "one job per stack, in declared order"
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "schedule" in triggers and "pyproject.toml" in triggers["push"]["paths"]
    commands = [run for job in workflow["jobs"].values() for run in _steps(job) if "compat" in run]
    assert len(commands) == 2
    for stack in stacks:
        args = shlex.split(commands[0].replace("${{ matrix.stack }}", stack))
        parsed = parser().parse_args(args[args.index(".venv/bin/tutorial-gen") + 1 :])
        assert parsed.stacks == [stack] and parsed.role == "tutorial"
    merged = shlex.split(commands[1])
    parsed = parser().parse_args(merged[merged.index(".venv/bin/tutorial-gen") + 1 :])
    assert parsed.merge, "the last job merges what the stack jobs upload"
    upload = next(
        s
        for s in workflow["jobs"]["stack"]["steps"]
        if s.get("uses", "").startswith("actions/upload-artifact")
    )
    assert "notebooks/*/results/compat.json" in upload["with"]["path"].split()
    assert workflow["jobs"]["matrix"]["needs"] == "stack"


FULL = ROOT / ".github" / "workflows" / "full.yml"


def test_the_full_workflow_measures_everything_again_and_uploads_the_models_it_kept():
    """Only a full run that executes (no cache hit) keeps models: the workflow forces it, and
    uploads `build/models`, where the run keeps them, even when a claim fails."""
    workflow = yaml.safe_load(FULL.read_text(encoding="utf-8"))
    [job] = workflow["jobs"].values()
    commands = [shlex.split(run) for run in _steps(job) if "tutorial-gen" in run]
    parsed = [parser().parse_args(c[c.index(".venv/bin/tutorial-gen") + 1 :]) for c in commands]
    [run] = [p for p in parsed if p.verb == "run"]
    assert run.profile == "full" and run.force and run.build_dir is None
    assert [p.verb for p in parsed] == ["run", "site"]
    uploads = {
        s["with"]["name"]: s for s in job["steps"] if s.get("uses", "").startswith("actions/upload")
    }
    assert uploads["models"]["with"]["path"] == "build/models"
    assert uploads["site"]["with"]["path"] == "build/site"
    assert all(step.get("if") == "always()" for step in uploads.values())
