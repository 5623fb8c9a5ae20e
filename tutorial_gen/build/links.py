"""Links of a generated notebook: where Colab, GitHub and a download find its committed copy."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..model import Project


def github(project: Project) -> tuple[str, str]:
    """(owner, repository) of the project's GitHub URL, or a `ConfigError` saying what to set."""
    found = project.github()
    if found is None:
        raise ConfigError(
            f"repository '{project.repository}' is not a https://github.com/OWNER/REPO URL",
            path=project.root / "pyproject.toml",
            hint="set [tool.tutorial_gen] repository",
        )
    return found


def colab_url(project: Project, ipynb: Path) -> str:
    """The Colab link of the committed notebook at `ipynb`."""
    return project.colab_url(*github(project), ipynb)


def button_links(project: Project, ipynb: Path) -> list[tuple[str, str, str]]:
    """(address, icon, label) of the Colab, GitHub and download buttons of a notebook."""
    owner, repo = github(project)
    path = project.relpath(ipynb)
    return [
        (
            project.colab_url(owner, repo, ipynb),
            "https://www.tensorflow.org/images/colab_logo_32px.png",
            "Run in Google Colab",
        ),
        (
            f"https://github.com/{owner}/{repo}/blob/{project.branch}/{path}",
            "https://www.tensorflow.org/images/GitHub-Mark-32px.png",
            "View source on GitHub",
        ),
        (
            f"https://raw.githubusercontent.com/{owner}/{repo}/{project.branch}/{path}",
            "https://www.tensorflow.org/images/download_logo_32px.png",
            "Download notebook",
        ),
    ]


def buttons(project: Project, ipynb: Path) -> str:
    """The Colab / GitHub / download buttons row for a notebook at `ipynb`."""
    cells = "\n".join(
        f'  <td>\n    <a target="_blank" href="{href}"><img src="{icon}" />{label}</a>\n  </td>'
        for href, icon, label in button_links(project, ipynb)
    )
    return f'<table class="tfo-notebook-buttons" align="left">\n{cells}\n</table>'
