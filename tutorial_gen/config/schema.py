"""The shape of a TOML file as data: its tables and their keys, each with a type, whether it is
required, its default and its meaning.

The loader validates a file against its `Table` (see `keys.py` for technique.toml), and
`tutorial-gen docs` writes the reference of docs/authoring.md from the same tables, so a key is
accepted exactly when it is documented.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .toml import line_of, reject_unknown


@dataclass(frozen=True)
class Kind:
    """A type a value may have: how errors name it, how the reference names it, and its test."""

    what: str  # in errors: "'tips' must be an array of strings"
    label: str  # in the reference's type column
    fits: Callable[[Any], bool]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Prose is a string the overview renders as a template: it may quote measurements through the
# prose helpers (`claim`, `metric` and the filters; see the reference).
KINDS: dict[str, Kind] = {
    "string": Kind(
        "a non-empty string", "string", lambda v: isinstance(v, str) and bool(v.strip())
    ),
    "text": Kind("a string", "string", lambda v: isinstance(v, str)),
    "texts": Kind("an array of strings", "array of strings", _strings),
    "prose": Kind("a string", "prose", lambda v: isinstance(v, str)),
    "prose list": Kind("an array of strings", "array of prose", _strings),
    "profiles": Kind('an array of profile names, such as ["full"]', "array of strings", _strings),
    "number": Kind("a number", "number", _number),
    "integer": Kind("a whole number", "integer", _whole),
    "seconds": Kind("a whole number of seconds", "integer (seconds)", _whole),
    "table": Kind("a table", "table", lambda v: isinstance(v, dict)),
    "tables": Kind(
        "an array of tables",
        "array of tables",
        lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
    ),
    "value": Kind("a TOML value", "any", lambda v: True),
}


@dataclass(frozen=True)
class Key:
    """One key of a table. `fields` describes the table it holds (or each table of its array)."""

    name: str
    kind: str
    meaning: str
    _: KW_ONLY
    required: bool = False
    default: Any = None  # None: absent unless written
    fields: Table | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"key '{self.name}': unknown kind '{self.kind}'")
        if not self.meaning.strip():
            raise ValueError(f"key '{self.name}' needs a meaning")


@dataclass(frozen=True)
class Table:
    """A table of a TOML file: its documented keys, or with `any_key`, entries named freely."""

    name: str  # as TOML names it: "notebooks", "overview.results"
    header: str  # how the reference and errors title it: "[[notebooks]]"
    meaning: str
    _: KW_ONLY
    keys: tuple[Key, ...] = ()
    any_key: Key | None = None  # the shape of every entry of a free-form table
    required_at_load: bool = True  # False: `required` keys are checked later (by render)
    notes: tuple[str, ...] = ()

    def names(self) -> set[str]:
        return {key.name for key in self.keys}

    def key(self, name: str) -> Key | None:
        return next((key for key in self.keys if key.name == name), self.any_key)

    def required(self) -> tuple[str, ...]:
        """The names of the required keys, in documentation order."""
        return tuple(key.name for key in self.keys if key.required)

    def defaults(self) -> dict[str, Any]:
        """The default of every optional key (None where it has none)."""
        return {key.name: copy.deepcopy(key.default) for key in self.keys if not key.required}

    def tables(self) -> Iterator[Table]:
        """This table and every table nested in it, depth first, each once."""
        seen: list[Table] = []

        def walk(table: Table) -> Iterator[Table]:
            if any(table is other for other in seen):
                return
            seen.append(table)
            yield table
            for key in (*table.keys, *([table.any_key] if table.any_key else [])):
                if key.fields is not None:
                    yield from walk(key.fields)

        yield from walk(self)


def validate(data: Any, table: Table, path: Path, where: str = "") -> dict[str, Any]:
    """`data` checked against `table` and the tables nested in it, with the defaults of absent
    optional keys filled in; a `ConfigError` naming the file and line for the first problem."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{table.header} must be a table", path=path, line=line_of(path, table.name)
        )
    if table.any_key is None:
        reject_unknown(data, table.names(), path, table.name)
    prefix = f"{where}: " if where else ""
    checked = {
        name: _value(value, table.key(name), path, where, prefix) for name, value in data.items()
    }
    for key in table.keys:
        if key.required and table.required_at_load and checked.get(key.name) in (None, []):
            needed = f"'{key.name}'"
            if key.fields is not None and key.fields.header.startswith("["):
                many = key.kind == "tables"
                needed = f"at least one {key.fields.header}" if many else key.fields.header
            raise ConfigError(
                f"{prefix}needs {needed}",
                path=path,
                line=line_of(path, where.split("[")[0]) if where else None,
            )
        if key.name not in checked and key.default is not None:
            checked[key.name] = _value(copy.deepcopy(key.default), key, path, where, prefix)
    return checked


def _value(value: Any, key: Key, path: Path, where: str, prefix: str) -> Any:
    kind = KINDS[key.kind]
    if not kind.fits(value):
        shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:57]}..."
        raise ConfigError(
            f"{prefix}'{key.name}' must be {kind.what}, not {type(value).__name__} {shown}",
            path=path,
            line=line_of(path, key.name),
        )
    inner = f"{where}.{key.name}" if where else key.name
    if key.fields is not None and key.kind == "table":
        return validate(value, key.fields, path, inner)
    if key.fields is not None and key.kind == "tables":
        return [validate(item, key.fields, path, f"{inner}[{i}]") for i, item in enumerate(value)]
    return value
