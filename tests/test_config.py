"""technique.toml is validated eagerly, with file, line and a suggestion."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tutorial_gen.config import line_of, load_project, load_technique
from tutorial_gen.config.keys import CLAIM, NOTEBOOK, TECHNIQUE_TOML
from tutorial_gen.errors import ConfigError


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_fixture_loads(tiny):
    technique = load_technique(tiny)
    assert technique.name == "Squaring"
    assert list(technique.notebooks) == ["tiny", "sweep"]
    assert technique.notebooks["sweep"].role == "results"
    assert technique.notebooks["tiny"].profiles["smoke"] == {"start": 3}
    assert [c.id for c in technique.claims] == ["four-x", "grows", "phone"]


def test_unknown_key_names_line_and_closest_key(tiny):
    _edit(tiny / "technique.toml", 'descriptor = "', 'descripton = "')
    with pytest.raises(ConfigError) as error:
        load_technique(tiny)
    assert error.value.line == 3
    assert "did you mean 'descriptor'" in str(error.value)
    assert str(error.value).startswith(str(tiny / "technique.toml"))


def test_claim_naming_an_undeclared_metric(tiny):
    _edit(tiny / "technique.toml", 'expr = "growth"', 'expr = "grwoth * 1"')
    with pytest.raises(ConfigError, match="'grwoth'.*did you mean 'growth'"):
        load_technique(tiny)


def test_unknown_comparator(tiny):
    _edit(tiny / "technique.toml", 'op = ">="', 'op = "=>"')
    with pytest.raises(ConfigError, match="unknown comparator"):
        load_technique(tiny)


@pytest.mark.parametrize("threshold", ["4", "4.0"])
def test_equality_takes_a_whole_number(tiny, threshold):
    _edit(
        tiny / "technique.toml", 'op = ">="\nthreshold = 4', f'op = "=="\nthreshold = {threshold}'
    )
    [claim] = [c for c in load_technique(tiny).claims if c.id == "four-x"]
    assert (claim.op, claim.threshold) == ("==", 4)


@pytest.mark.parametrize("op", ["==", "!="])
def test_equality_refuses_a_fraction(tiny, op):
    _edit(tiny / "technique.toml", 'op = ">="\nthreshold = 4', f'op = "{op}"\nthreshold = 4.5')
    with pytest.raises(ConfigError, match=f"{op} compares exactly, for counts") as error:
        load_technique(tiny)
    assert "whole number, not 4.5" in error.value.message
    assert error.value.line == line_of(tiny / "technique.toml", "four-x")


def test_technique_calls_name_the_calls_that_apply_the_technique(tiny):
    assert load_technique(tiny).technique_calls == ()
    _edit(tiny / "technique.toml", 'descriptor = "', 'technique_calls = ["square"]\ndescriptor = "')
    assert load_technique(tiny).technique_calls == ("square",)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"square"', "'technique_calls' must be an array of strings, not str 'square'"),
        ('["lowrank.factorize"]', "'lowrank.factorize' is not the name of a function"),
        ("[3]", "'technique_calls' must be an array of strings, not list [3]"),
    ],
)
def test_technique_calls_are_names(tiny, value, message):
    _edit(tiny / "technique.toml", 'descriptor = "', f'technique_calls = {value}\ndescriptor = "')
    with pytest.raises(ConfigError) as error:
        load_technique(tiny)
    assert message in error.value.message and error.value.line == 3


def test_invalid_toml_reports_its_line(tiny):
    _edit(tiny / "technique.toml", 'name = "Squaring"', 'name = "Squaring')
    with pytest.raises(ConfigError) as error:
        load_technique(tiny)
    assert error.value.line == 2


def test_missing_technique_toml(tmp_path):
    with pytest.raises(ConfigError, match="technique.toml is missing"):
        load_technique(tmp_path)


def test_project_reads_pins_and_settings(repo):
    project = load_project(repo)
    assert project.pins == {"numpy": "2.4.6"}
    assert project.repository == "https://github.com/example/tutorials"


def test_no_deps_are_exact_pins_installed_without_their_dependencies(repo):
    assert load_project(repo).no_deps == {}
    _edit(
        repo / "pyproject.toml",
        'branch = "main"',
        'branch = "main"\nno_deps = ["Scatter_Text==0.2.2"]',
    )
    assert load_project(repo).no_deps == {"scatter-text": "0.2.2"}


@pytest.mark.parametrize("value", ['["scattertext>=0.2"]', '"scattertext==0.2.2"', "[3]"])
def test_no_deps_refuses_what_is_no_exact_pin(repo, value):
    _edit(repo / "pyproject.toml", 'branch = "main"', f'branch = "main"\nno_deps = {value}')
    with pytest.raises(ConfigError, match="no_deps must be an array of exact pins") as error:
        load_project(repo)
    assert error.value.line == line_of(repo / "pyproject.toml", "no_deps")


def test_project_rejects_unknown_setting(repo):
    _edit(repo / "pyproject.toml", 'branch = "main"', 'brnach = "main"')
    with pytest.raises(ConfigError, match="did you mean 'branch'"):
        load_project(repo)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'role = "tutorial"',
            'role = "tutorial"\ncell_timeout = "soon"',
            "'cell_timeout' must be a whole number of seconds, not str 'soon'",
        ),
        ('role = "tutorial"', "role = 5", "'role' must be a string, not int 5"),
        (
            'role = "tutorial"',
            'role = "tutorial"\ncell_timeout = 0',
            "cell_timeout must be positive",
        ),
        (
            'profiles = ["full"]',
            'profiles = "full"',
            "'profiles' must be an array of profile names",
        ),
    ],
)
def test_a_value_of_the_wrong_type_names_its_line(tiny, old, new, message):
    _edit(tiny / "technique.toml", old, new)
    with pytest.raises(ConfigError) as error:
        load_technique(tiny)
    assert message in error.value.message
    assert error.value.line is not None


def test_metrics_as_an_array_is_refused(tiny):
    toml = tiny / "technique.toml"
    text = toml.read_text(encoding="utf-8")
    start = text.index("[notebooks.metrics]")
    end = text.index("\n\n", start)
    text = text[:start] + text[end:]  # the table goes; an array takes its place
    toml.write_text(
        text.replace('role = "tutorial"', "role = \"tutorial\"\nmetrics = ['squared']", 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="must be a table"):
        load_technique(tiny)


@pytest.mark.parametrize("script", ["../../outside.py", "/etc/hostname", "linked.py"])
def test_a_script_outside_its_technique_folder_is_refused(tiny, script):
    (tiny.parent.parent / "outside.py").write_text("# %%\n", encoding="utf-8")
    (tiny / "linked.py").symlink_to(tiny.parent.parent / "outside.py")
    _edit(tiny / "technique.toml", 'script = "tiny.py"', f'script = "{script}"')
    with pytest.raises(ConfigError, match="is not a file inside the technique folder") as error:
        load_technique(tiny)
    assert error.value.line is not None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('tips = ["Start small."]', 'tips = "Start small."', "'tips' must be an array of strings"),
        (
            'summary = "Squaring multiplies a number by itself."',
            "summary = 5",
            "'summary' must be a string",
        ),
    ],
)
def test_an_overview_value_of_the_wrong_shape_names_its_line(tiny, old, new, message):
    _edit(tiny / "technique.toml", old, new)
    with pytest.raises(ConfigError) as error:
        load_technique(tiny)
    assert message in error.value.message
    assert error.value.line is not None


def _toml(value) -> str:
    """`value` as TOML: tables and arrays inline, so any parsed file can be written back."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _instances(data, table):
    """(table, one dict of the file it describes) for every table of the schema found in `data`."""
    yield table, data
    for key in table.keys:
        if key.fields is None or key.name not in data:
            continue
        values = data[key.name] if key.kind == "tables" else [data[key.name]]
        for value in values[:1]:
            yield from _instances(value, key.fields)


