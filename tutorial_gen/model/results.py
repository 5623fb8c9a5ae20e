"""The results file: the contract between running, verifying and publishing.

One file per technique and profile (`results/full.json` is committed). Stages read and write it
only through these types: `ResultsFile.from_json` checks the schema version and the shape, and says
what to do with a file it cannot read; `to_json` writes the same keys it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .status import ClaimStatus, Profile, RunStatus

SCHEMA = 1  # the version `to_json` writes and `from_json` reads


class ResultsFormatError(ValueError):
    """A results file this version cannot read; `hint` says what to do about it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def expect(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind):
        raise ResultsFormatError(
            f"{what} is malformed (not a {getattr(kind, '__name__', 'value')})",
            "resolve the merge conflict or restore the file from git, or rerun with --force",
        )
    return value


def expect_schema(data: Mapping[str, Any], schema: int, kind: str, hint: str) -> None:
    """Refuse a file of another schema than the one this version reads, saying what to do."""
    if data.get("schema") != schema:
        raise ResultsFormatError(
            f"{kind} schema {data.get('schema')!r}, this version reads {schema}", hint
        )


@dataclass(frozen=True)
class Environment:
    """Where and with what a set of numbers was measured."""

    cpu: str | None = None
    cores: int | None = None
    latency_threads: int | None = None
    os: str | None = None
    python: str | None = None
    packages: dict[str, str | None] = field(default_factory=dict)
    date: str | None = None
    commit: str | None = None  # HEAD, with `-dirty` when the tree had uncommitted changes
    diff: str | None = None  # of a dirty tree: the short sha256 of its changes

    @property
    def dirty(self) -> bool:
        return bool(self.commit and self.commit.endswith("-dirty"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Environment:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in expect(data, dict, "environment").items() if k in known})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["diff"] is None:  # a clean tree's stamp reads as it always has
            del data["diff"]
        return data


@dataclass(frozen=True)
class CellTiming:
    """How long one code cell of an executed notebook took."""

    index: int
    line: int | None
    seconds: float

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CellTiming:
        data = expect(data, dict, "a cell timing")
        return cls(int(data["index"]), data.get("line"), float(data["seconds"]))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _seed_metrics(data: Any) -> dict[int, dict[str, Any]] | None:
    if not data:
        return None
    try:
        return {int(seed): dict(expect(m, dict, "seed metrics")) for seed, m in data.items()}
    except (AttributeError, ValueError) as error:
        raise ResultsFormatError(
            "seed_metrics is malformed", "rerun the notebook to rewrite its entry"
        ) from error


