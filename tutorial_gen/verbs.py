"""Verbs that combine stages: what the CLI calls where one stage's output is another's input."""

from __future__ import annotations

from pathlib import Path

from .errors import TutorialGenError
from .lint import RULES, lint_document, load_document
from .model import Profile, Project, ResultsFile, Technique
from .publish.render import refuse_failing, render, render_files
from .run.store import load_results, read_results, results_path
from .verify.checklist import Evidence, run_checklist


def render_overviews(
    techniques: list[Technique],
    project: Project,
    *,
    check: bool = False,
    allow_failing: bool = False,
) -> list[Path]:
    """Render (or, with `check`, compare) every technique's overview from its full results;
    results holding a failing claim are refused unless `allow_failing` (the page then warns)."""
    pages = [(t, load_results(t)) for t in techniques]
    for technique, results in pages if not allow_failing else []:
        refuse_failing(results, results_path(technique, Profile.FULL))
    return render(pages, project, check=check)


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


def offline_needs(pairs: list[tuple[Technique, list[str] | None]], project: Project) -> list[str]:
    """Each run-time download the selected notebooks make, as `path:line: needs the network: …`,
    found by reading them (the `network` lint rule), before anything runs."""
    needs = []
    for technique, stems in pairs:
        for stem, notebook in technique.notebooks.items():
            if stems is not None and stem not in stems:
                continue
            document = load_document(notebook.script, project)
            for finding in lint_document(document, set(RULES) - {"network"}):
                at = f":{finding.line}" if finding.line is not None else ""
                what = finding.message.split(" at run time")[0]
                needs.append(
                    f"{project.relpath(finding.path)}{at}: needs the network: {what} in cell "
                    f"{finding.cell}"
                )
    return needs
