"""Recording a suite's runs: each finished notebook into its results file at once, and the report
of each technique (its runs, its claims, and whose numbers its cache hits reuse)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import dump_json, write_atomic
from ..model import (
    CacheState,
    ClaimOutcome,
    Environment,
    ModelManifest,
    NotebookEntry,
    Profile,
    Project,
    ResultsFile,
    RunRequest,
    RunStatus,
    Technique,
)
from ..verify.claims import check_all
from .execute import NotebookRun
from .models import models_folder, sync_models
from .plan import Job
from .stamp import environment_stamp
from .store import record, request_results_path, results_under


@dataclass(frozen=True)
class Reused:
    """Whose numbers a cache hit reuses: the stamp of the results file it comes from, and when
    its notebook last ran."""

    environment: Environment | None
    finished: str | None


@dataclass
class TechniqueReport:
    """The runs and claim outcomes of one technique in one profile."""

    technique: Technique
    profile: str
    runs: list[NotebookRun]
    claims: list[ClaimOutcome]
    results_path: Path
    problem: str | None = None  # why the results could not be written, and where they are
    reused: dict[str, Reused] = field(default_factory=dict)  # {stem: provenance} of cache hits
    models: ModelManifest | None = None  # the models the full-profile results measured, kept
    models_path: Path | None = None  # the folder they are kept in

    @property
    def ok(self) -> bool:
        return (
            self.problem is None
            and all(r.status == RunStatus.OK for r in self.runs)
            and not any(c.fails(self.profile) for c in self.claims)
        )


class Recorder:
    """Records each finished notebook into its technique's results file at once."""

    def __init__(self, project: Project, request: RunRequest, build_dir: Path) -> None:
        self.project, self.request, self.build_dir = project, request, build_dir
        self.runs: dict[str, NotebookRun] = {}
        self.reused: dict[str, Reused] = {}  # {label: provenance} of the cache hits
        self.unsaved: dict[str, dict[str, NotebookEntry]] = {}
        self.problems: dict[str, str] = {}  # technique: why its results could not be written

    def __call__(self, job: Job, run: NotebookRun) -> None:
        self.runs[job.label] = run
        if run.cache != CacheState.HIT:
            self.record(job.technique, {run.stem: run.entry(self.project)})

    def reuse(self, job: Job, run: NotebookRun, environment: Environment | None) -> None:
        """A cache hit: its results are kept, measured where `environment` says."""
        self(job, run)
        self.reused[job.label] = Reused(environment, run.finished)

    def report(self, technique: Technique, jobs: list[Job]) -> TechniqueReport | None:
        """Record the technique's runs of `jobs` together, check its claims; None if none ran."""
        mine = [j for j in jobs if j.technique.slug == technique.slug]
        if not mine:
            return None
        runs = [self.runs[j.label] for j in mine]
        outcomes = self.record(technique, {run.stem: run.entry(self.project) for run in runs})
        models = self._models(technique)
        return TechniqueReport(
            technique,
            self.request.profile,
            runs,
            outcomes,
            request_results_path(technique, self.request, self.build_dir),
            self.problems.get(technique.slug),
            {j.notebook.stem: self.reused[j.label] for j in mine if j.label in self.reused},
            models,
            models_folder(self.build_dir, technique.slug) if models else None,
        )

    def _models(self, technique: Technique) -> ModelManifest | None:
        """Keep the models of the full-profile rows just recorded (not of a run on another
        stack, whose numbers are not those results', nor where they could not be written)."""
        request = self.request
        if request.profile != Profile.FULL or request.stack or technique.slug in self.problems:
            return None
        try:
            return sync_models(technique, self.project, self.build_dir)
        except OSError as error:
            folder = self.project.relpath(models_folder(self.build_dir, technique.slug))
            self.problems[technique.slug] = (
                f"could not keep the models in {folder}: {error.strerror} (errno {error.errno})"
            )
            return None

    def record(self, technique: Technique, entries: dict[str, NotebookEntry]) -> list[ClaimOutcome]:
        """Record entries; where the results file cannot be written, keep them in the build
        folder and remember why, so that a full disk costs no measurement."""
        path = request_results_path(technique, self.request, self.build_dir)
        try:
            return record(
                technique,
                self.project,
                self.request.profile,
                path,
                entries,
                force=self.request.force,
            )
        except OSError as error:
            return self._keep(technique, path, entries, error)

    def _keep(
        self, technique: Technique, path: Path, entries: dict[str, NotebookEntry], error: OSError
    ) -> list[ClaimOutcome]:
        kept = self.unsaved.setdefault(technique.slug, {})
        kept.update(entries)
        profile = self.request.profile
        outcomes = check_all(technique.claims, {s: e.seed_runs() for s, e in kept.items()}, profile)
        fallback = results_under(self.build_dir, technique.slug, f"{profile}.unsaved")
        results = ResultsFile(
            technique.slug, profile, environment_stamp(self.project), dict(kept), tuple(outcomes)
        )
        relpath = self.project.relpath
        try:
            write_atomic(fallback, dump_json(results.to_json()))
            where = (
                f"kept in {relpath(fallback)}; once there is room, record them with "
                f"`tutorial-gen merge {relpath(fallback)}`"
            )
        except OSError as second:
            where = f"lost: {relpath(fallback)} could not be written either ({second.strerror})"
        self.problems[technique.slug] = (
            f"could not write {relpath(path)}: {error.strerror} (errno {error.errno}); "
            f"this run's results are {where}"
        )
        return outcomes
