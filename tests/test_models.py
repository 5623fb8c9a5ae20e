"""Kept models: the trained model each results row measured, moved into `build/models/` with a
manifest, checked against the row's sha256; and a full run of a tiny results notebook (seconds,
no TensorFlow) that writes its files where the runner says."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tutorial_gen.config import load_technique
from tutorial_gen.model import (
    Environment,
    ModelManifest,
    NotebookEntry,
    ResultsFile,
    ResultsFormatError,
    RunRequest,
    RunStatus,
)
from tutorial_gen.run.models import (
    MODELS_ENV,
    keep_staged,
    models_folder,
    staging_env,
    sync_models,
)
from tutorial_gen.run.report import models_line
from tutorial_gen.run.suite import run_technique

SNIPPET = Path(__file__).resolve().parents[1] / "notebooks" / "_snippets" / "convert.py"
RUN_SWEEP = "tutorial-gen run --profile full --force notebooks/tiny/sweep.py"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _row(name: str | None, data: bytes = b"", **more) -> dict:
    row = {"model": "square", "config": f"config {name}", "hyperparameter": 2, "accuracy": 0.7}
    row |= {"size": len(data) // 2, "tflite_bytes": len(data)}
    if name is not None:
        row |= {"tflite_file": name, "tflite_sha256": _sha(data)}
    return row | more


def _results(tiny: Path, rows: list[dict], status: RunStatus = RunStatus.OK) -> None:
    """The technique's full results, the sweep notebook holding `rows`."""
    entry = NotebookEntry("notebooks/tiny/sweep.py", status, 1.0, {"results_rows": rows})
    results = ResultsFile("tiny", "full", Environment(date="2026-01-02"), {"sweep": entry})
    (tiny / "results" / "full.json").write_text(json.dumps(results.to_json()), encoding="utf-8")


def _put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_only_a_results_notebook_in_the_full_profile_keeps_its_models(tiny, tmp_path):
    technique = load_technique(tiny)
    sweep, tutorial = technique.notebooks["sweep"], technique.notebooks["tiny"]
    assert staging_env(sweep, "full", tmp_path) == {MODELS_ENV: str(tmp_path / "models")}
    assert staging_env(sweep, "smoke", tmp_path) == {}
    assert staging_env(tutorial, "full", tmp_path) == {}


def test_the_snippet_reads_the_variable_the_runner_sets():
    assert f'MODELS_ENV = "{MODELS_ENV}"' in SNIPPET.read_text(encoding="utf-8")


def test_a_successful_run_leaves_its_models_beside_its_notebook(tmp_path):
    run_folder = tmp_path / "sweep.abc123"
    _put(run_folder / "models" / "a.tflite", b"new")
    executed = tmp_path / "sweep.ipynb"
    _put(tmp_path / "sweep.models" / "old.tflite", b"old")  # the run before's
    keep_staged(run_folder, executed)
    assert _files(tmp_path / "sweep.models") == ["a.tflite"]
    assert not (run_folder / "models").exists()
    keep_staged(tmp_path / "nothing-kept", executed)  # a run that kept nothing changes nothing
    assert _files(tmp_path / "sweep.models") == ["a.tflite"]


def test_staged_models_move_in_and_the_manifest_lists_each_row(project, tiny, tmp_path):
    build = tmp_path / "build"
    _results(tiny, [_row("a.tflite", b"model a"), _row("b.tflite", b"model b")])
    _put(build / "tiny" / "full" / "sweep.models" / "a.tflite", b"model a")
    _put(build / "tiny" / "full" / "sweep.models" / "b.tflite", b"model b")
    _put(build / "tiny" / "full" / "sweep.seed43.models" / "a.tflite", b"another seed")

    manifest = sync_models(load_technique(tiny), project, build)

    folder = models_folder(build, "tiny")
    assert _files(folder) == ["manifest.json", "sweep/a.tflite", "sweep/b.tflite"]
    assert (folder / "sweep" / "a.tflite").read_bytes() == b"model a"
    assert list((build / "tiny" / "full").iterdir()) == []  # every staged folder is taken
    first = manifest.models[0]
    assert (first.notebook, first.row, first.file, first.path) == (
        "sweep",
        0,
        "a.tflite",
        "sweep/a.tflite",
    )
    assert (first.model, first.config, first.accuracy, first.tflite_bytes) == (
        "square",
        "config a.tflite",
        0.7,
        7,
    )
    assert first.sha256 == _sha(b"model a") and first.offered and first.run is None
    assert manifest.environment.date == "2026-01-02"
    assert manifest.results == "notebooks/tiny/results/full.json"
    written = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert ModelManifest.from_json(written) == manifest


