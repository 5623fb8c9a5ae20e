"""Render: the overview page from technique.toml and measured results."""

from __future__ import annotations

import json
import re

import pytest

from conftest import GOLDEN
from tutorial_gen.config import load_technique
from tutorial_gen.errors import CheckFailed, ConfigError
from tutorial_gen.model import ResultRow
from tutorial_gen.publish.formats import down, pct, size, times
from tutorial_gen.publish.plot import accuracy_vs_size_svg
from tutorial_gen.publish.render import render_files, render_overview
from tutorial_gen.run.store import load_results
from tutorial_gen.verbs import render_overviews

TEMPLATE_SECTIONS = [
    "## Overview",
    "### API compatibility",
    "### General support matrix",
    "## Results",
    "## Examples",
    "### Tips",
    "## References",
]


def _files(project, tiny):
    technique = load_technique(tiny)
    return render_files(technique, project, load_results(technique))


def _overview(project, tiny):
    technique = load_technique(tiny)
    return render_overview(technique, project, load_results(technique))


def test_matches_golden_overview(project, tiny):
    assert _overview(project, tiny) == (GOLDEN / "tiny_overview.md").read_text(encoding="utf-8")


def test_every_template_section_is_there(project, tiny):
    text = _overview(project, tiny)
    for section in TEMPLATE_SECTIONS:
        assert f"\n{section}\n" in text, section
    assert "unverified (not_measured: needs a phone)" in text
    assert "Numbers grow 4.0x" in text


def test_numbers_come_from_the_results(project, tiny):
    results = tiny / "results" / "full.json"
    data = json.loads(results.read_text(encoding="utf-8"))
    data["claims"][0]["measured"] = 7.25
    results.write_text(json.dumps(data), encoding="utf-8")
    assert "Numbers grow 7.2x" in _overview(project, tiny)


def test_numbers_measured_over_seeds_show_their_range(project, tiny):
    results = tiny / "results" / "full.json"
    data = json.loads(results.read_text(encoding="utf-8"))
    data["claims"][0]["measured"] = 4.0
    data["claims"][0]["per_seed"] = [3.9, 4.0, 4.2]
    results.write_text(json.dumps(data), encoding="utf-8")
    assert "Numbers grow 4.0x (3.9x–4.2x over 3 seeds)" in _overview(project, tiny)


def test_points_give_an_accuracy_change_with_its_seed_range():
    from tutorial_gen.publish.formats import Measured, points

    assert points(0.0096) == "0.96 points"
    assert (
        points(Measured(0.0096, [0.0064, 0.0096, 0.0109])) == "0.96 points (0.64–1.09 over 3 seeds)"
    )
    assert points(None) == "n/a"
    assert pct(Measured(0.8, [0.8, 0.8001, 0.7999]), 0) == "80%"  # no range the digits hide


def test_a_missing_required_section_is_an_error(project, tiny):
    toml = tiny / "technique.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('tips = ["Start small."]\n', ""), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="needs 'tips'"):
        _overview(project, tiny)


def test_a_surviving_placeholder_is_an_error(project, tiny):
    toml = tiny / "technique.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            'summary = "Squaring', 'summary = "{technique name} squaring'
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"placeholder '\{technique name\}'"):
        _overview(project, tiny)


def test_quoting_an_unknown_claim_is_an_error(project, tiny):
    toml = tiny / "technique.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("claim('four-x')", "claim('nope')"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="claim 'nope'"):
        _overview(project, tiny)


def test_missing_results_say_what_to_run(project, tiny):
    (tiny / "results" / "full.json").unlink()
    with pytest.raises(ConfigError, match="tutorial-gen run tiny --profile full"):
        _overview(project, tiny)


def test_check_detects_drift(project, tiny):
    technique = load_technique(tiny)
    assert render_overviews([technique], project) == [
        tiny / "overview.md",
        tiny / "overview_accuracy_vs_size_2.svg",
    ]
    render_overviews([technique], project, check=True)
    (tiny / "overview.md").write_text("stale\n", encoding="utf-8")
    with pytest.raises(CheckFailed):
        render_overviews([technique], project, check=True)
    assert (tiny / "overview.md").read_text(encoding="utf-8") == "stale\n"


def test_formatters():
    assert times(3.456) == "3.5x"
    assert pct(0.89123) == "89.12%"
    assert size(24321) == "24.3 KB" and size(1460000) == "1.46 MB" and size(512) == "512 B"
    assert down(9.97) == "9" and down(9.97, 1) == "9.9"
    assert times(None) == pct(None) == size(None) == "n/a"


def test_sweep_rows_give_a_deployment_table_and_a_plot(project, tiny):
    files = _files(project, tiny)
    text = files[tiny / "overview.md"]
    assert (
        "| cube | start 3 | 6.0 KB | 1.0 KB | 0.300 ms (0.270 ms to 0.330 ms) | 12.3 KB |" in text
    )
    assert "![Sweep: accuracy against zipped size](overview_accuracy_vs_size_2.svg)" in text
    svg = files[tiny / "overview_accuracy_vs_size_2.svg"]
    assert svg == (GOLDEN / "tiny_overview_accuracy_vs_size_2.svg").read_text(encoding="utf-8")
    assert _files(project, tiny) == files  # deterministic bytes


