"""Notebooks we did not write: run as they are, in their own environment, with a verdict."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from tutorial_gen.cli import main


def _notebook(path: Path, *cells: tuple[str, str]) -> Path:
    """An .ipynb of (kind, source) cells, as another author would have saved it."""
    notebook = nbformat.v4.new_notebook()
    for kind, source in cells:
        make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        notebook.cells.append(make(source))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A folder outside any tutorial_gen project: no pyproject.toml, no technique."""
    folder = tmp_path / "theirs"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_a_notebook_runs_as_it_is_without_a_project(elsewhere, capsys):
    source = _notebook(elsewhere / "grow.ipynb", ("md", "# Growing"), ("code", "x = 4\nprint(x)"))
    before = source.read_bytes()
    assert main(["run", "grow.ipynb"]) == 0
    assert source.read_bytes() == before  # the source is never touched
    executed = elsewhere / "build" / "foreign.theirs" / "smoke" / "grow.ipynb"
    outputs = nbformat.read(executed, as_version=4).cells[1].outputs
    assert outputs[0]["text"] == "4\n"
    assert "foreign.theirs/grow" in capsys.readouterr().out


def test_a_failing_cell_is_named_by_its_number(elsewhere, capsys):
    _notebook(
        elsewhere / "broken.ipynb",
        ("md", "# Broken"),
        ("code", "x = 1"),
        ("code", "raise ValueError('theirs')"),
    )
    assert main(["run", "broken.ipynb"]) == 1
    err = capsys.readouterr().err
    assert "broken.ipynb: ValueError: theirs (raised in cell 3;" in err
    assert "Traceback" not in err
    assert "executed notebook: build/foreign.theirs/smoke/broken.ipynb" in err


def test_claims_come_from_a_sidecar(elsewhere, capsys):
    _notebook(elsewhere / "grow.ipynb", ("md", "# Growing\n\nIt grows 4x."), ("code", "x = 4"))
    (elsewhere / "grow.claims.toml").write_text(
        '[metrics]\nx = "growth"\n\n[[claims]]\nid = "four-x"\nphrase = "grows 4x"\n'
        'expr = "x"\nop = ">="\nthreshold = 4\n',
        encoding="utf-8",
    )
    assert main(["run", "grow.ipynb"]) == 0
    assert "four-x" in capsys.readouterr().out
    other = elsewhere / "strict.toml"
    other.write_text(
        (elsewhere / "grow.claims.toml").read_text(encoding="utf-8").replace("= 4\n", "= 5\n"),
        encoding="utf-8",
    )
    assert main(["run", "grow.ipynb", "--claims", str(other), "--force"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_a_folder_of_notebooks_runs_each_once(elsewhere, capsys):
    for name in ("one", "two"):
        _notebook(elsewhere / "nbs" / f"{name}.ipynb", ("md", f"# {name}"), ("code", "y = 1"))
    assert main(["run", "nbs"]) == 0
    out = capsys.readouterr().out
    assert out.count("foreign.nbs/one ") == 1 and out.count("foreign.nbs/two ") == 1
    assert {p.stem for p in (elsewhere / "build" / "foreign.nbs" / "smoke").glob("*.ipynb")} == {
        "one",
        "two",
    }


def test_a_failing_shell_command_fails_the_run(elsewhere, capsys):
    _notebook(elsewhere / "shell.ipynb", ("md", "# Shell"), ("code", "!echo fine\n!false"))
    assert main(["run", "shell.ipynb"]) == 1
    err = capsys.readouterr().err
    assert "CalledProcessError: Command 'false' returned non-zero exit status 1." in err
    assert "raised in cell 2" in err


def test_the_docs_no_execute_marker_skips_a_cell(elsewhere):
    _notebook(
        elsewhere / "skipped.ipynb",
        ("md", "# Skipped"),
        ("code", "#docs_infra: no_execute\n!false"),
        ("code", "z = 1"),
    )
    assert main(["run", "skipped.ipynb"]) == 0


def _wheel(folder: Path) -> Path:
    """A one-module wheel, built by hand: installing it needs no network."""
    files = {
        "tg_probe/__init__.py": b"VALUE = 42\n",
        "tg_probe-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tg-probe\nVersion: 1.0\n",
        "tg_probe-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for name, data in files.items()
    )
    files["tg_probe-1.0.dist-info/RECORD"] = (record + "tg_probe-1.0.dist-info/RECORD,,\n").encode()
    wheel = folder / "tg_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def _packages(python: str) -> str:
    return subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
    ).stdout


def test_pip_in_a_notebook_installs_into_the_run_only(elsewhere):
    wheel = _wheel(elsewhere)
    machine = getattr(sys, "_base_executable", sys.executable)
    before = {python: _packages(python) for python in (sys.executable, machine)}
    _notebook(
        elsewhere / "installs.ipynb",
        ("md", "# Installs"),
        ("code", f"!pip install --quiet --no-index --no-deps {wheel}"),
        ("code", f"%pip install --quiet --no-index --no-deps --force-reinstall {wheel}"),
        ("code", f"!python -m pip install --quiet --no-index --no-deps --force-reinstall {wheel}"),
        ("code", "import tg_probe\nassert tg_probe.VALUE == 42"),
    )
    assert main(["run", "installs.ipynb"]) == 0
    after = {python: _packages(python) for python in (sys.executable, machine)}
    assert after == before
    assert "tg-probe" not in "".join(after.values())


def test_a_failed_download_is_a_network_need_not_a_bug(elsewhere, capsys):
    _notebook(
        elsewhere / "fetch.ipynb",
        ("md", "# Fetch"),
        ("code", "import urllib.request"),
        # a closed port on this machine: the download fails as it does offline
        ("code", "data = urllib.request.urlopen('http://127.0.0.1:9/mnist.npz').read()"),
    )
    assert main(["run", "fetch.ipynb"]) == 1
    err = capsys.readouterr().err
    assert (
        "fetch.ipynb: needs the network: downloads mnist.npz (http://127.0.0.1:9/mnist.npz)" in err
    )
    assert "in cell 3" in err and "Traceback" not in err


def test_offline_refuses_a_download_before_anything_runs(elsewhere, capsys):
    _notebook(
        elsewhere / "mnist.ipynb",
        ("md", "# MNIST"),
        ("code", "import tf_keras as keras"),
        ("code", "(x, y), _ = keras.datasets.mnist.load_data()"),
    )
    assert main(["run", "mnist.ipynb", "--offline"]) == 1
    err = capsys.readouterr().err
    assert "mnist.ipynb: needs the network: downloads the mnist dataset" in err
    assert "in cell 3" in err and "nothing was run" in err
    assert not (elsewhere / "build").exists()
