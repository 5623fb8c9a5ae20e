"""Seeds: one notebook run over several random seeds, and what its results file keeps of them.

A tutorial's full profile runs each notebook three times, with the `seed` parameter set to its
value, its value + 1 and + 2, each in a fresh kernel; every seed's metrics are kept, and the entry's
`metrics` holds their medians (the numbers the overview states, beside their range).
"""

from __future__ import annotations

import statistics
from typing import Any

from ..errors import ConfigError
from ..model import SEED_PARAMETER, Claim, Notebook, RunRequest, Technique
from .preflight import parameter_defaults

SAMPLES_SUFFIX = "_samples"


def seeds_for(technique: Technique, notebook: Notebook, request: RunRequest) -> list[int | None]:
    """The seeds a run covers: [None] for one plain run, else the values of `seed` to set."""
    asked = request.seeds or notebook.declared_seeds(request.profile)
    count = asked or notebook.seed_count(request.profile)
    if count == 1:
        return [None]
    defaults = parameter_defaults(notebook) if not technique.foreign else {}
    if SEED_PARAMETER not in defaults:
        if not asked:  # only the default asked for seeds: run once
            return [None]
        raise ConfigError(
            f"{technique.label(notebook.stem)}: {count} seeds asked, but the script has no "
            f"'{SEED_PARAMETER}' parameter",
            path=notebook.script,
            hint=f"add `{SEED_PARAMETER} = 42` to its parameters cell and use it, or run one seed",
        )
    base = {**defaults, **notebook.parameters(request.profile), **request.overrides}
    first = base[SEED_PARAMETER]
    if not isinstance(first, int) or isinstance(first, bool):
        raise ConfigError(
            f"{technique.label(notebook.stem)}: parameter '{SEED_PARAMETER}' is {first!r}, "
            "not a whole number",
            path=notebook.script,
        )
    return [first + i for i in range(count)]


def decided_claims(technique: Technique, notebook: Notebook, profile: str) -> list[Claim]:
    """The claims a run of `notebook` in `profile` decides (a measuring helper samples until
    they are): its own, in the profile, and not unverified."""
    return [
        c
        for c in technique.claims
        if c.notebook == notebook.stem and profile in c.profiles and not c.unverified
    ]


def _median_of(values: list[Any]) -> Any:
    """The value the seeds' metrics share: the median of numbers, else the first seed's value."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == len(values):
        middle = statistics.median(numbers)
        return (
            int(middle)
            if all(isinstance(v, int) for v in numbers) and middle == int(middle)
            else middle
        )
    if any(v is None for v in values):
        return None  # not measured for some seed: the claim is unverified, its reason kept
    return values[0]


def combined_metrics(per_seed: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One set of metrics for the notebook from each seed's: medians of numbers, the first seed's
    rows and reasons; samples stay with their seed (a claim's interval is per seed)."""
    runs = list(per_seed.values())
    names = dict.fromkeys(name for metrics in runs for name in metrics)
    return {
        name: _median_of([metrics.get(name) for metrics in runs])
        for name in names
        if not name.endswith(SAMPLES_SUFFIX)
    }
