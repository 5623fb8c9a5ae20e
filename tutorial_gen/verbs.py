"""Verbs that combine stages: what the CLI calls where one stage's output is another's input."""

from __future__ import annotations

from pathlib import Path

from .errors import TutorialGenError
from .model import Profile, Project, ResultsFile, Technique
from .publish.render import render, render_files
from .run.store import load_results, read_results, results_path
from .verify.checklist import Evidence, run_checklist


def render_overviews(
    techniques: list[Technique], project: Project, *, check: bool = False
) -> list[Path]:
    """Render (or, with `check`, compare) every technique's overview from its full results."""
    return render([(t, load_results(t)) for t in techniques], project, check=check)


def check_technique(technique: Technique, project: Project) -> list[tuple[str, bool, str]]:
    """The contributors' checklist of one technique: (component, present, reason)."""
    path = results_path(technique, Profile.FULL)
    results = read_results(path) or ResultsFile(technique.slug, Profile.FULL)
    try:
        files = render_files(technique, project, results)
    except TutorialGenError as error:
        return run_checklist(Evidence(technique, results, None, error.message))
    stale = tuple(
        p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text
    )
    overview = files[technique.folder / "overview.md"]
    return run_checklist(Evidence(technique, results, overview, stale=stale))
