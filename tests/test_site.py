"""The site's pages as data and Markdown: claim rows, what needs attention, metric deltas, the
readable copy of an executed notebook, and the staged pages (no browser: see test_site_browser)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess

import nbformat
import pytest

from tutorial_gen.config import load_technique
from tutorial_gen.model import (
    ClaimOutcome,
    ClaimStatus,
    Environment,
    NotebookEntry,
    ResultsFile,
    RunStatus,
    Tag,
)
from tutorial_gen.run.models import models_folder
from tutorial_gen.run.store import load_results
from tutorial_gen.site.pages import claims_page, front_page, models_page, stage
from tutorial_gen.site.readable import markdown_as_text, readable_copy
from tutorial_gen.site.sources import Run, Sources, executed_notebooks, gather, last_run, runs
from tutorial_gen.site.summary import (
    change_text,
    claim_rows,
    environment_rows,
    metric_deltas,
    model_rows,
    needing_attention,
    status_counts,
)
from tutorial_gen.site.toolchain import SiteBuildError, mkdocs_config, run_mkdocs, write_config

PLANTED = "<script>window.planted = 1</script>"


def _claim(id_: str, status: ClaimStatus, **more) -> ClaimOutcome:
    return ClaimOutcome(id_, "tiny", f"phrase {id_}", "growth", ">=", 4.0, status, **more)


def _entry(finished: str, **metrics) -> NotebookEntry:
    return NotebookEntry("notebooks/tiny/tiny.py", RunStatus.OK, 1.0, metrics, finished=finished)


def _results(profile: str = "smoke", claims=(), **notebooks) -> ResultsFile:
    return ResultsFile("tiny", profile, Environment(cpu="AMD EPYC"), notebooks, tuple(claims))


# --- page data ---------------------------------------------------------------------------------


def test_claim_rows_carry_the_interval_the_seeds_and_the_published_figure():
    sampled = _claim("fast", ClaimStatus.PASS, measured=0.9, interval=[0.85, 0.95], published="2x")
    seeds = _claim("small", ClaimStatus.PASS, measured=3.2, per_seed=[3.1, 3.2, 3.3])
    rows = claim_rows(_results(claims=[sampled, seeds]))
    assert rows[0].measured == "0.9 [0.85, 0.95]" and rows[0].published == "2x"
    assert rows[0].must_hold == "growth >= 4"
    assert rows[1].measured == "3.2 (seeds 3.1 to 3.3)" and rows[1].published == ""


def test_attention_splits_failing_from_open_claims():
    claims = [
        _claim("a", ClaimStatus.PASS, measured=5.0),
        _claim("b", ClaimStatus.FAIL, measured=1.0),
        _claim("c", ClaimStatus.INCONCLUSIVE, measured=4.0),
        _claim("d", ClaimStatus.UNVERIFIED, reason="needs a phone"),
        _claim("e", ClaimStatus.NOT_IN_PROFILE),
    ]
    failing, open_ = needing_attention(_results(claims=claims))
    assert [r.id for r in failing] == ["b"]
    assert [r.id for r in open_] == ["c", "d"] and open_[1].reason == "needs a phone"
    counts = status_counts(_results(claims=claims))
    assert counts == "1 pass, 1 fail, 1 inconclusive, 1 unverified (1 not-in-profile)"


def test_metric_deltas_are_the_scalars_that_changed_or_appeared():
    committed = _results("full", tiny=_entry("1", growth=4.0, start=4, rows=[{"model": "a"}]))
    last = _results("smoke", tiny=_entry("2", growth=3.0, start=4, squared=9, flag=True))
    deltas = metric_deltas(last, committed)
    assert [(d.metric, d.committed, d.last) for d in deltas] == [
        ("growth", 4.0, 3.0),
        ("squared", None, 9.0),
    ]
    assert change_text(deltas[0]) == "-1 (-25.0%)" and change_text(deltas[1]) == "new"
    assert metric_deltas(committed, committed) == []


def test_environment_rows_list_the_stamp_with_its_packages():
    stamp = Environment(cpu="AMD EPYC", cores=2, packages={"numpy": "2.4.6"}, commit="abc")
    rows = dict(environment_rows(stamp))
    assert rows["CPU"] == "AMD EPYC" and rows["numpy"] == "2.4.6" and rows["commit"] == "abc"
    assert "diff of the uncommitted changes (sha256)" not in rows
    assert environment_rows(None) == []


# --- sources -----------------------------------------------------------------------------------


def _write(path, results: ResultsFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results.to_json()), encoding="utf-8")


def test_the_last_run_and_each_notebook_copy_go_by_the_results_not_file_times(tiny, tmp_path):
    technique = load_technique(tiny)
    build = tmp_path / "build"
    _write(build / "tiny" / "results" / "smoke.json", _results(tiny=_entry("2099-01-01")))
    for profile in ("full", "smoke"):
        (build / "tiny" / profile).mkdir(parents=True)
    (build / "tiny" / "smoke" / "tiny.ipynb").write_text("{}", encoding="utf-8")
    (build / "tiny" / "full" / "tiny.ipynb").write_text("{}", encoding="utf-8")  # written last
    (build / "tiny" / "full" / "tiny.seed43.ipynb").write_text("{}", encoding="utf-8")
    found = runs(technique, build)
    assert [run.results.profile for run in found] == ["full", "smoke"]
    assert last_run(found).results.profile == "smoke"
    executed = executed_notebooks(technique, build, found)
    assert set(executed) == {"tiny"} and executed["tiny"].profile == "smoke"


def test_committed_results_are_read_from_head(repo, project, tiny, tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "fixture")
    path = tiny / "results" / "full.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["notebooks"]["tiny"]["metrics"]["growth"] = 5.0
    path.write_text(json.dumps(data), encoding="utf-8")
    source = gather(load_technique(tiny), project, tmp_path)
    assert source.committed.entry("tiny").metrics["growth"] == 4.0  # as HEAD holds it
    assert source.full.entry("tiny").metrics["growth"] == 5.0  # the working tree's
    assert source.last.path == path


# --- the readable copy -------------------------------------------------------------------------


def test_markdown_shows_raw_html_as_text_and_leaves_code_alone():
    text = "a <b>x</b> `c <d>` <https://e.org> ![i](https://f.org/i.png)\n```\n<pre>\n```\n<z>"
    assert markdown_as_text(text) == (
        "a \\<b>x\\</b> `c <d>` <https://e.org> [i](https://f.org/i.png)\n```\n<pre>\n```\n\\<z>"
    )
    assert markdown_as_text("``unclosed <b>") == "``unclosed \\<b>"
    assert markdown_as_text("already \\<b>") == "already \\<b>"


def _executed(project, tiny):
    notebook = load_technique(tiny).notebooks["tiny"]
    cells = [
        nbformat.v4.new_code_cell("prelude()", metadata={"tags": [str(Tag.PRELUDE)]}),
        nbformat.v4.new_markdown_cell('<table class="tfo-notebook-buttons" align="left"></table>'),
        nbformat.v4.new_markdown_cell(f"# Title {PLANTED}"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("harvest()", metadata={"tags": [str(Tag.HARVEST)]}),
    ]
    cells[3].outputs = [
        nbformat.v4.new_output(
            "display_data",
            {"text/plain": "<x>", "text/html": PLANTED, "application/javascript": "alert(1)"},
        ),
        nbformat.v4.new_output("display_data", {"application/javascript": "alert(2)"}),
        nbformat.v4.new_output("stream", name="stdout", text="printed\n"),
    ]
    node = nbformat.v4.new_notebook(cells=cells, metadata={"widgets": {"state": {}}})
    return node, notebook


def test_the_readable_copy_hides_run_cells_and_anything_that_would_run_or_load(project, tiny):
    executed, notebook = _executed(project, tiny)
    before = nbformat.writes(executed)
    copy = readable_copy(executed, notebook, project, "in the smoke profile")
    assert nbformat.writes(executed) == before, "the run's own notebook is left as it is"
    sources = [cell.source for cell in copy.cells]
    assert not any("harvest()" in s or "prelude()" in s for s in sources)
    assert "in the smoke profile" in sources[0]
    assert sources[1].startswith("[Run in Google Colab](https://colab.research.google.com/")
    assert "tensorflow.org/images" not in sources[1]
    assert sources[2] == "# Title \\<script>window.planted = 1\\</script>"
    outputs = copy.cells[3].outputs
    assert [dict(o.get("data", {})) for o in outputs[:1]] == [{"text/plain": "<x>"}]
    assert [o.output_type for o in outputs] == ["display_data", "stream"]
    assert "widgets" not in copy.metadata
    nbformat.validate(copy)


# --- the pages ---------------------------------------------------------------------------------


def _planted(tiny):
    """The fixture technique with a <script> in its name and in a claim's published figure."""
    path = tiny / "technique.toml"
    text = path.read_text(encoding="utf-8").replace('name = "Squaring"', f'name = "Sq {PLANTED}"')
    path.write_text(text.replace('published = "4x (fixture)"', f'published = "{PLANTED}"'))
    return load_technique(tiny)


