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
    (`89.12%`); a metric with no value is an error."""
    entry = results.entry(notebook)
    value = ((entry.metrics if entry else None) or {}).get(name)
    if value is None:
        raise ConfigError(
            f"the overview quotes metric '{notebook}.{name}', which has no value", path=path
        )
    return value


# How prose calls each helper, and the function behind it.
PROSE_HELPERS: dict[str, Callable[..., Any]] = {
    "claim(id)": claim,
    "metric(notebook, name)": metric,
}
