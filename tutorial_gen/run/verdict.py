"""Verdict: what a run concludes, said so that nobody misses a failure.

One line counts the claims the run decided; a notebook whose claim fails is failed, not `ok`;
an inconclusive claim (noise left it open) fails the full profile, whose numbers the prose states,
and is only reported in the smoke profile; and cache hits say whose numbers they reuse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..model import ClaimOutcome, ClaimStatus, Profile, RunStatus
from .recorder import Reused, TechniqueReport

DECIDED = (ClaimStatus.PASS, ClaimStatus.FAIL, ClaimStatus.INCONCLUSIVE, ClaimStatus.UNVERIFIED)
CLAIM_FAILED = "claim FAIL"  # the status of a notebook that ran but whose claim is false


def verdict_line(reports: Iterable[TechniqueReport]) -> str:
    """`N claims: P pass, F FAIL, I inconclusive, U unverified`, and what was not counted."""
    counts = Counter(c.status for report in reports for c in report.claims)
    decided = sum(counts[s] for s in DECIDED)
    line = (
        f"{decided} claim{'' if decided == 1 else 's'}: {counts[ClaimStatus.PASS]} pass, "
        f"{counts[ClaimStatus.FAIL]} FAIL, {counts[ClaimStatus.INCONCLUSIVE]} inconclusive, "
        f"{counts[ClaimStatus.UNVERIFIED]} unverified"
    )
    left = [
        f"{counts[status]} {what}"
        for status, what in (
            (ClaimStatus.NOT_IN_PROFILE, "not in this profile"),
            (ClaimStatus.NOT_RUN, "not run: their notebooks are in another shard"),
        )
        if counts[status]
    ]
    return f"{line} (not counted: {', '.join(left)})" if left else line


def notebook_statuses(reports: Iterable[TechniqueReport]) -> dict[str, str]:
    """{label: status} of every run: how it ended, or that one of its claims fails."""
    statuses = {}
    for report in reports:
        for run in report.runs:
            mine = [c for c in report.claims if c.notebook == run.stem]
            if run.status != RunStatus.OK:
                statuses[run.label] = str(run.status)
            elif any(c.status == ClaimStatus.FAIL for c in mine):
                statuses[run.label] = CLAIM_FAILED
            elif any(c.fails(report.profile) for c in mine):
                statuses[run.label] = str(ClaimStatus.INCONCLUSIVE)
            else:
                statuses[run.label] = str(run.status)
    return statuses


def measured_text(value: float | None) -> str:
    """A measured value as the tables show it."""
    return "n/a" if value is None else f"{value:.4g}"


def measured_with_noise(result: ClaimOutcome) -> str:
    """The measured value, its interval where it was sampled, its range where seeds ran."""
    text = measured_text(result.measured)
    if result.interval:
        low, high = result.interval
        text += f" [{low:.4g}, {high:.4g}]"
    seeds = [v for v in result.per_seed or [] if v is not None]
    if len(seeds) > 1:
        text += f" (seeds {min(seeds):.4g} to {max(seeds):.4g})"
    return text


def _interval(claim: ClaimOutcome) -> str:
    if not claim.interval:
        return "no interval recorded"
    low, high = claim.interval
    return f"interval [{low:.4g}, {high:.4g}]"


def noise_messages(reports: Iterable[TechniqueReport]) -> list[str]:
    """One line per inconclusive claim: an error in the full profile, a note in the others."""
    lines = []
    for report in reports:
        for claim in report.claims:
            if claim.status != ClaimStatus.INCONCLUSIVE:
                continue
            what = (
                f"claim '{claim.id}' ({report.technique.slug}/{claim.notebook}) is inconclusive: "
                f"measured {measured_text(claim.measured)}, {_interval(claim)}, must hold {claim.op} "
                f"{claim.threshold:g}"
            )
            if report.profile == Profile.FULL:
                lines.append(
                    f"error: {what}; this machine was too noisy to decide it (rerun it on a "
                    "quieter machine)"
                )
            else:
                lines.append(
                    f"note: {what}; too noisy to decide (reported in the {report.profile} "
                    "profile; the full profile fails on it)"
                )
    return lines


def _measured_where(reused: Reused) -> tuple[str, str, str]:
    """(machine, commit, date) of a reused result."""
    env = reused.environment
    if env is None:
        return "an unstamped machine", "no recorded commit", reused.finished or ""
    commit = "no recorded commit"
    if env.commit:
        commit = f"commit {env.commit[:12]}" + ("-dirty" if env.dirty else "")
        commit += f" (diff {env.diff})" if env.diff else ""
    cores = f" ({env.cores} cores)" if env.cores else ""
    return f"{env.cpu or 'an unrecorded machine'}{cores}", commit, reused.finished or env.date or ""


def _named(labels: list[str], most: int = 4) -> str:
    """A few notebooks by name; many by their count and techniques."""
    if len(labels) <= most:
        return ", ".join(labels)
    techniques = ", ".join(dict.fromkeys(label.split("/")[0] for label in labels))
    return f"{len(labels)} notebooks ({techniques})"


def reuse_notes(reports: Iterable[TechniqueReport]) -> list[str]:
    """Whose numbers the cache hits reuse: one line per machine and commit they come from."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for report in reports:
        for stem, reused in report.reused.items():
            machine, commit, date = _measured_where(reused)
            groups.setdefault((machine, commit), []).append(
                (report.technique.label(stem), date[:10])
            )
    lines = []
    for (machine, commit), hits in groups.items():
        dates = sorted({date for _, date in hits if date})
        when = "" if not dates else f" on {dates[0]}"
        when += f" to {dates[-1]}" if len(dates) > 1 else ""
        lines.append(
            f"reused (cache hit{'s' if len(hits) > 1 else ''}): the numbers of "
            f"{_named([label for label, _ in hits])}, measured on {machine}{when} at {commit}"
        )
    return lines
