"""What the site's pages say, as plain data: claim rows, what needs attention, metric deltas, the
models to download.

Pure functions of the typed results, so that each page's content is tested without a browser;
`pages` prints them, escaped, through the sandboxed templates.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..model import ClaimStatus, Environment, ModelManifest, ResultsFile
from ..publish.formats import pct, size
from ..run.verdict import measured_with_noise

# The statuses the front page lists, and how it names them.
FAILING = (ClaimStatus.FAIL,)
OPEN = (ClaimStatus.INCONCLUSIVE, ClaimStatus.UNVERIFIED)
COUNTED = (
    ClaimStatus.PASS,
    ClaimStatus.FAIL,
    ClaimStatus.INCONCLUSIVE,
    ClaimStatus.UNVERIFIED,
    ClaimStatus.NOT_IN_PROFILE,
    ClaimStatus.NOT_RUN,
)
MODELS_FOLDER = "models"  # beside a technique's models page: the files it offers


@dataclass(frozen=True)
class ClaimRow:
    """One claim as the claims page and the front page show it."""

    id: str
    notebook: str
    phrase: str
    measured: str  # the value, with its interval or its range over seeds where there is one
    must_hold: str  # `expr op threshold`
    published: str
    status: str
    reason: str


def claim_rows(results: ResultsFile) -> list[ClaimRow]:
    """Every claim of a results file, in its order."""
    return [
        ClaimRow(
            id=c.id,
            notebook=c.notebook,
            phrase=c.phrase,
            measured=measured_with_noise(c),
            must_hold=f"{c.expr} {c.op} {c.threshold:g}",
            published=c.published or "",
            status=str(c.status),
            reason=c.reason or "",
        )
        for c in results.claims
    ]


def status_counts(results: ResultsFile) -> str:
    """`3 pass, 1 fail, 0 inconclusive, 1 unverified`, and the statuses not decided, if any."""
    counts = Counter(c.status for c in results.claims)
    decided = [f"{counts[s]} {s}" for s in COUNTED[:4]]
    left = [f"{counts[s]} {s}" for s in COUNTED[4:] if counts[s]]
    return ", ".join(decided) + (f" ({', '.join(left)})" if left else "")


def needing_attention(results: ResultsFile) -> tuple[list[ClaimRow], list[ClaimRow]]:
    """(the claims that fail, the claims left open: inconclusive or unverified)."""
    rows = claim_rows(results)
    return (
        [r for r in rows if r.status in FAILING],
        [r for r in rows if r.status in OPEN],
    )


@dataclass(frozen=True)
class MetricDelta:
    """One scalar metric of one notebook, in the committed results and in the last run."""

    notebook: str
    metric: str
    committed: float | None
    last: float | None

    @property
    def change(self) -> float | None:
        if self.committed is None or self.last is None:
            return None
        return self.last - self.committed

    @property
    def relative(self) -> float | None:
        change = self.change
        if change is None or not self.committed:
            return None
        return change / abs(self.committed)


def _scalar(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def metric_deltas(last: ResultsFile, committed: ResultsFile) -> list[MetricDelta]:
    """The scalar metrics (numbers; rows are the overview's) that differ between the committed
    results and the last run, notebook by notebook, including those only one of them holds."""
    deltas = []
    for stem in sorted(set(last.notebooks) | set(committed.notebooks)):
        before = (committed.entry(stem) and committed.entry(stem).metrics) or {}
        after = (last.entry(stem) and last.entry(stem).metrics) or {}
        for name in sorted(set(before) | set(after)):
            old, new = _scalar(before.get(name)), _scalar(after.get(name))
            if (old is None and new is None) or old == new:
                continue
            deltas.append(MetricDelta(stem, name, old, new))
    return deltas


def number(value: float | None) -> str:
    """A metric as the pages print it."""
    return "n/a" if value is None else f"{value:.4g}"


def change_text(delta: MetricDelta) -> str:
    """`+0.012 (+1.3%)`, `new`, `gone`."""
    if delta.committed is None:
        return "new"
    if delta.last is None:
        return "gone"
    relative = f" ({delta.relative:+.1%})" if delta.relative is not None else ""
    return f"{delta.change:+.4g}{relative}"


def environment_rows(environment: Environment | None) -> list[tuple[str, str]]:
    """The environment stamp of a results file as (what, value) rows, packages last."""
    if environment is None:
        return []
    rows = [
        ("CPU", environment.cpu),
        ("cores", environment.cores),
        ("latency threads", environment.latency_threads),
        ("OS", environment.os),
        ("Python", environment.python),
        ("date", environment.date),
        ("commit", environment.commit),
    ]
    if environment.diff is not None:
        rows.append(("diff of the uncommitted changes (sha256)", environment.diff))
    rows += [(name, version) for name, version in sorted(environment.packages.items())]
    return [(what, "n/a" if value is None else str(value)) for what, value in rows]


@dataclass(frozen=True)
class ModelRow:
    """One results row's trained model as the models page shows it."""

    notebook: str
    model: str
    config: str
    accuracy: str
    size: str  # zipped
    raw: str
    sha256: str
    file: str
    href: str | None  # the download, relative to the page; None where this build has no file
    note: str  # why there is no download
    run: str | None  # what to run for one


def _number(value: Any, shown: Any) -> str:
    return shown(value) if _scalar(value) is not None else "n/a"


def model_rows(manifest: ModelManifest) -> list[ModelRow]:
    """Every row of a manifest, with a download where its file is here and is the row's."""
    return [
        ModelRow(
            notebook=m.notebook,
            model="n/a" if m.model is None else str(m.model),
            config="n/a" if m.config is None else str(m.config),
            accuracy=_number(m.accuracy, pct),
            size=_number(m.size, size),
            raw=_number(m.tflite_bytes, size),
            sha256=m.sha256 or "n/a",
            file=m.file,
            href=f"{MODELS_FOLDER}/{quote(m.path)}" if m.offered else None,
            note=m.note or "",
            run=m.run,
        )
        for m in manifest.models
    ]
