"""The docs toolchain: MkDocs with the Material theme, and mkdocs-jupyter for the notebooks.

The site is built for reading from disk (`file://`), with nothing from the network: relative
`page.html` links, no search (read from disk, Material's search and its `offline` plugin load a
worker shim from a CDN; the navigation lists every page), no web fonts, and mkdocs-jupyter rendering each notebook's stored outputs without executing it, with
neither RequireJS nor MathJax from a CDN (the tutorials hold no TeX: its MathJax script is an
empty one). Strict mode turns every warning MkDocs gives (a link to a missing page) into an
error.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..errors import TutorialGenError

SITE_NAME = "Tutorial results"
# mkdocs-jupyter always writes a MathJax <script>; this source loads nothing.
NO_MATHJAX = "data:text/javascript,"


class SiteBuildError(TutorialGenError):
    """The docs toolchain refused the staged pages."""

    exit_code = 1


def mkdocs_config(docs: Path, site: Path, nav: list[Any], cache: Path) -> dict[str, Any]:
    """The MkDocs configuration of the site (written as JSON, which YAML reads)."""
    return {
        "site_name": SITE_NAME,
        "docs_dir": str(docs),
        "site_dir": str(site),
        "use_directory_urls": False,
        "strict": True,
        "nav": nav,
        "theme": {
            "name": "material",
            "font": False,  # Google Fonts are a request to the web; the system fonts do
            "features": ["navigation.sections", "navigation.top", "content.code.copy"],
        },
        "markdown_extensions": ["tables", "admonition", "attr_list", "toc"],
        "plugins": [
            {
                "mkdocs-jupyter": {
                    "execute": False,
                    "include_requirejs": False,
                    "custom_mathjax_url": NO_MATHJAX,
                    "ignore_h1_titles": True,  # the navigation's title (escaped) is the page's
                    "cache_dir": str(cache),
                }
            },
        ],
        "validation": {
            "omitted_files": "warn",
            "absolute_links": "warn",
            "unrecognized_links": "warn",
            "anchors": "warn",
        },
    }


def run_mkdocs(config_file: Path) -> None:
    """Build the site `config_file` describes; its warnings, in strict mode, are one error."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    logger = logging.getLogger("mkdocs")
    warnings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    handler = Collect()
    logger.addHandler(handler)
    try:
        build(load_config(str(config_file)))
    except MkDocsException as error:
        shown = "; ".join(warnings[:3]) or str(error)
        raise SiteBuildError(f"mkdocs refused the site: {shown}", path=config_file) from error
    finally:
        logger.removeHandler(handler)


def write_config(path: Path, config: dict[str, Any]) -> None:
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