def test_pages_escape_every_value_from_technique_toml_and_results(project, tiny, tmp_path):
    technique = _planted(tiny)
    full = load_results(technique)
    failing = dataclasses.replace(full.claims[0], status=ClaimStatus.FAIL, phrase=PLANTED)
    last = Run(dataclasses.replace(full, profile="smoke", claims=(failing,)), tmp_path / "s.json")
    source = Sources(technique, last, full, full, None)
    for page in (front_page([source], project, tmp_path), claims_page(source, project)):
        assert "<script>" not in page
        assert "&lt;script>window.planted = 1&lt;/script>" in page


def test_the_front_page_names_failing_and_open_claims_and_what_changed(project, tiny, tmp_path):
    technique = load_technique(tiny)
    full = load_results(technique)
    smoke = _results(
        "smoke",
        claims=[_claim("four-x", ClaimStatus.FAIL, measured=3.0)],
        tiny=_entry("2099-01-01", growth=3.0, start=4.0, squared=16.0),
    )
    source = Sources(technique, Run(smoke, tmp_path / "smoke.json"), full, full, None)
    page = front_page([source], project, tmp_path)
    failing = page.split("## Failing claims")[1].split("## Inconclusive")[0]
    assert "`four-x`" in failing and "last run (smoke)" in failing
    assert "`phone`" in page.split("## Inconclusive")[1]  # unverified in the committed results
    changed = page.split("## What changed since the committed results")[1]
    assert "| tiny | `growth` | 4 | 3 | -1 (-25.0%) |" in changed
    assert "differ from the full profile's by design" in changed
    same = Sources(technique, Run(full, tiny / "results" / "full.json"), full, full, None)
    assert "nothing changed" in front_page([same], project, tmp_path)


