"""Progress events: what a running notebook reports, for the views that show it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..model import ProgressKind


@dataclass(frozen=True)
class ProgressEvent:
    """Something a running notebook did: a cell started or finished, or the notebook ended."""

    label: str
    kind: ProgressKind
    done: int
    total: int
    elapsed: float
    line: int | None = None


ProgressHook = Callable[[ProgressEvent], None]