def test_tables_of_one_task_come_under_one_heading(project, tiny):
    toml = tiny / "technique.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('title = "Numbers"', 'title = "Numbers: squares"')
    text = text.replace('title = "Sweep"', 'title = "Numbers: cubes"\naccuracy_metric = "mAP@0.5"')
    toml.write_text(
        text.replace(
            'accuracy_metric = "mAP@0.5"\naccuracy_metric = "value"', 'accuracy_metric = "mAP@0.5"'
        ),
        encoding="utf-8",
    )
    files = _files(project, tiny)
    page = files[tiny / "overview.md"]
    assert "\n### Numbers\n\n#### Squares\n" in page
    assert "\n#### Cubes\n" in page and page.count("\n### Numbers\n") == 1
    assert "mAP@0.5 (%)" in files[tiny / "overview_accuracy_vs_size_2.svg"]  # the table's metric


def test_plot_needs_two_points():
    assert accuracy_vs_size_svg([ResultRow(accuracy=0.9, size=10)], "one") is None


def _with_summary(tiny, summary: str) -> None:
    toml = tiny / "technique.toml"
    text = toml.read_text(encoding="utf-8").replace(
        'summary = "Squaring multiplies a number by itself."', f"summary = {json.dumps(summary)}"
    )
    toml.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    "summary",
    [
        "{{ technique.folder }}",  # the template sees plain data: no paths to reach files through
        "{{ claim.__globals__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ range(10**12) | list }}",
        "{{ lipsum.__globals__['os'].listdir('/') }}",
    ],
)
def test_prose_cannot_reach_outside_the_sandbox(project, tiny, summary, monkeypatch, capsys):
    from tutorial_gen.cli import main

    _with_summary(tiny, summary)
    with pytest.raises(ConfigError, match="does not render"):
        _overview(project, tiny)
    monkeypatch.chdir(tiny.parent.parent)
    before = sorted(p.name for p in tiny.iterdir())
    assert main(["render", "notebooks/tiny"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "technique.toml" in err and "Traceback" not in err
    assert sorted(p.name for p in tiny.iterdir()) == before  # nothing written, nothing removed


def test_markup_from_technique_toml_and_results_is_shown_as_text(project, tiny):
    _with_summary(tiny, "Squaring <script>alert(1)</script> & more.")
    results = tiny / "results" / "full.json"
    data = json.loads(results.read_text(encoding="utf-8"))
    data["notebooks"]["sweep"]["metrics"]["results_rows"][0]["model"] = (
        "<img src=x onerror=alert(2)>"
    )
    data["claims"][0]["expr"] = "growth < `x` <script>"
    results.write_text(json.dumps(data), encoding="utf-8")
    text = _overview(project, tiny)
    outside_code = re.sub(r"(`+).*?\1", "", text)
    assert "<script>" not in outside_code and "<img" not in outside_code
    assert "Squaring &lt;script>alert(1)&lt;/script> &amp; more." in text
    assert "&lt;img src=x onerror=alert(2)>" in text
    assert "``growth < `x` <script> >= 4``" in text  # a code span shows its text as it is


@pytest.mark.parametrize("address", ["javascript:alert(1)", "https://x.org/a b", "https://x.org/)"])
def test_a_link_that_is_not_a_plain_address_is_refused(project, tiny, address):
    toml = tiny / "technique.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("https://example.com/tiny", address),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="is not an http"):
        _overview(project, tiny)


@pytest.mark.parametrize("status", ["fail", "inconclusive"])
def test_render_refuses_failing_claims_unless_allowed_and_then_warns(
    repo, tiny, monkeypatch, capsys, status
):
    from tutorial_gen.cli import main

    results = tiny / "results" / "full.json"
    data = json.loads(results.read_text(encoding="utf-8"))
    data["claims"][0].update(status=status, measured=2.5)  # four-x: growth >= 4
    results.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.chdir(repo)
    for check in ([], ["--check"]):
        assert main(["render", *check]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: notebooks/tiny/results/full.json: ")
        assert f"'four-x' ({status}: measured 2.5, must hold growth >= 4)" in err
        assert "--allow-failing" in err
    assert not (tiny / "overview.md").exists()
    assert main(["render", "--allow-failing"]) == 0
    page = (tiny / "overview.md").read_text(encoding="utf-8")
    top = page.split("## Overview")[0]
    assert "> **Warning: this page states claims its measurements do not back.**" in top
    assert f'> *   "4x bigger" (`four-x`): {status}, measured 2.5, must hold `growth >= 4`' in top
    assert "grows" not in top, "only the failing claims are listed"
