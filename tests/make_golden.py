"""Regenerate the golden files (`make golden`); review the diff before committing it."""

from __future__ import annotations

from pathlib import Path

from tutorial_gen.build import build_notebook
from tutorial_gen.config import load_project, load_technique
from tutorial_gen.publish.render import render_files, render_overview
from tutorial_gen.run.store import compat_path, load_results, read_compat

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "repo"
GOLDEN = HERE / "golden"


def main() -> None:
    project = load_project(FIXTURE)
    technique = load_technique(FIXTURE / "notebooks" / "tiny")
    GOLDEN.mkdir(exist_ok=True)
    built = build_notebook(technique.notebooks["tiny"].script, project)
    (GOLDEN / "tiny.ipynb").write_text(built.text, encoding="utf-8")
    results, compat = load_results(technique), read_compat(compat_path(technique))
    (GOLDEN / "tiny_overview.md").write_text(
        render_overview(technique, project, results, compat), encoding="utf-8"
    )
    for path, text in render_files(technique, project, results, compat).items():
        if path.suffix == ".svg":
            (GOLDEN / f"tiny_{path.name}").write_text(text, encoding="utf-8")
    print(f"wrote {GOLDEN / 'tiny.ipynb'} and {GOLDEN / 'tiny_overview.md'}")


if __name__ == "__main__":
    main()
