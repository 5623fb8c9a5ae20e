"""Reading sources and writing outputs safely.

Outputs are written atomically (a temporary file in the same folder, then `os.replace`) and only
when their content changed, so an interrupted run never leaves half a file and an unchanged build
leaves modification times alone.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import CheckFailed, TutorialGenError


def read_text(path: Path, error: type[TutorialGenError] = TutorialGenError) -> str:
    """The UTF-8 text of `path`, or `error` naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error("does not exist", path=path) from exc
    except UnicodeDecodeError as exc:
        raise error(
            f"is not UTF-8 text (byte {exc.start})", path=path, hint="save the file as UTF-8"
        ) from exc


_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` atomically unless the file already holds it; True if it was written."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    write_atomic(path, text)
    return True


def dump_json(data: Any) -> str:
    """Stable JSON text for committed result files."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def sync_generated(
    files: Iterable[tuple[Path, str]], *, check: bool, relpath: Callable[[Path], str], command: str
) -> list[Path]:
    """Write generated files that changed, or with `check`, write nothing and fail on any stale one.

    The one `--check` of every generated file (notebooks, overviews, plots): returns the paths that
    were written (or, in check mode, that are stale, before raising `CheckFailed` naming them and
    the `command` that regenerates them).
    """
    changed: list[Path] = []
    for path, text in files:
        if check:
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            if current != text:
                changed.append(path)
        elif write_if_changed(path, text):
            changed.append(path)
    if check and changed:
        raise CheckFailed(
            f"{', '.join(relpath(p) for p in changed)} differ from what their sources generate",
            path=changed[0],
            hint=f"run `{command}` and commit the result",
        )
    return changed
