"""Report: what a run prints for people (claim tables, progress lines)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TextIO

from .claims import ClaimResult

_MARK = {"pass": "pass", "fail": "FAIL", "unverified": "unverified", "not-in-profile": "-"}


def _measured(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def claims_table(results: Iterable[ClaimResult]) -> str:
    """A plain-text table: claim, measured, threshold, outcome (and why, where not plain)."""
    rows = [("claim", "measured", "must hold", "status")]
    notes = []
    for result in results:
        rows.append(
            (
                result.id,
                _measured(result.measured),
                f"{result.op} {result.threshold:g}",
                _MARK[result.status],
            )
        )
        if result.status in ("fail", "unverified") and result.reason:
            notes.append(f"  {result.id}: {result.reason}")
    if len(rows) == 1:
        return "(no claims)"
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + notes)


def progress_printer(stream: TextIO, every: float = 10.0):
    """A progress hook: a rewritten status line on a terminal, a log line every `every` s otherwise."""
    last = {"at": 0.0}
    tty = stream.isatty()

    def hook(label: str, done: int, total: int, elapsed: float) -> None:
        text = f"{label}: cell {done}/{total}, {elapsed:.0f} s"
        if tty:
            stream.write("\r\x1b[K" + text + ("\n" if done == total else ""))
            stream.flush()
        elif done == total or time.monotonic() - last["at"] >= every:
            last["at"] = time.monotonic()
            print(text, file=stream, flush=True)

    return hook
