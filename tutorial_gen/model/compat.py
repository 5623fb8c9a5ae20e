"""The compatibility file: how each notebook of a technique ran on each tested stack.

`notebooks/<technique>/results/compat.json`, written by `tutorial-gen compat`, read by `render`
for the overview's API compatibility section. Same rules as the results file: `from_json` checks
the shape and says what to do with a file it cannot read, `to_json` writes the keys it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .results import Environment, ResultsFormatError, expect, expect_schema

COMPAT_SCHEMA = 1


class CompatStatus(StrEnum):
    """How one notebook fared on one stack."""

    PASS = "pass"  # ran to the end, every claim of the profile held
    FAIL = "fail"  # a cell raised, timed out or the kernel died
    CLAIM_FAIL = "claim-fail"  # ran, but a claim of the profile did not hold (or was undecided)
    NO_ENVIRONMENT = "no-environment"  # the stack could not be installed


@dataclass(frozen=True)
class CompatCell:
    """One notebook on one stack."""

    status: CompatStatus
    wall_seconds: float = 0.0
    error: str | None = None  # the first error, one line
    line: int | None = None  # its line in the notebook's script
    claims: dict[str, str] = field(default_factory=dict)  # {claim id: status}

    @property
    def ok(self) -> bool:
        return self.status == CompatStatus.PASS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompatCell:
        data = expect(data, dict, "a compatibility entry")
        try:
            status = CompatStatus(data["status"])
        except (KeyError, ValueError) as error:
            raise ResultsFormatError(
                f"a compatibility entry has no valid status ({error})",
                "rerun `tutorial-gen compat` to write the file again",
            ) from None
        return cls(
            status,
            float(data.get("wall_seconds", 0.0)),
            data.get("error"),
            data.get("line"),
            dict(expect(data.get("claims", {}), dict, "claims")),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": str(self.status), "wall_seconds": self.wall_seconds}
        if self.error is not None:
            data["error"] = self.error
            data["line"] = self.line
        data["claims"] = dict(sorted(self.claims.items()))
        return data


@dataclass(frozen=True)
class StackRun:
    """Every selected notebook of a technique on one stack, and the stack as it was declared."""

    pins: dict[str, str]
    supported: bool
    legacy_keras: bool
    note: str | None
    finished: str  # when its last notebook ended (UTC, ISO 8601)
    notebooks: dict[str, CompatCell]  # {stem: outcome}
    environment: Environment | None = None  # where it ran
    install_error: str | None = None  # why the stack could not be installed

    @property
    def tensorflow(self) -> str:
        return self.pins.get("tensorflow", "?")

    @property
    def ok(self) -> bool:
        return self.install_error is None and all(c.ok for c in self.notebooks.values())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StackRun:
        data = expect(data, dict, "a stack")
        notebooks = expect(data.get("notebooks", {}), dict, "notebooks")
        stamp = data.get("environment")
        return cls(
            dict(expect(data.get("pins", {}), dict, "pins")),
            bool(data.get("supported", True)),
            bool(data.get("legacy_keras", True)),
            data.get("note"),
            str(data.get("finished", "")),
            {stem: CompatCell.from_json(cell) for stem, cell in notebooks.items()},
            Environment.from_json(stamp) if stamp else None,
            data.get("install_error"),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pins": dict(sorted(self.pins.items())),
            "supported": self.supported,
            "legacy_keras": self.legacy_keras,
            "note": self.note,
            "finished": self.finished,
        }
        if self.install_error is not None:
            data["install_error"] = self.install_error
        data["notebooks"] = {stem: cell.to_json() for stem, cell in sorted(self.notebooks.items())}
        if self.environment is not None:
            data["environment"] = self.environment.to_json()
        return data


@dataclass
class CompatFile:
    """A technique's compatibility matrix: {stack name: its run}, in the declared order."""

    technique: str
    profile: str
    stacks: dict[str, StackRun] = field(default_factory=dict)

    def notebooks(self) -> list[str]:
        """Every notebook that ran on some stack, in first-seen order."""
        seen: dict[str, None] = {}
        for run in self.stacks.values():
            seen.update(dict.fromkeys(run.notebooks))
        return list(seen)

    @classmethod
    def from_json(cls, data: Any) -> CompatFile:
        data = expect(data, dict, "the compatibility file")
        expect_schema(
            data,
            COMPAT_SCHEMA,
            "compatibility file",
            "rerun `tutorial-gen compat` to write it again",
        )
        stacks = expect(data.get("stacks", {}), dict, "stacks")
        # JSON objects are written with sorted keys: `order` keeps the declared order of stacks
        order = [n for n in expect(data.get("order", []), list, "order") if n in stacks]
        order += [n for n in stacks if n not in order]
        return cls(
            str(data.get("technique", "")),
            str(data.get("profile", "")),
            {name: StackRun.from_json(stacks[name]) for name in order},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": COMPAT_SCHEMA,
            "technique": self.technique,
            "profile": self.profile,
            "order": list(self.stacks),
            "stacks": {name: run.to_json() for name, run in self.stacks.items()},
        }
