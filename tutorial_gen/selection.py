"""Selection: what the paths given to a verb name, resolved the same way for every verb.

A path is a technique folder, a folder of technique folders, a script or its paired notebook, or
a file that belongs to no technique (a loose script or a foreign notebook). No path means every
technique of the project. A folder that holds no technique, or a path that does not exist, is a
`SelectionError` (exit 2) for every verb alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import discover_techniques, load_project, load_technique
from .config.sidecar import foreign_technique
from .errors import ConfigError, TutorialGenError
from .model import Project, Technique


class SelectionError(TutorialGenError):
    """The paths given to a verb name nothing it can work on."""


@dataclass
class Selection:
    """Techniques with the notebooks chosen in each (None: all), and files of no technique."""

    techniques: dict[Path, tuple[Technique, list[str] | None]] = field(default_factory=dict)
    loose: list[Path] = field(default_factory=list)

    def pairs(self) -> list[tuple[Technique, list[str] | None]]:
        return list(self.techniques.values())

    def scripts(self) -> list[Path]:
        """The scripts of every chosen notebook, in a stable order."""
        return sorted(
            {
                notebook.script.resolve()
                for technique, stems in self.pairs()
                for stem, notebook in technique.notebooks.items()
                if stems is None or stem in stems
            }
        )

    def foreign_notebooks(self) -> list[Path]:
        """The loose .ipynb files: notebooks we did not write, to run as they are."""
        return [p for p in self.loose if p.suffix == ".ipynb"]

    def only_techniques(self, verb: str) -> list[tuple[Technique, list[str] | None]]:
        """The techniques, for a verb that works on nothing else: a loose file is an error."""
        for path in self.loose:
            reason = (
                "is not declared in technique.toml"
                if (path.parent / "technique.toml").is_file()
                else "is not in a technique folder (no technique.toml beside it)"
            )
            hint = (
                "add it under [[notebooks]]"
                if "declared" in reason
                else "pass notebooks/<technique> or a script in it"
            )
            raise SelectionError(f"{reason}; `{verb}` needs one", path=path, hint=hint)
        return self.pairs()

    def _add(self, technique: Technique, stem: str | None) -> None:
        key = technique.folder.resolve()
        known, stems = self.techniques.get(key, (technique, []))
        if stem is None or stems is None:
            self.techniques[key] = (known, None)
        else:
            self.techniques[key] = (known, sorted({*stems, stem}))


def select(paths: list[Path], project: Project) -> Selection:
    """Resolve a verb's paths (every technique of the project when there are none)."""
    selection = Selection()
    if not paths:
        folders = discover_techniques(project)
        if not folders:
            raise SelectionError(
                "holds no technique (no */technique.toml)",
                path=project.notebooks_dir,
                hint="create one with `tutorial-gen new NAME`",
            )
        for folder in folders:
            selection._add(load_technique(folder), None)
        return selection
    for path in paths:
        _resolve(path.resolve(), selection)
    return selection


def _resolve(path: Path, selection: Selection) -> None:
    if not path.exists():
        raise SelectionError("does not exist", path=path)
    if path.is_dir():
        if (path / "technique.toml").is_file():
            selection._add(load_technique(path), None)
            return
        folders = sorted(p.parent for p in path.glob("*/technique.toml"))
        notebooks = sorted(path.glob("*.ipynb"))
        if not folders and notebooks:  # a folder of notebooks we did not write
            selection.loose.extend(notebooks)
            return
        if not folders:
            raise SelectionError(
                "holds no technique (no technique.toml in it or in its subfolders) and no notebook",
                path=path,
                hint="pass notebooks/<technique>, a script, a notebook, or a folder of notebooks",
            )
        for folder in folders:
            selection._add(load_technique(folder), None)
        return
    if path.suffix not in (".py", ".ipynb"):
        raise SelectionError(
            "is not a script, a notebook or a technique folder",
            path=path,
            hint="pass .py scripts, .ipynb notebooks or notebooks/<technique>",
        )
    script = path.with_suffix(".py")
    if (path.parent / "technique.toml").is_file() and script.is_file():
        technique = load_technique(path.parent)
        if script.stem in technique.notebooks:
            selection._add(technique, script.stem)
            return
    selection.loose.append(path)


def buildable(paths: list[Path], project: Project) -> list[Path]:
    """The scripts `build` writes notebooks of: a notebook stands for the script beside it."""
    selection = select(paths, project)
    scripts = selection.scripts()
    for path in selection.loose:
        script = path.with_suffix(".py")
        if not script.is_file():
            raise SelectionError(
                "is a notebook without a script beside it: there is nothing to build it from",
                path=path,
                hint="pass a .py script, or `tutorial-gen lint` the notebook as it is",
            )
        scripts.append(script.resolve())
    return sorted(dict.fromkeys(scripts))


def runnable(
    paths: list[Path], project: Project, claims: Path | None = None
) -> list[tuple[Technique, list[str] | None]]:
    """What `run` runs: techniques, and each notebook we did not write as a technique of its own
    (its claims from `claims`, for one notebook, or from the sidecar beside it)."""
    selection = select(paths, project)
    notebooks = selection.foreign_notebooks()
    selection.loose = [p for p in selection.loose if p not in notebooks]
    pairs = selection.only_techniques("run")
    if claims is not None and len(notebooks) != 1:
        raise SelectionError(
            f"--claims names the claims of one notebook, and {len(notebooks)} are selected",
            path=claims,
            hint="pass one .ipynb with --claims, or put a NAME.claims.toml beside each notebook",
        )
    folders: dict[Path, list[Path]] = {}
    for notebook in notebooks:
        folders.setdefault(notebook.resolve().parent, []).append(notebook)
    return pairs + [(foreign_technique(group, claims), None) for group in folders.values()]


def project_for(root: Path | None, verb: str, paths: list[Path] | None) -> Project:
    """The project around `root` (default: the current folder); for running or linting notebooks
    we did not write, the folder stands in for a project where there is none."""
    try:
        return load_project(root)
    except ConfigError:
        if verb in ("run", "lint") and paths and all(_notebook_path(p) for p in paths):
            return Project(root=(root or Path.cwd()).resolve())
        raise


def _notebook_path(path: Path) -> bool:
    return path.suffix == ".ipynb" or (path.is_dir() and any(path.glob("*.ipynb")))