def test_a_cache_hit_keeps_the_files_an_earlier_run_kept(project, tiny, tmp_path):
    build = tmp_path / "build"
    _results(tiny, [_row("a.tflite", b"model a")])
    _put(models_folder(build, "tiny") / "sweep" / "a.tflite", b"model a")
    manifest = sync_models(load_technique(tiny), project, build)
    assert [m.offered for m in manifest.models] == [True]
    assert (models_folder(build, "tiny") / "sweep" / "a.tflite").read_bytes() == b"model a"


def test_a_row_without_its_file_here_says_what_to_run(project, tiny, tmp_path):
    _results(tiny, [_row("a.tflite", b"model a")])
    [missing] = sync_models(load_technique(tiny), project, tmp_path / "build").models
    assert not missing.present and not missing.verified and not missing.offered
    assert missing.note == "not kept in this build" and missing.run == RUN_SWEEP


def test_a_file_that_is_not_the_one_measured_is_never_offered(project, tiny, tmp_path):
    build = tmp_path / "build"
    _results(tiny, [_row("a.tflite", b"model a"), _row("b.tflite", b"model b")])
    _put(models_folder(build, "tiny") / "sweep" / "a.tflite", b"changed since")
    _put(build / "tiny" / "full" / "sweep.models" / "b.tflite", b"not what b measured")
    stale, unmatched = sync_models(load_technique(tiny), project, build).models
    assert stale.present and not stale.verified and not stale.offered
    assert "sha256 differs" in stale.note and stale.run == RUN_SWEEP
    assert not unmatched.present  # the staged file was not moved in, and is gone
    assert _files(models_folder(build, "tiny")) == ["manifest.json", "sweep/a.tflite"]
    assert not (build / "tiny" / "full" / "sweep.models").exists()


def test_files_of_rows_no_longer_in_the_results_are_removed(project, tiny, tmp_path):
    build = tmp_path / "build"
    folder = models_folder(build, "tiny")
    _put(folder / "sweep" / "a.tflite", b"model a")
    _put(folder / "sweep" / "gone.tflite", b"a row since removed")
    _put(folder / "old_notebook" / "x.tflite", b"a notebook since removed")
    _results(tiny, [_row("a.tflite", b"model a")])
    sync_models(load_technique(tiny), project, build)
    assert _files(folder) == ["manifest.json", "sweep/a.tflite"]
    assert not (folder / "old_notebook").exists()
    _results(tiny, [_row("a.tflite", b"model a")], status=RunStatus.ERROR)  # its rerun failed
    assert sync_models(load_technique(tiny), project, build).models == ()
    assert _files(folder) == ["manifest.json"]


def test_rows_measured_before_models_were_kept_are_named_with_what_to_run(project, tiny, tmp_path):
    manifest = sync_models(load_technique(tiny), project, tmp_path)  # the fixture's results
    assert manifest.models == ()
    [unnamed] = manifest.unnamed
    assert (unnamed.notebook, unnamed.rows, unnamed.run) == ("sweep", 4, RUN_SWEEP)


def test_a_file_name_with_a_folder_in_it_is_not_kept(project, tiny, tmp_path):
    build = tmp_path / "build"
    _results(tiny, [_row("../a.tflite", b"model a")])
    _put(build / "tiny" / "full" / "a.tflite", b"model a")
    [model] = sync_models(load_technique(tiny), project, build).models
    assert not model.present and model.path == "" and "no plain file name" in model.note
    assert (build / "tiny" / "full" / "a.tflite").read_bytes() == b"model a"  # left alone


