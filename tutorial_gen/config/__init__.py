"""Configuration: the project from `pyproject.toml`, techniques from their `technique.toml`."""

from .project import find_root, load_project
from .technique import discover_techniques, load_technique
from .toml import line_of

__all__ = ["discover_techniques", "find_root", "line_of", "load_project", "load_technique"]
