"""`compat`: the selected notebooks on each stack, in the stack's own environment, as a matrix.

The stacks here are small (numpy alone stands for TensorFlow's runtime), so that each
environment is made in seconds; what they exercise is the real machinery: uv environments,
kernels in them, the install cell, the keras3 variant, compat.json and the exit code.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from tutorial_gen.build.variant import without_legacy_keras
from tutorial_gen.cli import main
from tutorial_gen.compat import choose_stacks, matrix_lines, report, run_compat, with_role
from tutorial_gen.config import load_technique
from tutorial_gen.errors import ConfigError
from tutorial_gen.model import CompatFile, CompatStatus, RunRequest, Stack
from tutorial_gen.run.stackenv import uv_binary
from tutorial_gen.run.store import compat_path, read_compat

pytestmark = pytest.mark.skipif(uv_binary() is None, reason="uv is not installed")

SCRIPT = """\
# %%
# tutorial-gen: setup

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import numpy as np

assert os.environ.get("TF_USE_LEGACY_KERAS") == "1", "the legacy-Keras line was skipped"
value = float(np.square(2))
"""
ASSERT_LINE = 14  # of the script make_technique writes (two heading lines, then SCRIPT)


@pytest.fixture
def stacked(project, make_technique):
    folder = make_technique("legacy", {"legacy": SCRIPT}, ["value"])
    stacks = {
        "np": Stack("np", {"numpy": "2.4.6"}),
        "np-keras3": Stack("np-keras3", {"numpy": "2.4.6"}, legacy_keras=False, supported=False),
        "broken": Stack("broken", {"numpy": "0.0.0"}),
    }
    return dataclasses.replace(project, stacks=stacks), load_technique(folder)


def test_each_stack_gets_a_column_with_the_first_error_and_its_script_line(stacked, tmp_path):
    project, technique = stacked
    stacks = choose_stacks(project, None)
    outcomes = run_compat(stacks, [(technique, None)], project, RunRequest(build_dir=tmp_path))
    compat = read_compat(compat_path(technique))
    assert list(compat.stacks) == ["np", "np-keras3", "broken"]  # declared order, kept in JSON
    passed, keras3, broken = (compat.stacks[n].notebooks["legacy"] for n in compat.stacks)
    assert passed.status == CompatStatus.PASS
    assert keras3.status == CompatStatus.FAIL and keras3.line == ASSERT_LINE
    assert keras3.error == "AssertionError: the legacy-Keras line was skipped"  # no local path
    assert broken.status == CompatStatus.NO_ENVIRONMENT and "numpy==0.0.0" in broken.error
    assert compat.stacks["np"].environment.packages["numpy"] == "2.4.6"
    lines = matrix_lines(technique, compat, project)
    assert lines[0].split() == ["notebook", "np", "np-keras3*", "broken"]
    assert lines[2].split() == ["legacy", "pass", "FAIL", "no", "install"]
    assert any(f"legacy.py:{ASSERT_LINE}: AssertionError" in line for line in lines)
    # the unsupported stack's failure is shown, the supported one's fails the run
    assert report(outcomes, [(technique, None)], project) == 1
    assert report(outcomes[:2], [(technique, None)], project) == 0


def test_a_second_run_reuses_environments_and_results_and_merges_the_file(stacked, tmp_path):
    project, technique = stacked
    request = RunRequest(build_dir=tmp_path)
    [first] = run_compat(choose_stacks(project, ["np"]), [(technique, None)], project, request)
    assert first.environment_seconds > 0
    [second] = run_compat(choose_stacks(project, ["np"]), [(technique, None)], project, request)
    assert second.environment_seconds == 0.0 and second.wall_seconds < first.wall_seconds
    run_compat(choose_stacks(project, ["broken"]), [(technique, None)], project, request)
    data = json.loads(compat_path(technique).read_text(encoding="utf-8"))
    assert data["order"] == ["np", "broken"]  # both stacks kept, in declared order
    assert CompatFile.from_json(data).stacks["np"].notebooks["legacy"].ok


def test_results_of_a_stack_never_touch_the_committed_results(stacked, tmp_path):
    project, technique = stacked
    full = technique.folder / "results" / "full.json"
    before = full.read_text(encoding="utf-8") if full.exists() else None
    request = RunRequest(profile="full", build_dir=tmp_path)
    run_compat(choose_stacks(project, ["np"]), [(technique, None)], project, request)
    assert (full.read_text(encoding="utf-8") if full.exists() else None) == before
    assert (tmp_path / "compat" / "np" / "legacy" / "results" / "full.json").is_file()


def test_unknown_stack_names_say_what_is_declared(stacked):
    project, _ = stacked
    with pytest.raises(ConfigError, match="no stack 'np2'.*np"):
        choose_stacks(project, ["np2"])


def test_the_role_narrows_the_selection(project, tiny):
    technique = load_technique(tiny)
    assert with_role([(technique, None)], "tutorial") == [(technique, ["tiny"])]
    assert with_role([(technique, None)], "guide") == []


def test_the_cli_refuses_a_project_without_stacks(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    assert main(["compat", "notebooks/tiny"]) == 2
    assert "declares no stacks" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "rewritten"),
    [
        ('os.environ["TF_USE_LEGACY_KERAS"] = "1"', "# skipped on this stack: os.environ"),
        ("    os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')", "    # skipped on this stack"),
        ("import tf_keras as keras", "import keras as keras"),
        ("import tf_keras", "import keras as tf_keras"),
        ("from tf_keras.layers import Dense", "from keras.layers import Dense"),
        ("from tf_keras import layers", "from keras import layers"),
        ("import tf_keras_extra", "import tf_keras_extra"),  # another module: left alone
    ],
)
def test_the_keras3_variant_rewrites_only_the_legacy_lines(line, rewritten):
    assert without_legacy_keras(line).startswith(rewritten)
    assert without_legacy_keras(line).count("\n") == line.count("\n")


def test_merge_puts_the_columns_of_ci_jobs_together(stacked, tmp_path, repo, monkeypatch, capsys):
    project, technique = stacked
    columns = []
    for name in ("np", "broken"):
        run_compat(
            choose_stacks(project, [name]),
            [(technique, None)],
            project,
            RunRequest(build_dir=tmp_path),
        )
        column = tmp_path / "columns" / name / "compat.json"
        column.parent.mkdir(parents=True)
        compat_path(technique).rename(column)  # what a job uploads: its column alone
        columns.append(str(column))
    monkeypatch.chdir(repo)
    assert main(["compat", "--merge", *columns]) == 1  # the supported `broken` failed
    merged = read_compat(compat_path(technique))
    assert list(merged.stacks) == ["np", "broken"]
    out = capsys.readouterr().out
    assert "failed on supported stacks: broken: legacy/legacy" in out


def test_what_a_notebook_installs_stays_in_its_run_not_in_the_stack(stacked, tmp_path):
    from tutorial_gen.run.stackenv import stack_environment

    project, technique = stacked
    old = Stack("np-old", {"numpy": "1.26.4"})  # the cell replaces it with the pinned 2.4.6
    project = dataclasses.replace(project, stacks={"np-old": old})
    [outcome] = run_compat([old], [(technique, None)], project, RunRequest(build_dir=tmp_path))
    assert outcome.runs["legacy"].notebooks["legacy"].ok
    env, _ = stack_environment(old, project, tmp_path)
    assert outcome.runs["legacy"].environment.packages["numpy"] == "1.26.4"  # as it was made
    site = next(env.glob("lib/python*/site-packages"))
    assert [p.name for p in site.glob("numpy-*.dist-info")] == ["numpy-1.26.4.dist-info"]
    executed = tmp_path / "compat" / "np-old" / "legacy" / "smoke" / "legacy.ipynb"
    assert "Installing numpy==2.4.6" in executed.read_text(encoding="utf-8")