@dataclass(frozen=True)
class NotebookEntry:
    """One notebook's last run: how it ended, what it measured, what it depended on."""

    script: str  # repository-relative path
    status: RunStatus
    wall_seconds: float
    metrics: dict[str, Any] | None = None
    error: str | None = None
    cells: tuple[CellTiming, ...] = ()
    inputs: str | None = None  # the cache digest of everything the run depended on
    parameters: dict[str, Any] = field(default_factory=dict)
    finished: str | None = None  # ISO time, UTC
    # {seed: metrics} of a run over several seeds; `metrics` then holds their medians
    seed_metrics: dict[int, dict[str, Any]] | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.OK

    def newer_than(self, other: NotebookEntry) -> bool:
        """Whether this entry finished after `other` (an entry with no time is the oldest)."""
        return (self.finished or "") > (other.finished or "")

    def rows(self, metric: str | None = None) -> list[ResultRow]:
        """The result rows held by one list metric, or by every list metric when `metric` is None."""
        names = [metric] if metric else sorted(self.metrics or {})
        rows: list[ResultRow] = []
        for name in names:
            value = (self.metrics or {}).get(name)
            if isinstance(value, list):
                rows.extend(ResultRow.from_json(r) for r in value if isinstance(r, dict))
        return rows

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NotebookEntry:
        data = expect(data, dict, "a notebook entry")
        try:
            status = RunStatus(data.get("status", RunStatus.ERROR))
        except ValueError as error:
            raise ResultsFormatError(
                f"unknown notebook status {data.get('status')!r}",
                "rerun the notebook to rewrite its entry",
            ) from error
        metrics = data.get("metrics")
        return cls(
            script=str(data.get("script", "")),
            status=status,
            wall_seconds=float(data.get("wall_seconds") or 0.0),
            metrics=dict(expect(metrics, dict, "metrics")) if metrics is not None else None,
            error=data.get("error"),
            cells=tuple(CellTiming.from_json(c) for c in data.get("cells") or []),
            inputs=data.get("inputs"),
            parameters=dict(data.get("parameters") or {}),
            finished=data.get("finished"),
            seed_metrics=_seed_metrics(data.get("seed_metrics")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "status": str(self.status),
            "wall_seconds": round(self.wall_seconds, 2),
            "metrics": self.metrics,
            "error": self.error,
            "cells": [c.to_json() for c in self.cells],
            "inputs": self.inputs,
            "parameters": self.parameters,
            "finished": self.finished,
            **(
                {"seed_metrics": {str(k): v for k, v in self.seed_metrics.items()}}
                if self.seed_metrics
                else {}
            ),
        }

    def seed_runs(self) -> list[tuple[int | None, dict[str, Any]]] | None:
        """[(seed, metrics)] of each seed run (seed None for a single run); None if it failed."""
        if not self.ok or self.metrics is None:
            return None
        if self.seed_metrics:
            return sorted(self.seed_metrics.items())
        return [(None, self.metrics)]


@dataclass(frozen=True)
class ClaimOutcome:
    """One claim decided against one run's metrics."""

    id: str
    notebook: str
    phrase: str
    expr: str
    op: str
    threshold: float
    status: ClaimStatus
    measured: float | None = None
    reason: str | None = None
    published: str | None = None
    # The confidence interval of `measured` where noise was measured (latency), [low, high]
    interval: list[float] | None = None
    # `measured` of each seed, in seed order, where the notebook ran over several seeds
    per_seed: list[float | None] | None = None

    def fails(self, profile: str) -> bool:
        """Whether this outcome fails its run: a false claim always; an undecided one in the full
        profile, whose numbers the prose states (smoke only reports it)."""
        return self.status == ClaimStatus.FAIL or (
            self.status == ClaimStatus.INCONCLUSIVE and profile == Profile.FULL
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClaimOutcome:
        data = dict(expect(data, dict, "a claim outcome"))
        try:
            data["status"] = ClaimStatus(data.get("status"))
        except ValueError as error:
            raise ResultsFormatError(
                f"unknown claim status {data.get('status')!r}", "rerun to check the claims again"
            ) from error
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> dict[str, Any]:
        data = {**asdict(self), "status": str(self.status)}
        for key in ("interval", "per_seed"):  # absent where not measured, as in older files
            if data[key] is None:
                del data[key]
        return data


# The keys of a results row, in the order docs/authoring.md lists them (the `results_row` helper
# of the convert snippet writes them; a test keeps the three in step).
ROW_KEYS = (
    "model",
    "config",
    "hyperparameter",
    "baseline_accuracy",
    "accuracy",
    "baseline_size",
    "size",
    "tflite_bytes",
    "latency_ms",
    "latency_p10_ms",
    "latency_p90_ms",
    "memory_bytes",
    "tflite_file",
    "tflite_sha256",
)
# The keys that name the model a row measured (text): its file, and the sha256 of its bytes.
FILE_ROW_KEYS = ("tflite_file", "tflite_sha256")
# The keys of a row that scalar metrics may give (`[[overview.results]]` rows): not the file's.
ROW_METRICS = tuple(k for k in ROW_KEYS if k not in FILE_ROW_KEYS)


NUMERIC_ROW_KEYS = frozenset(ROW_KEYS) - {"model", "config", "hyperparameter", *FILE_ROW_KEYS}


@dataclass(frozen=True)
class ResultRow:
    """One measured configuration of a results table, beside its float baseline."""

    model: str | None = None
    config: str | None = None
    hyperparameter: Any = None  # the critical hyperparameter's value; None for a baseline
    baseline_accuracy: float | None = None
    accuracy: float | None = None
    baseline_size: float | None = None  # zipped bytes
    size: float | None = None  # zipped bytes
    tflite_bytes: float | None = None
    latency_ms: float | None = None
    latency_p10_ms: float | None = None
    latency_p90_ms: float | None = None
    memory_bytes: float | None = None
    tflite_file: str | None = None  # the name the measured .tflite was written as
    tflite_sha256: str | None = None  # of its bytes
    extra: dict[str, Any] = field(default_factory=dict)  # keys a notebook adds of its own

    @property
    def is_baseline(self) -> bool:
        """A row that is the float baseline itself: no hyperparameter, or a config naming it."""
        return self.hyperparameter is None or "baseline" in str(self.config or "").lower()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResultRow:
        known = {k: data[k] for k in ROW_KEYS if k in data}
        for key in ("model", *FILE_ROW_KEYS):
            if known.get(key) is not None:
                known[key] = str(known[key])
        return cls(**known, extra={k: v for k, v in data.items() if k not in ROW_KEYS})


def merge_entries(
    current: Mapping[str, NotebookEntry], incoming: Mapping[str, NotebookEntry]
) -> dict[str, NotebookEntry]:
    """The one merge policy: per notebook, the entry that finished last wins."""
    merged = dict(current)
    for stem, entry in incoming.items():
        if stem not in merged or not merged[stem].newer_than(entry):
            merged[stem] = entry
    return merged


@dataclass(frozen=True)
class ResultsFile:
    """The measured results of one technique in one profile."""

    technique: str
    profile: str
    environment: Environment | None = None
    notebooks: dict[str, NotebookEntry] = field(default_factory=dict)
    claims: tuple[ClaimOutcome, ...] = ()

    def entry(self, stem: str) -> NotebookEntry | None:
        return self.notebooks.get(stem)

    def seed_runs_by_notebook(self) -> dict[str, list[tuple[int | None, dict[str, Any]]] | None]:
        """{stem: [(seed, metrics)]} for deciding claims, None for a notebook whose run failed."""
        return {stem: e.seed_runs() for stem, e in self.notebooks.items()}

    def claim(self, claim_id: str) -> ClaimOutcome | None:
        return next((c for c in self.claims if c.id == claim_id), None)

    def failing_claims(self) -> list[ClaimOutcome]:
        """The claims that fail this file's profile (false, or undecided where that fails)."""
        return [c for c in self.claims if c.fails(self.profile)]

    def rows(self, stems: Iterable[str]) -> list[ResultRow]:
        """Every result row that the notebooks `stems` measured."""
        return [row for stem in stems if (e := self.notebooks.get(stem)) for row in e.rows()]

    @classmethod
    def from_json(cls, data: Any) -> ResultsFile:
        data = expect(data, dict, "the results file")
        schema = data.get("schema")
        if schema != SCHEMA:
            raise ResultsFormatError(
                f"has results schema {schema!r}; this tutorial-gen reads schema {SCHEMA}",
                "rerun with --force to measure it again in the current schema"
                if isinstance(schema, int) and schema < SCHEMA
                else "use the tutorial-gen version that wrote it, or rerun with --force",
            )
        technique, profile = data.get("technique"), data.get("profile")
        if not isinstance(technique, str) or not isinstance(profile, str):
            raise ResultsFormatError(
                "names no technique and profile", "pass a results/<profile>.json that a run wrote"
            )
        environment = data.get("environment")
        notebooks = expect(data.get("notebooks", {}), dict, "notebooks")
        return cls(
            technique=technique,
            profile=profile,
            environment=Environment.from_json(environment) if environment else None,
            notebooks={stem: NotebookEntry.from_json(e) for stem, e in notebooks.items()},
            claims=tuple(
                ClaimOutcome.from_json(c) for c in expect(data.get("claims", []), list, "claims")
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "technique": self.technique,
            "profile": self.profile,
            "environment": self.environment.to_json() if self.environment else None,
            "notebooks": {stem: e.to_json() for stem, e in sorted(self.notebooks.items())},
            "claims": [c.to_json() for c in self.claims],
        }
