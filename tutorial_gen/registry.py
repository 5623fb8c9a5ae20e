"""Registries: the things that vary (lint rules, checklist items, comparators, formats), by id.

Every registry has the same shape, and one error for an id it does not hold: a `ConfigError` with
the closest id suggested and the valid ones listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from .errors import ConfigError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered mapping from id to item, filled by `register` (or `add`) where items are defined."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, item_id: str, item: T) -> T:
        if item_id in self._items:
            raise ValueError(f"{self.kind} '{item_id}' is registered twice")
        self._items[item_id] = item
        return item

    def register(self, item_id: str) -> Callable[[T], T]:
        """A decorator: `@registry.register("id")` adds the decorated object under `id`."""
        return lambda item: self.add(item_id, item)

    def __getitem__(self, item_id: str) -> T:
        self.check([item_id])
        return self._items[item_id]

    def check(self, item_ids: Iterable[str]) -> None:
        """Raise `ConfigError` for the first id that names nothing here."""
        for item_id in item_ids:
            if item_id not in self._items:
                raise ConfigError(
                    f"unknown {self.kind} '{item_id}'{did_you_mean(item_id, self._items)}",
                    hint=f"{self.kind}s: {', '.join(self._items)}",
                )

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(self._items.items())

    def values(self) -> Iterator[T]:
        return iter(self._items.values())
