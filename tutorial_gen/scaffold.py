"""Scaffold a new technique: a folder that already builds and runs, with marked places to fill.

The end-to-end script, the guide and the results notebook (the sweep behind the overview page)
run from the start: baseline, export and measurement work, and the results notebook yields its
rows. Every place where the technique itself goes carries a `TODO(tutorial-gen)` marker, which
`tutorial-gen lint` reports until it is filled.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import jinja2

from .config import load_technique
from .errors import ConfigError
from .fileio import write_atomic
from .model import Profile, Project, ResultsFile
from .publish.render import render_files

_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


def scaffold(slug: str, project: Project, name: str | None = None) -> list[Path]:
    """Create `notebooks/<slug>/` and return the files written (nothing is overwritten)."""
    if not _SLUG.match(slug):
        raise ConfigError(
            f"'{slug}' is not a valid technique name",
            hint="use lower case letters, digits and underscores, e.g. weight_sharing",
        )
    folder = project.notebooks_dir / slug
    if folder.exists():
        raise ConfigError(
            "already exists", path=folder, hint="choose another name, or remove the folder first"
        )
    name = name or slug.replace("_", " ").capitalize()
    templates = resources.files("tutorial_gen").joinpath("templates/new")
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    files = {
        folder / "technique.toml": "technique.toml.j2",
        folder / f"{slug}_example.py": "example.py.j2",
        folder / f"{slug}_guide.py": "guide.py.j2",
        folder / f"{slug}_results.py": "results.py.j2",
        folder / f"{slug}_text_results.py": "text_results.py.j2",
    }
    for path, template in files.items():
        text = env.from_string(templates.joinpath(template).read_text("utf-8")).render(
            name=name, slug=slug
        )
        write_atomic(path, text)
    written = list(files)
    technique = load_technique(folder)
    for path, text in render_files(technique, project, ResultsFile(slug, Profile.FULL)).items():
        write_atomic(path, text)
        written.append(path)
    return written
