"""The site's pages as Markdown, in a staging folder the docs toolchain builds from.

Every value from technique.toml or a results file is printed through the overview's sandbox,
which escapes it (`publish.render.page_environment`); the executed notebooks are readable copies
(`readable`), never the run's own files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..model import MANIFEST_NAME, Project, ResultsFile
from ..publish.compat import compat_context
from ..publish.render import code, escape, notebook_link, page_environment, render_files
from ..run.models import models_folder
from .readable import write_readable
from .sources import Run, Sources
from .summary import (
    MODELS_FOLDER,
    change_text,
    claim_rows,
    environment_rows,
    metric_deltas,
    model_rows,
    needing_attention,
    number,
    status_counts,
)


@dataclass(frozen=True)
class NavEntry:
    """One entry of the site's navigation: a page (`path`), or a section of `children`."""

    title: str  # escaped: the theme prints it as it is
    path: str | None = None
    children: tuple[NavEntry, ...] = ()

    def to_config(self) -> Any:
        if self.path is not None:
            return {self.title: self.path}
        return {self.title: [child.to_config() for child in self.children]}


def _environment() -> jinja2.Environment:
    env = page_environment()
    env.loader = jinja2.ChoiceLoader([jinja2.PackageLoader(__package__, "templates"), env.loader])
    return env


def _render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(context).strip() + "\n"


def _label(run: Run) -> str:
    return f"last run, {run.results.profile} profile"


def _same(run: Run | None, committed: ResultsFile | None) -> bool:
    return (
        run is not None and committed is not None and run.results.to_json() == committed.to_json()
    )


def _change_note(source: Sources, project: Project) -> Markup:
    """What the deltas below compare, in one sentence."""
    last, committed = source.last, source.committed
    if last is None:
        return Markup("Nothing has run yet.")
    if committed is None:
        return Markup("There are no committed results to compare the last run with.")
    if _same(last, committed):
        return Markup("The last run's results are the committed ones: nothing changed.")
    path = code(project.relpath(last.path))
    note = f"The {escape(last.results.profile)} run of {path} against the committed full results."
    if last.results.profile != committed.profile:
        note += " A smoke run does less, so its numbers differ from the full profile's by design."
    return Markup(note)


def _technique_row(source: Sources) -> dict[str, Any]:
    technique, last = source.technique, source.last
    return {
        "slug": technique.slug,
        "name": technique.name,
        "last": {"profile": last.results.profile, "finished": last.finished[:16] or "n/a"}
        if last
        else None,
        "executed": len(source.executed),
        "notebooks": len(technique.notebooks),
        "counts": status_counts(last.results) if last else "none yet",
        "compat": source.compat is not None,
    }


def front_page(sources: list[Sources], project: Project, build_dir: Path) -> str:
    """The front page: each technique at a glance, the claims that fail or are left open (of
    the last run, and of the committed results where those differ), what changed since the
    committed results."""
    failing: dict[tuple[str, str], dict[str, Any]] = {}  # {(technique, claim): its row}
    open_: dict[tuple[str, str], dict[str, Any]] = {}
    for source in sources:
        slug, name = source.technique.slug, source.technique.name
        last = source.last
        shown = [(last.results, f"last run ({last.results.profile})")] if last else []
        if source.committed is not None and not _same(source.last, source.committed):
            shown.append((source.committed, "committed (full)"))
        for results, label in shown:
            for rows, into in zip(needing_attention(results), (failing, open_), strict=True):
                for row in rows:  # a claim that fails both runs is one row naming both
                    found = into.setdefault((slug, row.id), {"slug": slug, "name": name})
                    found.setdefault("row", row)
                    found["results"] = ", ".join(filter(None, [found.get("results"), label]))
    changes = [
        {
            "name": s.technique.name,
            "note": _change_note(s, project),
            "deltas": [
                {
                    "notebook": d.notebook,
                    "metric": d.metric,
                    "committed": number(d.committed),
                    "last": number(d.last),
                    "change": change_text(d),
                }
                for d in (
                    metric_deltas(s.last.results, s.committed)
                    if s.last and s.committed and not _same(s.last, s.committed)
                    else []
                )
            ],
        }
        for s in sources
    ]
    return _render(
        "front.md.j2",
        build_dir=project.relpath(build_dir),
        techniques=[_technique_row(s) for s in sources],
        failing=list(failing.values()),
        open=list(open_.values()),
        changes=changes,
    )


