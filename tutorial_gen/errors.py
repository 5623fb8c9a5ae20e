"""The one exception family of tutorial_gen: every failure a user can cause or fix.

Each error knows the file (and line) it is about and what to do next; `cli.main` turns it into a
one-line message and an exit code, never a traceback.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable
from pathlib import Path


class TutorialGenError(Exception):
    """Base class: a message, the file and line it concerns, a hint, an exit code."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.hint = hint

    def __reduce__(self) -> tuple:
        # keyword-only fields: rebuild through a helper so errors cross process boundaries
        return (_rebuild, (type(self), self.message, self.path, self.line, self.hint))

    def location(self) -> str:
        """`file:line: ` prefix, or an empty string when the error is about no file."""
        if self.path is None:
            return ""
        path = self.path
        with contextlib.suppress(ValueError, OSError):
            path = path.resolve().relative_to(Path.cwd().resolve())
        return f"{path}:{self.line}: " if self.line else f"{path}: "

    def __str__(self) -> str:
        text = f"{self.location()}{self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(TutorialGenError):
    """A `technique.toml` or `pyproject.toml` that is malformed or inconsistent."""


class ScriptError(TutorialGenError):
    """A Jupytext script that cannot be turned into a notebook."""


class CheckFailed(TutorialGenError):
    """A `--check` mode found a generated file that differs from what its source builds."""

    exit_code = 1


class DatasetError(TutorialGenError):
    """A dataset the tutorials need is missing and cannot be provisioned here."""


class ExecutionError(TutorialGenError):
    """A notebook failed while it ran: a cell raised, a kernel died, a time budget ran out."""

    exit_code = 1


def _rebuild(
    cls: type[TutorialGenError], message: str, path: Path | None, line: int | None, hint: str | None
) -> TutorialGenError:
    return cls(message, path=path, line=line, hint=hint)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ` (did you mean 'x'?)` suffix naming the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
