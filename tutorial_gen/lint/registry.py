"""The lint rule registry: a rule is a function over a `Document` that yields `Hit`s."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..registry import Registry
from .document import Cell, Document


@dataclass(frozen=True)
class Hit:
    """What a rule reports: a cell, the line inside it (from 1), and specifics when it has them.
    A hit about another file than the notebook (its technique.toml) has that `path` and a line
    of it, and no cell."""

    cell: Cell | None
    line: int | None = 1
    message: str | None = None
    hint: str | None = None
    path: Path | None = None


@dataclass(frozen=True)
class Rule:
    """A lint rule: its id, what it catches in one line, what to do about it, and its check."""

    id: str
    message: str
    hint: str
    check: Callable[[Document], Iterable[Hit]]


RULES: Registry[Rule] = Registry("rule")


def rule(rule_id: str, message: str, hint: str) -> Callable:
    """Register a rule function under `rule_id`."""

    def register(check: Callable[[Document], Iterable[Hit]]) -> Callable:
        RULES.add(rule_id, Rule(rule_id, message, hint, check))
        return check

    return register


@dataclass(frozen=True)
class Finding:
    """One problem found: the rule, what is wrong, where (script line, else cell; a line of
    technique.toml for what it declares), what to do."""

    rule: str
    message: str
    path: Path
    line: int | None
    cell: int | None
    hint: str

    def __str__(self) -> str:
        path = self.path
        with contextlib.suppress(ValueError, OSError):
            path = path.resolve().relative_to(Path.cwd().resolve())
        where = f":{self.line}" if self.line is not None else ""
        if self.line is None and self.cell is not None:
            where = f":cell {self.cell}"
        return f"{path}{where}: {self.rule} {self.message} ({self.hint})"
