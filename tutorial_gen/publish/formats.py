"""How numbers read on a page: the formatting filters of overview templates and prose."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..registry import Registry


class Measured(float):
    """A number measured over several seeds: its value (their median), with `seeds` holding each
    seed's value. Arithmetic gives a plain float; the filters below show the range."""

    seeds: tuple[float, ...] = ()

    def __new__(cls, value: float, seeds: Sequence[float] = ()) -> Measured:
        number = super().__new__(cls, value)
        number.seeds = tuple(float(s) for s in seeds)
        return number


def _over_seeds(value: float, shown: Callable[[float], str]) -> str:
    """`shown(value)`, followed by the range over the seeds where there are several."""
    text = shown(value)
    seeds = getattr(value, "seeds", ())
    low, high = (shown(min(seeds)), shown(max(seeds))) if seeds else ("", "")
    if len(seeds) > 1 and low != high:  # a range the shown digits cannot tell apart is left out
        text += f" ({low}–{high} over {len(seeds)} seeds)"
    return text


def times(value: float | None, digits: int = 1) -> str:
    """A ratio as `3.4x` (`3.4x (3.3x–3.5x over 3 seeds)` for a value measured over seeds)."""
    return "n/a" if value is None else _over_seeds(value, lambda v: f"{v:.{digits}f}x")


def pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage, `0.8912` -> `89.12%` (with the range over seeds, as `times`)."""
    return "n/a" if value is None else _over_seeds(value, lambda v: f"{100 * v:.{digits}f}%")


def points(value: float | None, digits: int = 2) -> str:
    """A difference of two accuracies (fractions) in percentage points, `0.0096` -> `0.96 points`
    (`0.96 points (0.64–1.09 over 3 seeds)` for a value measured over seeds)."""
    if value is None:
        return "n/a"
    seeds = getattr(value, "seeds", ())
    text = f"{100 * value:.{digits}f} points"
    low, high = (
        (f"{100 * min(seeds):.{digits}f}", f"{100 * max(seeds):.{digits}f}") if seeds else ("", "")
    )
    if len(seeds) > 1 and low != high:
        text += f" ({low}–{high} over {len(seeds)} seeds)"
    return text


def _size(value: float) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if value >= scale:
            return f"{value / scale:.{2 if unit == 'MB' else 1}f} {unit}"
    return f"{int(value)} B"


def size(value: float | None) -> str:
    """Bytes in the unit a reader wants: `24.3 KB`, `1.46 MB` (powers of 1000, as the docs use),
    with the range over seeds, as `times`."""
    return "n/a" if value is None else _over_seeds(value, _size)


def ms(value: float | None) -> str:
    """Milliseconds with a sensible precision (with the range over seeds, as `times`)."""
    if value is None:
        return "n/a"
    return _over_seeds(value, lambda v: f"{v:.3f} ms" if v < 1 else f"{v:.2f} ms")


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
    "points": points,
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