def claims_page(source: Sources, project: Project) -> str:
    """A technique's claims, published beside measured, with the environment stamp: of the last
    run, and of the committed results where those differ."""
    sections = []
    if source.last is not None:
        sections.append((_label(source.last), source.last.results, source.last.path))
    if source.committed is not None and not _same(source.last, source.committed):
        path = source.technique.folder / "results" / "full.json"
        sections.append(("committed full results", source.committed, path))
    return _render(
        "claims.md.j2",
        name=source.technique.name,
        slug=source.technique.slug,
        sections=[
            {
                "title": title.capitalize(),
                "path": project.relpath(path),
                "rows": claim_rows(results),
                "environment": environment_rows(results.environment),
            }
            for title, results, path in sections
        ],
    )


def compat_page(source: Sources, project: Project) -> str | None:
    """The technique's compatibility matrix, None where it was not measured."""
    if source.compat is None:
        return None
    technique = source.technique
    links = {stem: notebook_link(n, project) for stem, n in technique.notebooks.items()}
    return _render(
        "compat.md.j2",
        name=technique.name,
        path=project.relpath(technique.folder / "results" / "compat.json"),
        compat=compat_context(source.compat, list(technique.notebooks), links),
    )


def models_page(source: Sources, project: Project, build_dir: Path) -> str | None:
    """The trained model of each results row, to download beside its numbers (None for a
    technique without results notebooks)."""
    manifest = source.models
    if manifest is None:
        return None
    environment = manifest.environment
    return _render(
        "models.md.j2",
        name=source.technique.name,
        slug=source.technique.slug,
        results=manifest.results,
        date=environment.date if environment else None,
        manifest=project.relpath(models_folder(build_dir, manifest.technique) / MANIFEST_NAME),
        rows=model_rows(manifest),
        unnamed=manifest.unnamed,
    )


def copy_models(source: Sources, build_dir: Path, folder: Path) -> None:
    """Copy the models the page offers into the technique's staged `folder`, where its links
    lead (the site holds them, so they download from disk)."""
    if source.models is None:
        return
    kept = models_folder(build_dir, source.models.technique)
    for model in source.models.offered:
        target = folder / MODELS_FOLDER / model.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept / model.path, target)


def overview_files(source: Sources, project: Project) -> dict[str, str]:
    """The overview page and its plots, by file name, as `render` writes them from the
    full-profile results (`index.md` for the page)."""
    technique = source.technique
    if source.full is None:
        page = _render("unmeasured.md.j2", descriptor=technique.descriptor, slug=technique.slug)
        return {"index.md": page}
    files = render_files(technique, project, source.full, source.compat)
    return {
        ("index.md" if path.name == "overview.md" else path.name): text
        for path, text in files.items()
    }


def stage(sources: list[Sources], project: Project, build_dir: Path, docs: Path) -> list[NavEntry]:
    """Write every page into `docs` (emptied by the caller); the navigation, in order."""
    (docs / "index.md").write_text(front_page(sources, project, build_dir), encoding="utf-8")
    nav = [NavEntry("Results at a glance", "index.md")]
    for source in sources:
        technique = source.technique
        folder = docs / technique.slug
        folder.mkdir(parents=True)
        for name, text in overview_files(source, project).items():
            (folder / name).write_text(text, encoding="utf-8")
        (folder / "claims.md").write_text(claims_page(source, project), encoding="utf-8")
        pages = [NavEntry("Overview", f"{technique.slug}/index.md")]
        pages.append(NavEntry("Claims", f"{technique.slug}/claims.md"))
        compat = compat_page(source, project)
        if compat is not None:
            (folder / "compat.md").write_text(compat, encoding="utf-8")
            pages.append(NavEntry("Compatibility", f"{technique.slug}/compat.md"))
        models = models_page(source, project, build_dir)
        if models is not None:
            copy_models(source, build_dir, folder)
            (folder / "models.md").write_text(models, encoding="utf-8")
            pages.append(NavEntry("Models", f"{technique.slug}/models.md"))
        for stem, executed in source.executed.items():
            notebook = technique.notebooks[stem]
            where = code(project.relpath(executed.path))
            origin = f"in the {escape(executed.profile)} profile ({where})"
            write_readable(executed.path, notebook, project, origin, folder / f"{stem}.ipynb")
            title = escape(notebook_link(notebook, project)["title"])
            pages.append(NavEntry(title, f"{technique.slug}/{stem}.ipynb"))
        nav.append(NavEntry(escape(technique.name), children=tuple(pages)))
    return nav
