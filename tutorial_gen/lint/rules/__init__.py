"""The lint rules, grouped by what they look at. Importing this package registers every rule;
`RULES` holds them in the order the README lists them."""

from ..registry import RULES
from . import declared, files, links, prose, runtime, setup, training

__all__ = ["RULES", "declared", "files", "links", "prose", "runtime", "setup", "training"]
