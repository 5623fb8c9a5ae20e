"""Noise: the confidence interval of a claim whose metrics were sampled (latency rounds).

A notebook that times models with the `measure` snippet's `compare_latency` stores, beside each
latency metric `x`, its round medians as `x_samples`. The rounds of the models compared were
timed side by side, so they are resampled together: a percentile bootstrap over rounds, with the
same resampling (seed 0) as the snippet uses to decide when to stop sampling, so the interval here
is the one the notebook stopped on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .expressions import COMPARATORS, Unmeasured, evaluate, metric_names

SAMPLES_SUFFIX = "_samples"  # `x_samples`: the samples whose median is the metric `x`
CONFIDENCE = 0.99
RESAMPLES = 2000


def samples_of(expr: str, metrics: Mapping[str, Any]) -> dict[str, list[float]]:
    """The samples of every metric of `expr` that has them (none: an exact measurement)."""
    found = {}
    for name in metric_names(expr):
        values = metrics.get(name + SAMPLES_SUFFIX)
        if isinstance(values, list) and len(values) >= 2:
            found[name] = [float(v) for v in values]
    return found


def interval(
    expr: str, metrics: Mapping[str, Any], samples: Mapping[str, list[float]]
) -> tuple[float, float]:
    """The CONFIDENCE percentile-bootstrap interval of `expr` over the rounds in `samples`.

    Metrics without samples keep their value. Raises `Unmeasured` like `evaluate`.
    """
    count = min(len(v) for v in samples.values())
    picks = np.random.default_rng(0).integers(0, count, size=(RESAMPLES, count))
    medians = {k: np.median(np.asarray(v[:count])[picks], axis=1) for k, v in samples.items()}
    values = []
    for i in range(RESAMPLES):
        bound = {**metrics, **{k: float(m[i]) for k, m in medians.items()}}
        try:
            values.append(evaluate(expr, bound))
        except ZeroDivisionError:
            values.append(float("nan"))
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def decided(low: float, high: float, op: str, threshold: float) -> bool | None:
    """Whether the claim holds over the whole interval (True), fails over it (False), or cannot
    be told from it (None): the threshold lies inside, or the ends disagree."""
    if not (np.isfinite(low) and np.isfinite(high)) or low < threshold < high:
        return None
    at_low, at_high = COMPARATORS[op](low, threshold), COMPARATORS[op](high, threshold)
    return at_low if at_low == at_high else None


__all__ = ["CONFIDENCE", "SAMPLES_SUFFIX", "Unmeasured", "decided", "interval", "samples_of"]