def _fixture_with_every_table(tiny: Path) -> dict:
    data = tomllib.loads((tiny / "technique.toml").read_text(encoding="utf-8"))
    data["overview"]["published_results"] = [
        {"model": "M", "baseline": "1", "result": "2", "setting": "s", "source": "paper"}
    ]
    return data


def test_every_table_of_the_schema_refuses_a_key_it_does_not_document(tiny):
    data = _fixture_with_every_table(tiny)
    closed = [t for t in TECHNIQUE_TOML.tables() if t.any_key is None]
    found = {id(t): instance for t, instance in _instances(data, TECHNIQUE_TOML)}
    assert {t.name for t in closed} == {t.name for t in closed if id(t) in found}
    for table in closed:
        found[id(table)]["undocumented_key"] = 1
        (tiny / "technique.toml").write_text(
            "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in data.items()), encoding="utf-8"
        )
        with pytest.raises(ConfigError, match="unknown key 'undocumented_key'"):
            load_technique(tiny)
        del found[id(table)]["undocumented_key"]


def test_a_nested_table_missing_a_required_key_is_refused_when_loaded(tiny):
    _edit(tiny / "technique.toml", "year = 300", "")
    with pytest.raises(ConfigError, match=r"overview\.references\[0\]: needs 'year'"):
        load_technique(tiny)


def test_defaults_come_from_the_schema(tiny):
    technique = load_technique(tiny)
    assert technique.notebooks["tiny"].cell_timeout == NOTEBOOK.key("cell_timeout").default
    assert technique.claims[1].profiles == tuple(CLAIM.key("profiles").default)
    assert technique.overview["results"][1]["hyperparameter_format"] == "pct"


def test_the_declared_stacks_load_and_the_newest_is_the_projects_own():
    from conftest import ROOT

    project = load_project(ROOT)
    assert [s.tensorflow for s in project.stacks.values() if s.legacy_keras] == [
        "2.16.2",
        "2.17.1",
        "2.18.1",
        "2.19.1",
        "2.20.0",
        "2.21.0",
    ]
    newest = [s for s in project.stacks.values() if s.supported][-1]
    assert all(project.pins[name] == version for name, version in newest.pins.items())
    keras3 = project.stacks["keras3"]
    assert not keras3.legacy_keras and not keras3.supported and "tf-keras" not in keras3.pins


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'pins = { tensorflow = "2.21.0" }',
            "pins no tensorflow-model-optimization, ai-edge-litert, tf-keras",
        ),
        ('pins = { tensorflow = ">=2.21" }', "pins must be a table of exact versions"),
        ('pins = { tensorflow = "2.21.0" }\nlegacy = true', "unknown key"),
        ("pins = 3", "pins must be a table of exact versions"),
    ],
)
def test_a_stack_says_what_is_wrong_with_it(repo, table, message):
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8") + f"\n[tool.tutorial_gen.stacks.old]\n{table}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as error:
        load_project(repo)
    assert message in error.value.message
    assert error.value.path == pyproject
