"""How numbers read on a page: the formatting filters of overview templates and prose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import Registry


def times(value: float | None, digits: int = 1) -> str:
    """A ratio as `3.4x`."""
    return "n/a" if value is None else f"{value:.{digits}f}x"


def pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage, `0.8912` -> `89.12%`."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def size(value: float | None) -> str:
    """Bytes in the unit a reader wants: `24.3 KB`, `1.46 MB` (powers of 1000, as the docs use)."""
    if value is None:
        return "n/a"
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if value >= scale:
            return f"{value / scale:.{2 if unit == 'MB' else 1}f} {unit}"
    return f"{int(value)} B"


def ms(value: float | None) -> str:
    """Milliseconds with a sensible precision."""
    if value is None:
        return "n/a"
    return f"{value:.3f} ms" if value < 1 else f"{value:.2f} ms"


def down(value: float | None, digits: int = 0) -> str:
    """A number rounded down, for prose that must stay true (`9.7` -> `9`)."""
    if value is None:
        return "n/a"
    scale = 10**digits
    return f"{int(value * scale) / scale:.{digits}f}"


# Filters the overview template and technique prose may use.
FILTERS: dict[str, Callable[..., str]] = {
    "times": times,
    "pct": pct,
    "size": size,
    "ms": ms,
    "down": down,
}

# Formats a results table's `hyperparameter_format` may name.
HYPERPARAMETER_FORMATS: Registry[Callable[[Any], str]] = Registry("hyperparameter format")
for _name, _format in (
    ("pct", pct),
    ("size", size),
    ("ms", ms),
    ("times", times),
    ("int", lambda v: f"{int(v)}"),
    ("str", str),
):
    HYPERPARAMETER_FORMATS.add(_name, _format)
