"""The TensorFlow docs team's own tools accept every committed notebook.

`nbfmt --test` checks the canonical formatting; `nblint` checks the tensorflow and google styles.
Lints excluded, because they cannot apply to notebooks published outside tensorflow.org (see the
README, "Peer checks"):
- tensorflow::copyright_check: accepts only TensorFlow, Google or AI Edge as copyright holders.
- tensorflow::button_download: wants the tensorflow.org docs bucket as download URL.
- tensorflow::button_website: wants a "View on TensorFlow.org" page.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from tutorial_gen.build.links import github
from tutorial_gen.config import load_project

NOTEBOOKS = sorted(p.relative_to(ROOT) for p in (ROOT / "notebooks").glob("*/*.ipynb"))
NBLINT_EXCLUSIONS = (
    "tensorflow::copyright_check",
    "tensorflow::button_download",
    "tensorflow::button_website",
)


def _nblint(paths, cwd=ROOT) -> subprocess.CompletedProcess:
    project = load_project(ROOT)
    owner, repo = github(project)
    command = [
        sys.executable,
        "-m",
        "tensorflow_docs.tools.nblint",
        "--styles=tensorflow,google",
        f"--arg=repo:{owner}/{repo}",
        f"--arg=branch:{project.branch}",
        *(f"--exclude_lint={lint}" for lint in NBLINT_EXCLUSIONS),
        *map(str, paths),
    ]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def test_there_are_notebooks_to_check():
    assert NOTEBOOKS


def test_nbfmt_accepts_every_notebook():
    result = subprocess.run(
        [sys.executable, "-m", "tensorflow_docs.tools.nbfmt", "--test", *map(str, NOTEBOOKS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_nblint_accepts_every_notebook():
    result = _nblint(NOTEBOOKS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.parametrize("planted", ["we", "whitelist"])
def test_nblint_catches_a_planted_defect(tmp_path, planted):
    source = ROOT / NOTEBOOKS[0]
    target = tmp_path / NOTEBOOKS[0]
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)
    text = target.read_text(encoding="utf-8")
    defect = {"we": "In this tutorial we will", "whitelist": "Add it to the whitelist:"}
    target.write_text(text.replace('"# ', f'"{defect[planted]} ', 1), encoding="utf-8")
    assert _nblint([NOTEBOOKS[0]], cwd=tmp_path).returncode != 0