def test_stage_writes_each_kind_of_page_and_escapes_the_navigation(project, tiny, tmp_path):
    technique = _planted(tiny)
    executed, _ = _executed(project, tiny)
    build = tmp_path / "build"
    (build / "tiny" / "smoke").mkdir(parents=True)
    nbformat.write(executed, build / "tiny" / "smoke" / "tiny.ipynb")
    docs = tmp_path / "docs"
    docs.mkdir()
    nav = stage([gather(technique, project, build)], project, build, docs)
    written = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*") if p.is_file())
    assert written == [
        "index.md",
        "tiny/claims.md",
        "tiny/index.md",
        "tiny/models.md",
        "tiny/overview_accuracy_vs_size_2.svg",
        "tiny/tiny.ipynb",
    ]
    section = nav[1].to_config()
    assert list(section) == ["Sq &lt;script>window.planted = 1&lt;/script>"]
    assert [list(entry)[0] for entry in section[list(section)[0]]] == [
        "Overview",
        "Claims",
        "Models",
        "A tiny tutorial",
    ]


def _kept_rows(tiny, build):
    """The sweep's full results naming a kept model, one this build lacks and one whose file
    changed since; a <script> in a model's name and configuration."""
    data = b"\x00tflite bytes"
    rows = [
        {"model": PLANTED, "config": f"start 2 {PLANTED}", "hyperparameter": 2, "accuracy": 0.7}
        | {"size": 1000, "tflite_bytes": 4000, "tflite_file": "a b.tflite"}
        | {"tflite_sha256": hashlib.sha256(data).hexdigest()},
        {"model": "cube", "config": "start 3", "hyperparameter": 3, "tflite_file": "c.tflite"}
        | {"tflite_sha256": "0" * 64},
        {"model": "cube", "config": "start 4", "hyperparameter": 4, "tflite_file": "d.tflite"}
        | {"tflite_sha256": "1" * 64},
    ]
    full = load_results(load_technique(tiny))
    entry = dataclasses.replace(full.entry("sweep"), metrics={"results_rows": rows})
    full = dataclasses.replace(full, notebooks={**full.notebooks, "sweep": entry})
    _write(tiny / "results" / "full.json", full)
    kept = models_folder(build, "tiny") / "sweep"
    kept.mkdir(parents=True)
    (kept / "a b.tflite").write_bytes(data)
    (kept / "d.tflite").write_bytes(b"since changed")
    return data


