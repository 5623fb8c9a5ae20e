"""Site: a static site to read the results, built with MkDocs from the runs in the build folder.

Per technique: the overview page with its plots, every notebook as the last run executed it
(outputs included, the cells the run added hidden), the claims with published beside measured
and the environment stamp, the compatibility matrix where it was measured, and the trained
model of each results row to download; a front page says which claims fail or are left open,
and what changed since the committed results. Pages are staged as Markdown in `<output>-src/`
(the build folder's own files are only read, but for the models manifest, brought up to date),
then built into `<output>/`, which opens from disk without a server or the network.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..model import Project, Technique
from .pages import stage
from .sources import gather
from .toolchain import mkdocs_config, run_mkdocs, write_config

MARKER = ".tutorial-gen-site"  # in a folder this built: MkDocs empties it, the marker stays


@dataclass(frozen=True)
class SiteBuild:
    """What `build_site` made."""

    index: Path  # the front page: open it in a browser
    pages: int  # HTML pages
    notebooks: int  # of which executed notebooks
    size: int  # bytes, the whole site
    seconds: float


def _prepare(output: Path) -> None:
    """Refuse to let MkDocs empty a folder that is not a site this command built."""
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).is_file():
        raise ConfigError(
            "is not empty and holds no site `tutorial-gen site` built: building there would "
            "delete what it holds",
            path=output,
            hint="pass another --output, or empty the folder",
        )
    output.mkdir(parents=True, exist_ok=True)
    (output / MARKER).write_text("built by `tutorial-gen site`\n", encoding="utf-8")


def build_site(
    techniques: list[Technique], project: Project, build_dir: Path, output: Path | None = None
) -> SiteBuild:
    """Build the site of `techniques` from the runs in `build_dir` into `output` (default:
    `build/site` of the project)."""
    start = time.monotonic()
    output = (output or project.build_path / "site").resolve()
    staging = output.with_name(f"{output.name}-src")
    docs = staging / "docs"
    _prepare(output)
    shutil.rmtree(docs, ignore_errors=True)
    docs.mkdir(parents=True)
    sources = [gather(t, project, build_dir) for t in techniques]
    nav = stage(sources, project, build_dir, docs)
    config = mkdocs_config(docs, output, [n.to_config() for n in nav], staging / "cache")
    write_config(staging / "mkdocs.yml", config)
    run_mkdocs(staging / "mkdocs.yml")
    files = [p for p in output.rglob("*") if p.is_file()]
    return SiteBuild(
        index=output / "index.html",
        pages=sum(p.suffix == ".html" and p.name != "404.html" for p in files),
        notebooks=sum(len(s.executed) for s in sources),
        size=sum(p.stat().st_size for p in files),
        seconds=time.monotonic() - start,
    )


__all__ = ["SiteBuild", "build_site"]
