"""What the site is built from, per technique: the last run's results and executed notebooks,
the committed results, and the compatibility matrix.

The last run is the results file whose newest notebook finished last, among the build folder's
(`build/<technique>/results/<profile>.json`) and the technique's own `results/full.json`; the
committed results are `results/full.json` as HEAD holds it (the file itself outside a
repository). Each notebook's page shows the executed copy of its newest run in the build folder.
The models page shows the manifest of `build/models/<technique>/`, rebuilt from the full results
and the files there (the one thing the site writes into the build folder).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..model import (
    CompatFile,
    ModelManifest,
    Profile,
    Project,
    ResultsFile,
    ResultsFormatError,
    Technique,
)
from ..run.models import sync_models
from ..run.provenance import committed_text
from ..run.store import compat_path, read_compat, read_results, results_path


@dataclass(frozen=True)
class Run:
    """A results file and where it is."""

    results: ResultsFile
    path: Path

    @property
    def finished(self) -> str:
        """When its newest notebook finished (ISO time; empty where none says)."""
        return max((e.finished or "" for e in self.results.notebooks.values()), default="")


@dataclass(frozen=True)
class Executed:
    """A notebook as a run in the build folder left it."""

    path: Path
    profile: str  # the build folder's subfolder it is in


@dataclass(frozen=True)
class Sources:
    """Everything the site shows of one technique."""

    technique: Technique
    last: Run | None  # the last run's results
    committed: ResultsFile | None  # the committed full-profile results
    full: ResultsFile | None  # results/full.json as it is: what the overview is rendered from
    compat: CompatFile | None
    executed: dict[str, Executed] = field(default_factory=dict)  # {stem: its newest copy}
    models: ModelManifest | None = None  # the models of the full results' rows, as kept here


def _committed(technique: Technique, project: Project) -> ResultsFile | None:
    path = results_path(technique, Profile.FULL)
    text = committed_text(project, path)
    if text is None:
        return read_results(path)
    try:
        return ResultsFile.from_json(json.loads(text))
    except (json.JSONDecodeError, ResultsFormatError) as error:
        raise ConfigError(f"as HEAD holds it, is no results file: {error}", path=path) from error


def runs(technique: Technique, build_dir: Path) -> list[Run]:
    """The technique's results files: its own `results/full.json`, then the build folder's."""
    paths = [results_path(technique, Profile.FULL)]
    paths += sorted((build_dir / technique.slug / "results").glob("*.json"))
    return [Run(r, p) for p in paths if (r := read_results(p)) is not None]


def last_run(found: list[Run]) -> Run | None:
    """The run that finished last (the first of `found` on a tie: the committed file)."""
    return max(found, key=lambda run: run.finished, default=None)


def executed_notebooks(
    technique: Technique, build_dir: Path, found: list[Run]
) -> dict[str, Executed]:
    """{stem: the executed copy of its newest run} of each notebook a run left in the build
    folder, `build/<technique>/<profile>/<stem>.ipynb`, newest by its results entry (file times
    say nothing once an artifact is downloaded); a copy no results file knows comes last. A
    later seed's `<stem>.seed<N>.ipynb` is not the page's: the first seed's is."""
    folder = build_dir / technique.slug
    profiles = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    finished = {}  # {(stem, profile): when its entry finished}
    for run in found:
        for stem, entry in run.results.notebooks.items():
            key = (stem, run.results.profile)
            finished[key] = max(finished.get(key, ""), entry.finished or "")
    chosen = {}
    for stem in technique.notebooks:
        copies = [p for p in profiles if (folder / p / f"{stem}.ipynb").is_file()]
        if copies:
            newest = max(copies, key=lambda profile: (finished.get((stem, profile), ""), profile))
            chosen[stem] = Executed(folder / newest / f"{stem}.ipynb", newest)
    return chosen


def gather(technique: Technique, project: Project, build_dir: Path) -> Sources:
    """The sources of one technique's pages (bringing its models manifest up to date first)."""
    found = runs(technique, build_dir)
    return Sources(
        technique=technique,
        last=last_run(found),
        committed=_committed(technique, project),
        full=read_results(results_path(technique, Profile.FULL)),
        compat=read_compat(compat_path(technique)),
        executed=executed_notebooks(technique, build_dir, found),
        models=sync_models(technique, project, build_dir),
    )
