"""`run --clean-env`: the install cell alone must make the notebook run."""

from __future__ import annotations

from tutorial_gen.config import load_technique
from tutorial_gen.model import RunRequest
from tutorial_gen.run.execute import run_notebook


def test_clean_environment_installs_what_the_setup_cell_pins(project, tiny, tmp_path):
    technique = load_technique(tiny)
    run = run_notebook(
        technique,
        technique.notebooks["tiny"],
        project,
        RunRequest(profile="smoke", build_dir=tmp_path, clean_env=True),
    )
    assert run.status == "ok", run.error
    [env] = (tmp_path / "envs").iterdir()
    site = next(env.glob("lib/python*/site-packages"))
    assert any(p.name.startswith("numpy-2.4.6") for p in site.iterdir()), "installed by the cell"
    assert not any(p.name.startswith("nbformat") for p in site.iterdir()), "nothing else"


def test_an_import_the_setup_cell_misses_fails_only_in_a_clean_environment(project, tiny, tmp_path):
    script = tiny / "tiny.py"
    # a dynamic import: no static analysis sees it, so the install cell does not cover it
    script.write_text(
        script.read_text(encoding="utf-8").replace(
            "import time\n", 'import time\n\nimportlib_yaml = __import__("yaml")\n'
        ),
        encoding="utf-8",
    )
    technique = load_technique(tiny)
    notebook = technique.notebooks["tiny"]
    assert (
        run_notebook(technique, notebook, project, RunRequest(build_dir=tmp_path / "own")).status
        == "ok"
    )
    clean = run_notebook(
        technique, notebook, project, RunRequest(build_dir=tmp_path / "clean", clean_env=True)
    )
    assert clean.status == "error"
    assert "ModuleNotFoundError: No module named 'yaml'" in str(clean.error)
