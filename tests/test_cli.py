"""The CLI, called in-process: exit codes and one-line errors, never a traceback."""

from __future__ import annotations

import pytest

from tutorial_gen.cli import main


@pytest.fixture(autouse=True)
def _in_repo(repo, monkeypatch):
    monkeypatch.chdir(repo)


def test_build_then_check(capsys):
    assert main(["build"]) == 0
    assert "notebooks/tiny/tiny.ipynb: written" in capsys.readouterr().out
    assert main(["build", "--check"]) == 0


def test_check_without_build_fails_with_one_line(capsys):
    assert main(["build", "--check"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: notebooks/tiny/")
    assert "tiny.ipynb" in err and "sweep.ipynb" in err
    assert "Traceback" not in err


def test_run_prints_claims_table_and_exit_code(capsys, tmp_path):
    assert main(["run", "notebooks/tiny", "--profile", "full", "--build-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "four-x" in out and "pass" in out and "unverified" in out
    assert (
        main(
            [
                "run",
                "notebooks/tiny",
                "--profile",
                "full",
                "--build-dir",
                str(tmp_path),
                "-p",
                "start=2",
            ]
        )
        == 1
    )
    assert "FAIL" in capsys.readouterr().out


def test_failing_cell_reports_file_and_line(repo, capsys, tmp_path):
    lines = (repo / "notebooks" / "tiny" / "tiny.py").read_text(encoding="utf-8").splitlines()
    line = lines.index('    raise ValueError("planted failure")') + 1
    code = main(
        ["run", "notebooks/tiny/tiny.py", "--build-dir", str(tmp_path), "-p", "fail_at=cell"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"notebooks/tiny/tiny.py:{line}: ValueError: planted failure" in err
    assert "Traceback" not in err


def test_bad_toml_is_one_line_with_suggestion(repo, capsys):
    toml = repo / "notebooks" / "tiny" / "technique.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("[overview]", "[overveiw]"), encoding="utf-8"
    )
    assert main(["build"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: notebooks/tiny/technique.toml:")
    assert "did you mean 'overview'" in err and err.count("\n") == 1


def test_render_and_render_check(capsys):
    assert main(["render"]) == 0
    assert main(["render", "--check"]) == 0


def test_path_outside_a_technique(repo, capsys):
    (repo / "loose.py").write_text("# %%\n", encoding="utf-8")
    assert main(["run", "loose.py"]) == 2
    assert "no technique.toml" in capsys.readouterr().err


def test_bad_parameter_syntax_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-p", "no-equals"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("verb", ["build", "run", "lint", "render", "check-technique"])
def test_a_folder_without_a_technique_is_the_same_error_for_every_verb(verb, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([verb, str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no technique" in err and "Traceback" not in err


@pytest.mark.parametrize("verb", ["build", "run", "lint", "render"])
def test_a_missing_path_is_the_same_error_for_every_verb(verb, capsys):
    assert main([verb, "notebooks/nope"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-5", "nan", "soon"])
def test_limits_must_be_positive(value, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["run", "--cell-timeout", value] if value != "nan" else ["run", "--budget", value])
    assert caught.value.code == 2
    assert "positive number of seconds" in capsys.readouterr().err


def test_run_names_each_executed_notebook_and_how_to_open_the_site(repo, capsys, tmp_path):
    build = tmp_path / "runs"
    assert main(["run", "notebooks/tiny", "--build-dir", str(build)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"executed: {build / 'tiny' / 'smoke' / 'tiny.ipynb'}" in lines
    assert f"executed: {build / 'tiny' / 'smoke' / 'sweep.ipynb'}" in lines
    hint = f"site: `tutorial-gen site --build-dir {build}` builds build/site/index.html"
    assert lines[-2].startswith(hint), "the hint comes last but for the verdict line"
    assert main(["site", "--build-dir", str(build)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("build/site: 6 pages (2 executed notebooks)")
    assert out[-1] == "open build/site/index.html"
    assert (repo / "build" / "site" / "tiny" / "tiny.html").is_file()
    assert main(["run", "notebooks/tiny", "--build-dir", str(build)]) == 0
    assert "site: open build/site/index.html" in capsys.readouterr().out


def test_site_refuses_to_empty_a_folder_it_did_not_build(repo, capsys):
    folder = repo / "keep"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["site", "--output", str(folder)]) == 2
    assert "is not empty and holds no site" in capsys.readouterr().err
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"
