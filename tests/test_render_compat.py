"""Render: the overview's API compatibility matrix, from results/compat.json."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT
from tutorial_gen.cli import main
from tutorial_gen.config import load_technique
from tutorial_gen.errors import CheckFailed
from tutorial_gen.model import CompatCell, CompatFile, CompatStatus, StackRun
from tutorial_gen.publish.render import render_overview
from tutorial_gen.run.store import compat_path, load_results
from tutorial_gen.verbs import check_technique, render_overviews

SHIPPED = sorted(p.parent for p in (ROOT / "notebooks").glob("*/technique.toml"))
PASS = CompatCell(CompatStatus.PASS, 10.0)
ERROR = "ValueError: <script>alert(1)</script> | shape (1|2)"
NOTE = "TF 2.21 without TF_USE_LEGACY_KERAS: <b>Keras 3</b> & tfmot | no"


def _pins(tensorflow: str, tfmot: str, legacy: bool = True) -> dict[str, str]:
    keras = {"tf-keras": tensorflow} if legacy else {}
    return {"tensorflow": tensorflow, **keras, "tensorflow-model-optimization": tfmot}


def _compat(*, day: str = "2026-12-01") -> CompatFile:
    """One stack that passes, one supported stack on which the tutorial fails, and keras3."""
    return CompatFile(
        "tiny",
        "smoke",
        {
            "tf2-16": StackRun(
                _pins("2.16.2", "0.8.0"),
                True,
                True,
                None,
                "2026-11-30T09:00:00+00:00",
                {"tiny": PASS, "sweep": PASS},
            ),
            "tf2-20": StackRun(
                _pins("2.20.0", "0.8.0"),
                True,
                True,
                None,
                f"{day}T10:00:00+00:00",
                {"tiny": CompatCell(CompatStatus.FAIL, 3.0, ERROR, 17), "sweep": PASS},
            ),
            "keras3": StackRun(
                _pins("2.21.0", "0.8.1", legacy=False),
                False,
                False,
                NOTE,
                f"{day}T11:00:00+00:00",
                {
                    "tiny": CompatCell(
                        CompatStatus.FAIL, 1.0, "ValueError: not a Keras 2 model", 9
                    ),
                    "sweep": CompatCell(CompatStatus.CLAIM_FAIL, 2.0, claims={"four-x": "fail"}),
                },
            ),
        },
    )


def _section(text: str) -> str:
    return text[text.index("### API compatibility") : text.index("### General support matrix")]


def _page(project, tiny, compat: CompatFile | None) -> str:
    technique = load_technique(tiny)
    return render_overview(technique, project, load_results(technique), compat)


def test_the_matrix_has_a_row_per_notebook_and_a_column_per_stack(project, tiny):
    section = _section(_page(project, tiny, _compat()))
    assert "*   Plain Python integers." in section  # the APIs of technique.toml stay
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table[0] == (
        "| Notebook | tf2-16<br />TF 2.16.2<br />tfmot 0.8.0 | tf2-20<br />TF 2.20.0<br />"
        "tfmot 0.8.0 | keras3<br />TF 2.21.0<br />tfmot 0.8.1<br />not supported |"
    )
    assert table[1] == "|---|---|---|---|"
    assert table[2].startswith("| [A tiny tutorial](https://colab.research.google.com/")
    assert table[2].endswith("/tiny.ipynb) | passes | fails [1] | fails [2] |")
    assert table[3].endswith("/sweep.ipynb) | passes | passes | fails [3] |")
    assert len(table) == 4


def test_the_prose_is_derived_from_the_measurement(project, tiny):
    section = _section(_page(project, tiny, _compat()))
    assert "Every notebook passed on TensorFlow 2.16.2 with tf-keras and tfmot 0.8.0." in section
    assert "On TensorFlow 2.20.0 (tf2-20), 1 of 2 notebooks fails: A tiny tutorial (line 17)." in (
        section
    )
    assert (
        "TensorFlow 2.21.0 (keras3) is not a supported stack (TF 2.21 without "
        "TF_USE_LEGACY_KERAS: &lt;b>Keras 3&lt;/b> &amp; tfmot | no): on it, every notebook "
        "fails: A tiny tutorial (line 9) and A tiny sweep (ran, but claim four-x did not hold)."
    ) in section
    assert "in the smoke profile, between 2026-11-30 and 2026-12-01:" in section


@pytest.mark.parametrize("folder", SHIPPED, ids=[f.name for f in SHIPPED])
def test_no_shipped_api_section_writes_a_release_by_hand(folder):
    api = load_technique(folder).overview["api"]
    assert not [item for item in api if re.search(r"\b(TensorFlow|tfmot|tf-keras) \d", item)]


def test_a_matrix_measured_in_one_day_gives_that_day(project, tiny):
    compat = _compat(day="2026-11-30")
    assert "in the smoke profile, on 2026-11-30:" in _section(_page(project, tiny, compat))


def test_every_passing_release_is_named(project, tiny):
    compat = _compat()
    compat.stacks["tf2-20"].notebooks["tiny"] = PASS
    section = _section(_page(project, tiny, compat))
    assert (
        "Every notebook passed on TensorFlow 2.16.2 and 2.20.0 with tf-keras and tfmot 0.8.0."
        in section
    )
    assert "On TensorFlow 2.20.0" not in section


def test_each_failure_is_listed_with_its_line_and_error_escaped(project, tiny):
    section = _section(_page(project, tiny, _compat()))
    assert (
        "1.  tf2-20 (TF 2.20.0), A tiny tutorial at `tiny.py:17`: failed: "
        "`ValueError: <script>alert(1)</script> | shape (1|2)`"
    ) in section
    assert "2.  keras3 (TF 2.21.0), A tiny tutorial at `tiny.py:9`: failed:" in section
    assert "3.  keras3 (TF 2.21.0), A tiny sweep: ran, but claim four-x did not hold" in section
    outside_code = re.sub(r"(`+).*?\1", "", section)
    assert "<script>" not in outside_code and "<b>" not in outside_code


def test_markup_and_pipes_from_the_file_cannot_break_the_table(project, tiny):
    compat = _compat()
    compat.stacks = {"tf|<i>x</i>": compat.stacks["tf2-16"], **compat.stacks}
    section = _section(_page(project, tiny, compat))
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert "| tf&#124;&lt;i>x&lt;/i><br />TF 2.16.2" in table[0]
    assert {line.count("|") for line in table} == {6}  # five columns, no cell split
    assert "<i>" not in section


def test_a_stack_that_could_not_be_installed_is_one_failure(project, tiny):
    compat = _compat()
    compat.stacks["tf2-20"] = StackRun(
        _pins("2.20.0", "0.8.0"), True, True, None, "", {}, install_error="no wheel | <here>"
    )
    section = _section(_page(project, tiny, compat))
    assert (
        "On TensorFlow 2.20.0 (tf2-20), the stack could not be installed, so no notebook ran."
        in section
    )
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table[2].endswith(" | passes | fails [1] | fails [2] |")
    assert table[3].endswith(" | passes | fails [1] | fails [3] |")
    assert (
        "1.  tf2-20 (TF 2.20.0), every notebook: the stack could not be installed: "
        "`no wheel | <here>`"
    ) in section


def test_without_a_compat_file_the_page_says_how_to_measure_it(project, tiny):
    section = _section(_page(project, tiny, None))
    assert "*   Plain Python integers." in section
    assert "have not been measured yet" in section
    assert "`tutorial-gen compat notebooks/tiny` runs them on each tested stack" in section
    assert "| Notebook |" not in section and "passes" not in section


def test_render_and_its_check_read_the_compat_file(project, tiny):
    technique = load_technique(tiny)
    path = compat_path(technique)
    path.write_text(json.dumps(_compat().to_json()), encoding="utf-8")
    render_overviews([technique], project)
    page = (tiny / "overview.md").read_text(encoding="utf-8")
    assert "| [A tiny tutorial](" in page and "fails [1]" in page
    render_overviews([technique], project, check=True)
    checklist = {name: ok for name, ok, _ in check_technique(technique, project)}
    assert checklist["overview page complete"] is True  # compared with the matrix in it
    path.unlink()
    with pytest.raises(CheckFailed):
        render_overviews([technique], project, check=True)
    checklist = {name: ok for name, ok, _ in check_technique(technique, project)}
    assert checklist["overview page complete"] is False


def test_an_unreadable_compat_file_is_an_error_naming_it(repo, tiny, monkeypatch, capsys):
    (tiny / "results" / "compat.json").write_text('{"schema": 99}', encoding="utf-8")
    monkeypatch.chdir(repo)
    assert main(["render"]) == 2
    err = capsys.readouterr().err
    assert "notebooks/tiny/results/compat.json" in err and "schema 99" in err
