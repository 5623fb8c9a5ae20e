"""Reading TOML files and reporting where in them something is wrong."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError, did_you_mean


def load_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or a `ConfigError` naming the file and line that do not parse."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError("is not UTF-8 text", path=path, hint="save it as UTF-8") from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise ConfigError(
            f"is not valid TOML: {error}", path=path, line=int(match.group(1)) if match else None
        ) from error


def line_of(path: Path, needle: str, start: int = 1) -> int | None:
    """The first line of `path` (from line `start` on) that mentions `needle` as a key, header
    or string."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    patterns = [
        re.compile(rf"^\s*{re.escape(needle)}\s*="),
        re.compile(rf"^\s*\[+[^\]]*\b{re.escape(needle)}\]+"),
        re.compile(rf"[\"']{re.escape(needle)}[\"']"),
    ]
    for pattern in patterns:
        for number, line in enumerate(lines[start - 1 :], start=start):
            if pattern.search(line):
                return number
    return None


def reject_unknown(table: Any, allowed: set[str], path: Path, where: str) -> None:
    """A `ConfigError` for a value that is no table, or for its first key not in `allowed`."""
    if not isinstance(table, dict):
        raise ConfigError(f"[{where}] must be a table", path=path, line=line_of(path, where))
    for key in table:
        if key not in allowed:
            prefix = f"[{where}] " if where else ""
            raise ConfigError(
                f"{prefix}unknown key '{key}'{did_you_mean(key, allowed)}",
                path=path,
                line=line_of(path, key),
            )
