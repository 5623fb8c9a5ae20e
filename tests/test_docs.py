"""`tutorial-gen docs`: the reference of docs/authoring.md, generated from the schema the loader
validates against, is complete and up to date."""

from __future__ import annotations

import inspect
import shutil

import pytest

from conftest import ROOT
from tutorial_gen.cli import main
from tutorial_gen.config import load_technique
from tutorial_gen.config.keys import HEADER, SIDECAR, TECHNIQUE_TOML
from tutorial_gen.config.schema import Key
from tutorial_gen.docs import BEGIN, DOCUMENT, END, reference
from tutorial_gen.errors import ConfigError
from tutorial_gen.publish.helpers import PROSE_HELPERS
from tutorial_gen.publish.render import TEMPLATE_FILTERS


def _sections(text: str) -> dict[str, str]:
    """The reference's sections, by their `### ` title."""
    parts = text.split("\n### ")
    return {part.split("\n", 1)[0]: part for part in parts[1:]}


def test_the_committed_reference_is_up_to_date(capsys):
    assert main(["-C", str(ROOT), "docs", "--check"]) == 0
    assert "docs/authoring.md: reference up to date" in capsys.readouterr().out


def test_every_key_of_every_table_is_in_its_section_of_the_reference():
    sections = _sections(reference())
    for root in (TECHNIQUE_TOML, SIDECAR):
        for table in root.tables():
            [section] = [s for t, s in sections.items() if t in (table.header, f"`{table.header}`")]
            for key in (*table.keys, *([table.any_key] if table.any_key else [])):
                assert f"| `{key.name}` |" in section, (table.header, key.name)
                assert " ".join(key.meaning.split()) in section, (table.header, key.name)
            for note in table.notes:
                assert note in section


def test_every_prose_helper_and_filter_is_documented_by_its_docstring():
    helpers = _sections(reference())["Prose helpers"]
    for name, function in {**PROSE_HELPERS, **TEMPLATE_FILTERS}.items():
        doc = inspect.getdoc(function)
        assert doc, f"{name} has no docstring"
        assert " ".join(doc.split()).replace("|", "\\|") in helpers, name


@pytest.fixture
def authoring(tmp_path):
    """A project holding only pyproject.toml and a copy of docs/authoring.md."""
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    shutil.copyfile(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copyfile(ROOT / DOCUMENT, root / DOCUMENT)
    return root / DOCUMENT


def test_a_stale_reference_fails_the_check_and_docs_rewrites_only_it(authoring, capsys):
    committed = authoring.read_text(encoding="utf-8")
    stale = committed.replace("| `cell_timeout` |", "| `cell_time` |")
    authoring.write_text(stale + "\nA hand-written line.\n", encoding="utf-8")
    root = str(authoring.parents[1])
    assert main(["-C", root, "docs", "--check"]) == 1
    assert "run `tutorial-gen docs`" in capsys.readouterr().err
    assert authoring.read_text(encoding="utf-8").startswith(stale)
    assert main(["-C", root, "docs"]) == 0
    assert authoring.read_text(encoding="utf-8") == committed + "\nA hand-written line.\n"
    assert main(["-C", root, "docs", "--check"]) == 0


def test_a_file_without_the_markers_is_an_error(authoring, capsys):
    text = authoring.read_text(encoding="utf-8")
    authoring.write_text(text.replace(END, ""), encoding="utf-8")
    assert main(["-C", str(authoring.parents[1]), "docs"]) == 2
    assert "has no reference markers" in capsys.readouterr().err
    assert BEGIN in authoring.read_text(encoding="utf-8")


@pytest.fixture
def one_more_key():
    """[technique] gains one documented key for the length of a test, as a new key would."""
    key = Key("example_calls", "texts", "Functions that count as applying the technique.")
    original = HEADER.keys
    object.__setattr__(HEADER, "keys", (*original, key))
    yield key
    object.__setattr__(HEADER, "keys", original)


def _set_example_calls(tiny) -> None:
    toml = tiny / "technique.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace("[[notebooks]]", 'example_calls = ["square"]\n\n[[notebooks]]', 1), "utf-8"
    )


def test_a_key_is_one_schema_entry_accepted_and_documented_together(tiny, one_more_key, capsys):
    _set_example_calls(tiny)
    load_technique(tiny)  # accepted
    assert "| `example_calls` | array of strings | no | none |" in reference()
    assert main(["-C", str(ROOT), "docs", "--check"]) == 1  # the committed reference is stale
    assert "docs/authoring.md" in capsys.readouterr().err


def test_without_its_schema_entry_the_key_is_refused(tiny):
    _set_example_calls(tiny)
    with pytest.raises(ConfigError, match="unknown key 'example_calls'"):
        load_technique(tiny)
