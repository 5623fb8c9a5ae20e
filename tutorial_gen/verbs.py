"""Verbs that combine stages: what the CLI calls where one stage's output is another's input."""

from __future__ import annotations

from pathlib import Path

from .errors import TutorialGenError
from .lint import RULES, lint_document, lint_paths, load_document
from .model import Profile, Project, ResultsFile, Technique
from .publish.render import refuse_failing, render, render_files
from .run.cache import run_inputs
from .run.store import compat_path, load_results, read_compat, read_results, results_path
from .verify.checklist import Evidence, run_checklist


def render_overviews(
    techniques: list[Technique],
    project: Project,
    *,
    check: bool = False,
    allow_failing: bool = False,
) -> list[Path]:
    """Render (or, with `check`, compare) every technique's overview from its full results and
    its compatibility matrix; results holding a failing claim are refused unless
    `allow_failing` (the page then warns)."""
    pages = [(t, load_results(t), read_compat(compat_path(t))) for t in techniques]
    for technique, results, _ in pages if not allow_failing else []:
        refuse_failing(results, results_path(technique, Profile.FULL))
    return render(pages, project, check=check)


def check_technique(technique: Technique, project: Project) -> list[tuple[str, bool, str]]:
    """The contributors' checklist of one technique: (component, present, reason)."""
    path = results_path(technique, Profile.FULL)
    results = read_results(path) or ResultsFile(technique.slug, Profile.FULL)
    inputs, unbuilt = _current_inputs(technique, project)
    compat = read_compat(compat_path(technique))
    sources = {
        "inputs": inputs,
        "unbuilt": unbuilt,
        "findings": _findings(technique, project),
        "folder": project.relpath(technique.folder),
        "compat": compat,
        "stacks": tuple(project.stacks.values()),
    }
    try:  # the page as `render` writes it: with the compatibility matrix, where measured
        files = render_files(technique, project, results, compat)
    except TutorialGenError as error:
        return run_checklist(Evidence(technique, results, None, error.message, **sources))
    stale = tuple(
        p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text
    )
    overview = files[technique.folder / "overview.md"]
    return run_checklist(Evidence(technique, results, overview, stale=stale, **sources))


def _current_inputs(
    technique: Technique, project: Project
) -> tuple[dict[str, str], dict[str, str]]:
    """Each notebook's digest as a full run's cache computes it now; and, for a notebook that
    cannot be built, why."""
    inputs, unbuilt = {}, {}
    for stem, notebook in technique.notebooks.items():
        try:
            inputs[stem] = run_inputs(technique, notebook, project, Profile.FULL)[1]
        except TutorialGenError as error:
            unbuilt[stem] = str(error)
    return inputs, unbuilt


def _findings(technique: Technique, project: Project) -> tuple[str, ...]:
    """The lint findings on a technique's notebooks and technique.toml, as `lint` prints them."""
    try:
        return tuple(str(f) for f in lint_paths([technique.folder], project))
    except TutorialGenError as error:  # a script lint cannot read: the first thing to fix
        return (str(error),)


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
