"""Kept models: the trained model each results row measured, beside the numbers, in the build folder.

A results notebook run in the full profile gets `TUTORIAL_GEN_MODELS` in its kernel's environment,
a folder inside its run folder, where the convert snippet's `measure_tflite` also writes every file
it measures. A run that succeeds leaves that folder beside its executed notebook
(`build/<technique>/full/<stem>.models/`); `sync_models` then brings `build/models/<technique>/` in
step with the full-profile results: a staged file moves in where its sha256 is the one its row
records, a file kept by an earlier run stays where it still is, any other file goes, and
`manifest.json` lists every row that names a file, with whether it is here. `tutorial-gen site`
calls it too, so a fresh clone (committed results, no run) gets a manifest saying what to run.
Nothing here is committed: the models are too large for the repository.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from pathlib import Path

from ..fileio import dump_json, write_if_changed
from ..model import (
    MANIFEST_NAME,
    KeptModel,
    ModelManifest,
    Notebook,
    Profile,
    Project,
    ResultRow,
    Role,
    Technique,
    UnnamedRows,
)
from .store import read_results, results_path

MODELS_ENV = "TUTORIAL_GEN_MODELS"  # read by notebooks/_snippets/convert.py
STAGED_SUFFIX = ".models"  # `<stem>.models/` beside the executed `<stem>.ipynb`


def staging_env(notebook: Notebook, profile: str, run_folder: Path) -> dict[str, str]:
    """The kernel variable that has a results notebook's full-profile run keep the models it
    measures, in `run_folder/models` (nothing for any other run)."""
    if notebook.role == Role.RESULTS and profile == Profile.FULL:
        return {MODELS_ENV: str(run_folder / "models")}
    return {}


def keep_staged(run_folder: Path, executed: Path) -> None:
    """Move the models a successful run kept out of its run folder (which is removed next) to
    beside its executed notebook, replacing those of the run before."""
    staged = run_folder / "models"
    if not staged.is_dir():
        return
    target = executed.with_suffix(STAGED_SUFFIX)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staged, target)


def models_folder(build_dir: Path, slug: str) -> Path:
    """Where a technique's models are kept: `build/models/<technique>/`."""
    return build_dir / "models" / slug


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_command(project: Project, notebook: Notebook) -> str:
    """The command that measures a results notebook's rows again and keeps their models."""
    return f"tutorial-gen run --profile full --force {project.relpath(notebook.script)}"


def _plain(name: str) -> bool:
    """A name the notebook wrote in its own folder: no folder, nothing hidden."""
    return bool(name) and Path(name).name == name and not name.startswith(".") and "\\" not in name


def _kept(row: ResultRow, index: int, stem: str, folder: Path, staged: Path, run: str) -> KeptModel:
    """The model of one row: moved in from `staged` where that is the file the row measured."""
    name = str(row.tflite_file)
    kept = KeptModel(
        notebook=stem,
        row=index,
        model=row.model,
        config=row.config,
        hyperparameter=row.hyperparameter,
        accuracy=row.accuracy,
        tflite_bytes=row.tflite_bytes,
        size=row.size,
        sha256=row.tflite_sha256,
        file=name,
        path=f"{stem}/{name}",
        present=False,
        verified=False,
        note="not kept in this build",
        run=run,
    )
    if not _plain(name):
        note = "its file name is no plain file name, so it is not kept: rename it in the notebook"
        return dataclasses.replace(kept, path="", note=note, run=None)
    target, fresh = folder / stem / name, staged / name
    if row.tflite_sha256 and fresh.is_file() and sha256_of(fresh) == row.tflite_sha256:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fresh, target)
    if not target.is_file():
        return kept
    if not row.tflite_sha256 or sha256_of(target) != row.tflite_sha256:
        note = "the file kept here is not the one this row measured (its sha256 differs)"
        return dataclasses.replace(kept, present=True, note=note)
    return dataclasses.replace(kept, present=True, verified=True, note=None, run=None)


def _prune(folder: Path, keep: set[str]) -> None:
    """Remove every file of `folder` but the manifest and those `keep` names, then empty folders."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), reverse=True):  # a folder's files before the folder
        relative = path.relative_to(folder).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif relative not in keep and relative != MANIFEST_NAME:
            path.unlink()


def sync_models(technique: Technique, project: Project, build_dir: Path) -> ModelManifest | None:
    """Bring `build/models/<technique>/` in step with the technique's full-profile results, and
    write its manifest; None for a technique without results notebooks (nothing is written)."""
    notebooks = technique.with_role(Role.RESULTS)
    if not notebooks:
        return None
    path = results_path(technique, Profile.FULL, build_dir)
    results = read_results(path)
    folder = models_folder(build_dir, technique.slug)
    staged = build_dir / technique.slug / Profile.FULL
    models: list[KeptModel] = []
    unnamed: list[UnnamedRows] = []
    for notebook in notebooks:
        entry = results.entry(notebook.stem) if results else None
        rows = entry.rows() if entry is not None and entry.ok else []
        run = run_command(project, notebook)
        named = [(index, row) for index, row in enumerate(rows) if row.tflite_file]
        if rows and not named:
            unnamed.append(UnnamedRows(notebook.stem, len(rows), run))
        from_run = staged / f"{notebook.stem}{STAGED_SUFFIX}"
        models += [_kept(row, i, notebook.stem, folder, from_run, run) for i, row in named]
    _prune(folder, {m.path for m in models if m.present})
    for leftover in staged.glob(f"*{STAGED_SUFFIX}"):  # taken, or not what the results hold
        shutil.rmtree(leftover, ignore_errors=True)
    manifest = ModelManifest(
        technique.slug,
        project.relpath(path),
        results.environment if results else None,
        tuple(models),
        tuple(unnamed),
    )
    write_if_changed(folder / MANIFEST_NAME, dump_json(manifest.to_json()))
    return manifest
