"""Claims: the sentences of the prose, decided against the metrics a run measured."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Claim, ClaimOutcome, ClaimStatus
from .expressions import COMPARATORS, Unmeasured, evaluate
from .noise import CONFIDENCE, decided, interval, samples_of

SeedRuns = Sequence[tuple[int | None, Mapping[str, Any]]]  # [(seed, metrics)] of one notebook


def _outcome(claim: Claim, status: ClaimStatus, **more: Any) -> ClaimOutcome:
    return ClaimOutcome(
        id=claim.id,
        notebook=claim.notebook,
        phrase=claim.phrase,
        expr=claim.expr,
        op=claim.op,
        threshold=claim.threshold,
        status=status,
        published=claim.published,
        **more,
    )


def check(claim: Claim, metrics: Mapping[str, Any] | None, profile: str) -> ClaimOutcome:
    """Decide one claim: pass, fail, or unverified (with the reason), never a guess."""
    if profile not in claim.profiles:
        return _outcome(
            claim, ClaimStatus.NOT_IN_PROFILE, reason=f"holds for {', '.join(claim.profiles)}"
        )
    if claim.unverified:  # never a pass; still show what was measured here, if anything
        try:
            measured = evaluate(claim.expr, metrics or {})
        except (Unmeasured, ZeroDivisionError):
            measured = None
        return _outcome(claim, ClaimStatus.UNVERIFIED, measured=measured, reason=claim.unverified)
    if metrics is None:
        return _outcome(claim, ClaimStatus.FAIL, reason="the notebook did not finish")
    try:
        measured = evaluate(claim.expr, metrics)
    except Unmeasured as missing:
        reason = metrics.get(f"{missing.args[0]}_unmeasured_reason") or "not measured in this run"
        return _outcome(claim, ClaimStatus.UNVERIFIED, reason=f"{missing.args[0]}: {reason}")
    except ZeroDivisionError:
        return _outcome(claim, ClaimStatus.FAIL, reason="division by zero")
    except ArithmeticError as error:  # an overflow: a number no sentence can be about
        return _outcome(claim, ClaimStatus.FAIL, reason=f"cannot be computed: {error}")
    if not math.isfinite(measured):
        return _outcome(claim, ClaimStatus.FAIL, measured=None, reason=f"measured {measured}")
    samples = samples_of(claim.expr, metrics)
    if samples:
        return _decide_noisy(claim, metrics, samples, measured)
    holds = COMPARATORS[claim.op](measured, claim.threshold)
    return _outcome(claim, ClaimStatus.PASS if holds else ClaimStatus.FAIL, measured=measured)


def _decide_noisy(
    claim: Claim, metrics: Mapping[str, Any], samples: dict[str, list[float]], measured: float
) -> ClaimOutcome:
    """A claim on sampled metrics: decided only by an interval wholly on one side."""
    low, high = interval(claim.expr, metrics, samples)
    verdict = decided(low, high, claim.op, claim.threshold)
    bounds = [low, high]
    if verdict is None:
        rounds = min(len(v) for v in samples.values())
        reason = (
            f"inconclusive: the {CONFIDENCE:.0%} interval [{low:.4g}, {high:.4g}] over {rounds} "
            f"rounds does not clear {claim.op} {claim.threshold:g}; the machine was too noisy "
            "to decide: rerun on a quieter machine or give the measurement more time"
        )
        return _outcome(
            claim, ClaimStatus.INCONCLUSIVE, measured=measured, interval=bounds, reason=reason
        )
    status = ClaimStatus.PASS if verdict else ClaimStatus.FAIL
    return _outcome(claim, status, measured=measured, interval=bounds)


def _measured(outcome: ClaimOutcome) -> str:
    return "not measured" if outcome.measured is None else f"measured {outcome.measured:.4g}"


# How the outcomes of several seeds combine under "every": the first status found wins.
_PRECEDENCE = (
    ClaimStatus.NOT_IN_PROFILE,
    ClaimStatus.FAIL,
    ClaimStatus.INCONCLUSIVE,
    ClaimStatus.UNVERIFIED,
    ClaimStatus.PASS,
)
_STATISTICS = {
    "median": statistics.median,
    "mean": statistics.fmean,
    "min": min,
    "max": max,
}


def check_seeds(claim: Claim, runs: SeedRuns | None, profile: str) -> ClaimOutcome:
    """Decide a claim over every seed its notebook ran: it must hold for each seed ("every"),
    or its `over_seeds` statistic of the seeds' values must."""
    if not runs or len(runs) == 1 or profile not in claim.profiles:
        return check(claim, runs[0][1] if runs else None, profile)
    seeds = [check(claim, metrics, profile) for _, metrics in runs]
    values = [o.measured for o in seeds]
    known = [v for v in values if v is not None]
    middle = statistics.median(known) if known else None
    intervals = [o.interval for o in seeds if o.interval]
    hull = [min(i[0] for i in intervals), max(i[1] for i in intervals)] if intervals else None
    more: dict[str, Any] = {"measured": middle, "per_seed": values, "interval": hull}
    statistic = _STATISTICS.get(claim.over_seeds)
    if statistic and len(known) == len(values) and not claim.unverified:
        value = float(statistic(known))
        holds = COMPARATORS[claim.op](value, claim.threshold)
        more.update(
            measured=value, interval=None, reason=f"{claim.over_seeds} of {len(runs)} seeds"
        )
        return _outcome(claim, ClaimStatus.PASS if holds else ClaimStatus.FAIL, **more)
    status = next(s for s in _PRECEDENCE if any(o.status == s for o in seeds))
    return _outcome(claim, status, reason=_seed_reasons(runs, seeds, status), **more)


def _seed_reasons(runs: SeedRuns, seeds: list[ClaimOutcome], status: ClaimStatus) -> str:
    """Why the seeds give `status`: each seed's reason, or one reason all of them share."""
    if status == ClaimStatus.PASS:
        return f"holds for each of {len(runs)} seeds"
    by_reason: dict[str, list[str]] = {}
    for (seed, _), outcome in zip(runs, seeds, strict=True):
        if outcome.status == status:
            by_reason.setdefault(outcome.reason or _measured(outcome), []).append(str(seed))
    if len(by_reason) == 1 and len(next(iter(by_reason.values()))) == len(runs):
        return next(iter(by_reason))  # the same for every seed: said once
    return "; ".join(f"seed {', '.join(s)}: {reason}" for reason, s in by_reason.items())


def check_all(
    claims: tuple[Claim, ...],
    runs_by_notebook: Mapping[str, SeedRuns | Mapping[str, Any] | None],
    profile: str,
) -> list[ClaimOutcome]:
    """Every claim of a technique against the runs of its notebooks.

    Each notebook maps to its seed runs ([(seed, metrics)], see `ResultsFile.seed_runs_by_notebook`)
    or, for a single run, to its metrics. A notebook missing from `runs_by_notebook` was not run
    (another shard has it): its claims are `not-run`. One mapped to None did not finish: its
    claims fail.
    """
    outcomes = []
    for claim in claims:
        if claim.notebook not in runs_by_notebook and profile in claim.profiles:
            outcomes.append(_outcome(claim, ClaimStatus.NOT_RUN, reason="its notebook was not run"))
            continue
        runs = runs_by_notebook.get(claim.notebook)
        if isinstance(runs, Mapping):
            runs = [(None, runs)]
        outcomes.append(check_seeds(claim, runs, profile))
    return outcomes