def test_the_models_page_offers_a_download_only_where_the_rows_file_is_here(
    project, tiny, tmp_path
):
    build = tmp_path / "build"
    _kept_rows(tiny, build)
    source = gather(load_technique(tiny), project, build)
    rows = model_rows(source.models)
    assert [r.href for r in rows] == ["models/sweep/a%20b.tflite", None, None]
    assert (rows[0].accuracy, rows[0].size, rows[0].raw) == ("70.00%", "1.0 KB", "4.0 KB")
    page = models_page(source, project, build)
    assert "<script>" not in page and "&lt;script>window.planted = 1&lt;/script>" in page
    assert page.count("[download](") == 1
    run = "`tutorial-gen run --profile full --force notebooks/tiny/sweep.py`"
    assert f"`c.tflite`: not kept in this build: run {run}" in page
    assert "`d.tflite`: the file kept here is not the one this row measured" in page
    assert "/build/models/tiny/manifest.json`" in page


def test_stage_copies_the_offered_models_where_the_page_links(project, tiny, tmp_path):
    build = tmp_path / "build"
    data = _kept_rows(tiny, build)
    docs = tmp_path / "docs"
    docs.mkdir()
    stage([gather(load_technique(tiny), project, build)], project, build, docs)
    copied = sorted(p.relative_to(docs).as_posix() for p in (docs / "tiny" / "models").rglob("*"))
    assert copied == ["tiny/models/sweep", "tiny/models/sweep/a b.tflite"]
    assert (docs / "tiny" / "models" / "sweep" / "a b.tflite").read_bytes() == data


def test_a_technique_without_full_results_gets_a_page_saying_so(project, tiny, tmp_path):
    (tiny / "results" / "full.json").unlink()
    docs = tmp_path / "docs"
    docs.mkdir()
    stage([gather(load_technique(tiny), project, tmp_path)], project, tmp_path, docs)
    assert "No full-profile results yet" in (docs / "tiny" / "index.md").read_text()
    assert "No results yet" in (docs / "tiny" / "claims.md").read_text()
    assert "No full-profile results rows yet" in (docs / "tiny" / "models.md").read_text()


def test_a_link_to_a_missing_page_stops_the_build_with_one_error(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the claims](tiny/claims.md).\n")
    config = tmp_path / "mkdocs.yml"
    nav = [{"Home": "index.md"}]
    write_config(config, mkdocs_config(docs, tmp_path / "site", nav, tmp_path / "cache"))
    with pytest.raises(SiteBuildError, match="tiny/claims.md"):
        run_mkdocs(config)