def test_a_technique_without_results_notebooks_has_no_manifest(project, make_technique, tmp_path):
    folder = make_technique("plain", {"plain": "# %%\nx = 1\n"}, ["x"])
    assert sync_models(load_technique(folder), project, tmp_path) is None
    assert not (tmp_path / "models").exists()


# --- a real run --------------------------------------------------------------------------------

KEPT_RESULTS = """\
# %% [markdown]
# # Kept
#
# Writes its "models" where the runner says, as the convert snippet's measure_tflite does.

# %% tags=["parameters"]
sizes = [1, 2]

# %%
import hashlib
import os

folder = os.environ.get("TUTORIAL_GEN_MODELS")
staged = 1 if folder else 0
results_rows = []
for n in sizes:
    data, name = bytes([n]) * (100 * n), f"model_{n}.tflite"
    if folder:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "wb") as out:
            out.write(data)
    results_rows.append({
        "model": "m", "config": f"size {n}", "hyperparameter": n, "accuracy": 0.5,
        "size": len(data), "tflite_bytes": len(data),
        "tflite_file": name, "tflite_sha256": hashlib.sha256(data).hexdigest(),
    })
"""


def _kept_technique(repo: Path) -> Path:
    folder = repo / "notebooks" / "kept"
    _put(folder / "kept_results.py", KEPT_RESULTS.encode())
    (folder / "technique.toml").write_text(
        '[technique]\nname = "Kept"\ndescriptor = "Kept models"\n\n'
        '[[notebooks]]\nscript = "kept_results.py"\nrole = "results"\n'
        '[notebooks.metrics]\nresults_rows = "one row per size"\n'
        'staged = "1 where the run named a folder to keep models in"\n',
        encoding="utf-8",
    )
    return folder


def test_a_full_run_keeps_each_rows_model_and_a_rerun_keeps_them_in_step(repo, project, tmp_path):
    technique = load_technique(_kept_technique(repo))
    build = tmp_path / "build"
    folder = models_folder(build, "kept")
    full = RunRequest(profile="full", build_dir=build)

    report = run_technique(technique, project, full)
    assert report.ok and report.runs[0].metrics["staged"] == 1, report.runs[0].error
    assert [m.offered for m in report.models.models] == [True, True]
    assert report.models_path == folder
    assert _files(folder) == [
        "kept_results/model_1.tflite",
        "kept_results/model_2.tflite",
        "manifest.json",
    ]
    assert (folder / "kept_results" / "model_2.tflite").read_bytes() == bytes([2]) * 200
    assert sorted(p.name for p in (build / "kept" / "full").iterdir()) == ["kept_results.ipynb"]

    again = run_technique(technique, project, full)  # a cache hit: nothing runs, the files stay
    assert again.runs[0].cache == "hit"
    assert [m.offered for m in again.models.models] == [True, True]

    fewer = RunRequest(profile="full", build_dir=build, force=True, overrides={"sizes": [2]})
    run_technique(technique, project, fewer)
    assert _files(folder) == ["kept_results/model_2.tflite", "manifest.json"]

    smoke = run_technique(technique, project, RunRequest(profile="smoke", build_dir=build))
    assert smoke.runs[0].metrics["staged"] == 0 and smoke.models is None


def test_a_manifest_of_another_schema_is_refused_with_what_to_do():
    with pytest.raises(ResultsFormatError, match="models manifest schema 99") as caught:
        ModelManifest.from_json({"schema": 99})
    assert "tutorial-gen site" in caught.value.hint


def test_the_run_says_where_the_models_are_and_how_many_are_kept(project, tiny, tmp_path):
    build = tmp_path / "build"
    _results(tiny, [_row("a.tflite", b"model a"), _row("b.tflite", b"model b"), _row(None)])
    _put(models_folder(build, "tiny") / "sweep" / "a.tflite", b"model a")
    manifest = sync_models(load_technique(tiny), project, build)
    line = models_line(manifest, "build/models/tiny")
    assert line == "build/models/tiny/ (1 of 2 rows' models kept, listed in manifest.json)"
    _results(tiny, [_row(None), _row(None)])
    unnamed = sync_models(load_technique(tiny), project, tmp_path / "other")
    assert models_line(unnamed, "x").endswith(
        "; 2 rows name no model file (measured before models were kept)"
    )
