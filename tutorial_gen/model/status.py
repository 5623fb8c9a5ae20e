"""Every status, role, profile, tag and marker the stages exchange, named once.

They are `StrEnum`s: each compares equal to, and serialises as, the plain string the results files
and notebooks have always held, so files written before stay valid.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """How a notebook's run ended."""

    OK = "ok"
    ERROR = "error"


class CacheState(StrEnum):
    """Where a notebook's result comes from."""

    MISS = "miss"  # executed in this run
    HIT = "hit"  # reused: nothing it depends on changed
    MERGED = "merged"  # taken from a shard's results file


class ClaimStatus(StrEnum):
    """The outcome of one claim."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"  # measured, but noise leaves the verdict open: never a pass
    UNVERIFIED = "unverified"  # not measurable here, with the reason: never counted as a pass
    NOT_IN_PROFILE = "not-in-profile"
    NOT_RUN = "not-run"  # its notebook ran in another shard


class ProgressKind(StrEnum):
    """What a running notebook reports."""

    START = "start"  # a code cell started
    CELL = "cell"  # a code cell finished
    DONE = "done"  # the notebook ended
    CACHED = "cached"  # its results were reused


class Role(StrEnum):
    """What a notebook is for, in its technique."""

    TUTORIAL = "tutorial"
    GUIDE = "guide"
    RESULTS = "results"


class Profile(StrEnum):
    """How much a notebook does: `smoke` for CI, `full` for the numbers the prose states."""

    SMOKE = "smoke"
    FULL = "full"


class Tag(StrEnum):
    """Cell tags: the ones authors write, and the ones runs add to the executed copy."""

    PARAMETERS = "parameters"  # papermill injects profile values after this cell
    SKIP_EXECUTION = "skip-execution"  # nbclient does not execute the cell
    SETUP = "setup"  # the generated install cell
    HARVEST = "tutorial-gen-harvest"  # the appended cell that reports the metrics
    PRELUDE = "tutorial-gen-prelude"  # the first cell, which makes failing shell commands raise
    FAILED_CELL = "tutorial-gen-failed-cell"
    STOPPED = "tutorial-gen-stopped"  # the marker cell before the one that was running


class Marker(StrEnum):
    """Marker lines of the scripts, and what the scaffold leaves to fill."""

    GENERATED = "# tutorial-gen:"  # prefix of every marker line in a code cell
    SETUP = "# tutorial-gen: setup"
    COPYRIGHT = "# tutorial-gen: copyright"  # followed by the holder: the notebook's own copyright
    INCLUDE = "# tutorial-gen: include"  # followed by a snippet name
    PLACEHOLDER = "TODO(tutorial-gen)"
