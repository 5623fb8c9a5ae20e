"""The functions technique prose and the overview template may call besides the filters.

`render` binds each to one technique and its results; `tutorial-gen docs` documents them from
their docstrings, under the names and arguments of `PROSE_HELPERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..model import ResultsFile
from .formats import Measured


def claim(outcomes: Mapping[str, dict[str, Any]], path: Path, claim_id: str) -> dict[str, Any]:
    """The outcome of claim `id` in the full-profile results: `measured` (the value of its
    `expr`), `status` and `reason`, beside the claim's own keys (`phrase`, `threshold`,
    `published`, ...). `{{ claim('qat-tflite-3x-smaller').measured | times }}` prints the
    measured ratio (`3.4x`); a claim with no result is an error."""
    if claim_id not in outcomes:
        raise ConfigError(f"the overview quotes claim '{claim_id}', which has no result", path=path)
    return outcomes[claim_id]


def metric(results: ResultsFile, path: Path, notebook: str, name: str) -> Any:
    """The value of metric `name` of notebook `notebook` in the full-profile results:
    `{{ metric('qat_example', 'qat_tflite_accuracy') | pct }}` prints it as a percentage
    (`89.12%`); a metric with no value is an error. Of a notebook run over several seeds, the
    value is the seeds' median, and the filters add their range (`89.12% (88.90%–89.40% over 3
    seeds)`); so does `claim(id).measured`."""
    entry = results.entry(notebook)
    value = ((entry.metrics if entry else None) or {}).get(name)
    if value is None:
        raise ConfigError(
            f"the overview quotes metric '{notebook}.{name}', which has no value", path=path
        )
    seeds = [m.get(name) for m in (entry.seed_metrics or {}).values()] if entry else []
    if len(seeds) > 1 and all(isinstance(v, int | float) for v in seeds):
        return Measured(value, seeds)
    return value


# How prose calls each helper, and the function behind it.
PROSE_HELPERS: dict[str, Callable[..., Any]] = {
    "claim(id)": claim,
    "metric(notebook, name)": metric,
}
