"""The lint rules, grouped by what they look at. Importing this package registers every rule;
`RULES` holds them in the order the README lists them."""

from ..registry import RULES
from . import files, prose, setup, training

__all__ = ["RULES", "files", "prose", "setup", "training"]
