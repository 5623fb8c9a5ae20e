"""Claims: the sentences of the prose, decided against the metrics a run measured."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..model import Claim, ClaimOutcome, ClaimStatus
from .expressions import COMPARATORS, Unmeasured, evaluate


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
    holds = COMPARATORS[claim.op](measured, claim.threshold)
    return _outcome(claim, ClaimStatus.PASS if holds else ClaimStatus.FAIL, measured=measured)


def check_all(
    claims: tuple[Claim, ...],
    metrics_by_notebook: Mapping[str, Mapping[str, Any] | None],
    profile: str,
) -> list[ClaimOutcome]:
    """Every claim of a technique against the metrics of its notebooks.

    A notebook missing from `metrics_by_notebook` was not run (another shard has it): its claims
    are `not-run`. One present with None metrics did not finish: its claims fail.
    """
    return [
        _outcome(claim, ClaimStatus.NOT_RUN, reason="its notebook was not run")
        if claim.notebook not in metrics_by_notebook and profile in claim.profiles
        else check(claim, metrics_by_notebook.get(claim.notebook), profile)
        for claim in claims
    ]
