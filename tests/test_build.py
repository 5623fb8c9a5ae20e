"""Build: script -> Colab notebook, deterministic, checked, and strict about bad scripts."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from conftest import GOLDEN
from tutorial_gen.build import build, build_notebook
from tutorial_gen.build.requirements import requirements_for, setup_source
from tutorial_gen.errors import CheckFailed, ScriptError


def test_matches_golden_notebook(project, tiny):
    built = build_notebook(tiny / "tiny.py", project)
    assert built.text == (GOLDEN / "tiny.ipynb").read_text(encoding="utf-8")


def test_notebook_is_valid_and_colab_ready(project, tiny):
    notebook = build_notebook(tiny / "tiny.py", project).notebook
    nbformat.validate(notebook)
    assert (notebook.nbformat, notebook.nbformat_minor) == (4, 0)  # the TensorFlow docs' form
    assert notebook.metadata["colab"] == {"name": "tiny.ipynb", "toc_visible": True}
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    sources = [c.source for c in notebook.cells]
    assert sources[0] == "##### Copyright 2026 Example Authors."
    assert sources[1].startswith("#@title Licensed under the Apache License")
    assert notebook.cells[1].metadata["cellView"] == "form"
    assert sources[2] == "# A tiny tutorial"
    base = "github/example/tutorials/blob/main/notebooks/tiny/tiny.ipynb"
    assert f"https://colab.research.google.com/{base}" in sources[3]
    assert "https://github.com/example/tutorials/blob/main/notebooks/tiny/tiny.ipynb" in sources[3]
    assert (
        "https://raw.githubusercontent.com/example/tutorials/main/notebooks/tiny/tiny.ipynb"
        in sources[3]
    )
    assert all(c.get("outputs", []) == [] for c in notebook.cells)
    ids = [c.metadata["id"] for c in notebook.cells]
    assert len(set(ids)) == len(ids)
    assert all("tags" not in c.metadata for c in notebook.cells)


def test_snippet_is_inlined_and_markers_are_gone(project, tiny):
    text = build_notebook(tiny / "tiny.py", project).text
    assert "def ratio(a, b):" in text
    assert "tutorial-gen: include" not in text
    assert "tutorial-gen: setup" not in text


def test_parameters_tag_is_kept_for_runs(project, tiny):
    built = build_notebook(tiny / "tiny.py", project)
    tagged = [
        c for c, tags in zip(built.notebook.cells, built.tags, strict=True) if "parameters" in tags
    ]
    assert len(tagged) == 1 and tagged[0].source.startswith("start = 4")


def test_cell_lines_point_into_the_script(project, tiny):
    built = build_notebook(tiny / "tiny.py", project)
    lines = (tiny / "tiny.py").read_text(encoding="utf-8").splitlines()
    for cell, start in zip(built.notebook.cells, built.source_lines, strict=True):
        if start is not None and cell.cell_type == "code":
            assert lines[start - 1] == cell.source.splitlines()[0]


def test_build_is_deterministic_and_writes_only_on_change(project, tiny):
    script = tiny / "tiny.py"
    [first] = build([script], project)
    assert first.changed
    mtime = script.with_suffix(".ipynb").stat().st_mtime_ns
    [second] = build([script], project)
    assert not second.changed
    assert script.with_suffix(".ipynb").stat().st_mtime_ns == mtime


def test_check_names_a_stale_notebook_and_writes_nothing(project, tiny):
    script = tiny / "tiny.py"
    build([script], project)
    ipynb = script.with_suffix(".ipynb")
    data = json.loads(ipynb.read_text(encoding="utf-8"))
    data["cells"][4]["source"] = ["edited by hand"]
    ipynb.write_text(json.dumps(data), encoding="utf-8")
    before = ipynb.read_bytes()
    with pytest.raises(CheckFailed, match="notebooks/tiny/tiny.ipynb"):
        build([script], project, check=True)
    assert ipynb.read_bytes() == before


def test_check_fails_when_notebook_is_missing(project, tiny):
    with pytest.raises(CheckFailed):
        build([tiny / "tiny.py"], project, check=True)


def _script(folder: Path, text: str) -> Path:
    path = folder / "bad.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_syntax_error_names_script_line(project, tiny):
    script = _script(tiny, "# %% [markdown]\n# # Title\n\n# %%\nx = 1\ny = (\n")
    with pytest.raises(ScriptError) as error:
        build([script], project)
    assert error.value.path == script and error.value.line == 6
    assert not script.with_suffix(".ipynb").exists()


def test_empty_script(project, tiny):
    with pytest.raises(ScriptError, match="empty"):
        build_notebook(_script(tiny, "\n"), project)


def test_non_utf8_script(project, tiny):
    script = tiny / "bad.py"
    script.write_bytes(b"# %%\nx = '\xff'\n")
    with pytest.raises(ScriptError, match="not UTF-8"):
        build_notebook(script, project)


def test_script_without_title(project, tiny):
    with pytest.raises(ScriptError, match="Title"):
        build_notebook(_script(tiny, "# %%\nx = 1\n"), project)


def test_missing_snippet_names_line(project, tiny):
    script = _script(tiny, "# %% [markdown]\n# # T\n\n# %%\n# tutorial-gen: include nothere\n")
    with pytest.raises(ScriptError, match="snippet 'nothere'") as error:
        build_notebook(script, project)
    assert error.value.line == 5


def test_unpinned_import_is_an_error(project, tiny):
    script = _script(tiny, "# %% [markdown]\n# # T\n\n# %%\nimport jinja2\n")
    with pytest.raises(ScriptError, match="does not pin"):
        build_notebook(script, project)


def test_setup_cell_pins_what_is_imported(project, tiny):
    requirements = requirements_for(["import numpy as np\nimport json\n"], project, tiny / "x.py")
    assert requirements == {"numpy": "2.4.6"}
    source = setup_source(requirements)
    assert '"numpy": "2.4.6"' in source
    compile(source, "setup", "exec")


def test_setup_cell_installs_only_what_differs(project, tiny, tmp_path, monkeypatch):
    import subprocess

    calls = []

    def pip(command, **kw):
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr("subprocess.run", pip)
    namespace: dict = {}
    pins = {"no-such-distribution": "1.0", "pytest": __import__("pytest").__version__}
    exec(setup_source(pins), namespace)
    assert len(calls) == 1 and calls[0][-1] == "no-such-distribution==1.0"


def test_generated_files_get_the_usual_permissions(project, tiny):
    import os
    import stat

    build([tiny / "tiny.py"], project)
    mode = stat.S_IMODE((tiny / "tiny.ipynb").stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def _two_snippets(project, tiny, first: str, second: str) -> None:
    (project.snippets_dir / "base.py").write_text(
        '"""A base helper."""\n\n\ndef base_value():\n    return 2\n', encoding="utf-8"
    )
    (project.snippets_dir / "uses.py").write_text(
        '"""A helper on top of base."""\n\n\ndef doubled():\n    return 2 * base_value()\n',
        encoding="utf-8",
    )
    script = tiny / "tiny.py"
    text = script.read_text(encoding="utf-8")
    script.write_text(
        text.replace(
            "# tutorial-gen: include helpers",
            f"# tutorial-gen: include helpers\n\n# %%\n# tutorial-gen: include {first}\n\n"
            f"# %%\n# tutorial-gen: include {second}",
        ),
        encoding="utf-8",
    )


def test_snippets_are_collapsed_form_cells_titled_with_their_source(project, tiny):
    built = build_notebook(tiny / "tiny.py", project)
    [cell] = [c for c in built.notebook.cells if "helpers.py" in c.source]
    first = cell.source.splitlines()[0]
    assert (
        first
        == "#@title Helpers shared by the fixture notebooks (from notebooks/_snippets/helpers.py)"
    )
    assert cell.metadata["cellView"] == "form"


def test_a_snippet_included_before_the_one_it_needs_is_an_error(project, tiny):
    _two_snippets(project, tiny, "uses", "base")
    with pytest.raises(
        ScriptError,
        match="'uses' uses 'base_value' from snippet 'base', which is included after it",
    ) as caught:
        build_notebook(tiny / "tiny.py", project)
    assert caught.value.hint == "include base before uses"
    lines = (tiny / "tiny.py").read_text(encoding="utf-8").splitlines()
    assert lines[caught.value.line - 1] == "# tutorial-gen: include uses"


def test_snippets_in_their_order_build(project, tiny):
    _two_snippets(project, tiny, "base", "uses")
    sources = [c.source for c in build_notebook(tiny / "tiny.py", project).notebook.cells]
    assert any("def doubled" in s for s in sources)


def test_a_needed_snippet_never_included_is_an_error(project, tiny):
    _two_snippets(project, tiny, "uses", "helpers")
    with pytest.raises(ScriptError, match="from snippet 'base', which is not included"):
        build_notebook(tiny / "tiny.py", project)
