"""Lint: find the ways a tutorial breaks for its readers before anyone runs it."""

from .document import Cell, Document, Found
from .registry import Finding, Hit, Rule
from .rules import RULES
from .runner import lint_document, lint_paths, load_document

__all__ = [
    "RULES",
    "Cell",
    "Document",
    "Finding",
    "Found",
    "Hit",
    "Rule",
    "lint_document",
    "lint_paths",
    "load_document",
]
