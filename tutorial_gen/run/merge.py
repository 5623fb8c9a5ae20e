"""Merging the results files of CI shards: per notebook the newest entry, every claim checked again."""

from __future__ import annotations

from pathlib import Path

from ..config import load_technique
from ..errors import ConfigError
from ..model import CacheState, NotebookEntry, Project, merge_entries
from .execute import NotebookRun
from .recorder import TechniqueReport
from .store import read_results, record, results_path, results_under


def merge(paths: list[Path], project: Project, output: Path | None = None) -> list[TechniqueReport]:
    """Combine results files of shards, write the merged file of each technique and profile."""
    grouped: dict[tuple[str, str], dict[str, NotebookEntry]] = {}
    for path in paths:
        results = read_results(path)
        if results is None:
            raise ConfigError(
                "does not exist",
                path=path,
                hint="pass the results/<profile>.json files the shards wrote",
            )
        key = (results.technique, results.profile)
        grouped[key] = merge_entries(grouped.get(key, {}), results.notebooks)
    reports = []
    for (slug, profile), entries in sorted(grouped.items()):
        technique = load_technique(project.notebooks_dir / slug)
        target = (
            results_under(output, slug, profile)
            if output
            else results_path(technique, profile, project.build_path)
        )
        outcomes = record(technique, project, profile, target, entries)
        runs = [
            NotebookRun(
                slug,
                stem,
                project.root / (e.script or stem),
                Path(),
                e.status,
                e.wall_seconds,
                metrics=e.metrics,
                cache=CacheState.MERGED,
            )
            for stem, e in sorted(entries.items())
        ]
        reports.append(TechniqueReport(technique, profile, runs, outcomes, target))
    return reports
