"""The lint rules, grouped by what they look at. Importing this package registers every rule;
`RULES` holds them in the order the README lists them."""

from ..registry import RULES
from . import files, links, prose, runtime, setup, training

__all__ = ["RULES", "files", "links", "prose", "runtime", "setup", "training"]
