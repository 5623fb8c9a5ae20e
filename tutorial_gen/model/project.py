"""The project and its techniques: what `pyproject.toml` and each `technique.toml` declare."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .status import Profile, Role

DEFAULT_CELL_TIMEOUT = 900  # seconds a cell may run unless technique.toml says otherwise
SEEDS_KEY = "seeds"  # in a profile table: how many seeds to run, not a parameter of the script
SEED_PARAMETER = "seed"  # the script parameter each seed's run sets
TUTORIAL_SEEDS = 3  # seeds of a tutorial's full profile unless its profile table says otherwise
_GITHUB = re.compile(r"https://github\.com/([\w.\-]+)/([\w.\-]+?)(?:\.git)?/?")


def canonical_name(distribution: str) -> str:
    """A distribution's name as pip compares them: `Tf_Keras` -> `tf-keras`."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


@dataclass(frozen=True)
class Stack:
    """One tested combination of TensorFlow, Keras, tfmot and LiteRT releases
    (`[tool.tutorial_gen.stacks.<name>]`)."""

    name: str
    pins: dict[str, str]  # {canonical distribution name: exact version}
    legacy_keras: bool = True  # runs with TF_USE_LEGACY_KERAS=1 (tfmot needs Keras 2)
    supported: bool = True  # False: shown to users, expected to fail, never failing a check
    note: str | None = None

    @property
    def tensorflow(self) -> str:
        """The TensorFlow release of the stack."""
        return self.pins["tensorflow"]


@dataclass(frozen=True)
class Project:
    """Settings of the repository that holds the tutorials (`[tool.tutorial_gen]`)."""

    root: Path
    repository: str = "https://github.com/tutorial-gen/tutorial-gen"
    branch: str = "main"
    notebooks: str = "notebooks"
    snippets: str = "notebooks/_snippets"
    build_dir: str = "build"
    copyright: str = "2026 The tutorial_gen Authors"
    pins: dict[str, str] = field(default_factory=dict)  # {canonical name: version}
    no_deps: dict[str, str] = field(default_factory=dict)  # pins installed without dependencies
    stacks: dict[str, Stack] = field(default_factory=dict)  # the tested stacks, oldest first

    @property
    def notebooks_dir(self) -> Path:
        return self.root / self.notebooks

    @property
    def snippets_dir(self) -> Path:
        return self.root / self.snippets

    @property
    def build_path(self) -> Path:
        return self.root / self.build_dir

    def relpath(self, path: Path) -> str:
        """The repository-relative POSIX path of `path` (used in links and results)."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def github(self) -> tuple[str, str] | None:
        """(owner, repository) of the GitHub URL in `repository`; None if it is no such URL."""
        match = _GITHUB.fullmatch(self.repository)
        return (match.group(1), match.group(2)) if match else None

    def colab_url(self, owner: str, repo: str, ipynb: Path) -> str:
        """Where Colab opens the committed notebook at `ipynb`."""
        return (
            f"https://colab.research.google.com/github/{owner}/{repo}/blob/{self.branch}/"
            f"{self.relpath(ipynb)}"
        )


@dataclass(frozen=True)
class Notebook:
    """One journey of a technique: a Jupytext script and how to run it."""

    stem: str
    script: Path
    role: Role
    profiles: dict[str, dict[str, Any]]  # {profile: {parameter: value}}
    metrics: dict[str, str]  # {name: description}
    cell_timeout: int = DEFAULT_CELL_TIMEOUT

    @property
    def ipynb(self) -> Path:
        return self.script.with_suffix(".ipynb")

    def parameters(self, profile: str) -> dict[str, Any]:
        """The parameter values a profile sets (on top of the script's defaults)."""
        return {k: v for k, v in self.profiles.get(profile, {}).items() if k != SEEDS_KEY}

    def declared_seeds(self, profile: str) -> int | None:
        """The seed count the profile table sets (`seeds = N`), if it sets one."""
        return self.profiles.get(profile, {}).get(SEEDS_KEY)

    def seed_count(self, profile: str) -> int:
        """How many seeds a run of `profile` covers: as declared, else 3 for a tutorial's full
        profile and 1 otherwise."""
        declared = self.declared_seeds(profile)
        if declared is not None:
            return declared
        return TUTORIAL_SEEDS if self.role == Role.TUTORIAL and profile == Profile.FULL else 1


@dataclass(frozen=True)
class Claim:
    """A sentence of the prose, and the measurement that must hold for it to be true."""

    id: str
    notebook: str
    phrase: str
    expr: str
    op: str
    threshold: float
    profiles: tuple[str, ...] = tuple(Profile)
    published: str | None = None
    unverified: str | None = None
    line: int | None = None
    # Over several seeds: "every" seed must hold it, or the median/mean/min/max of their values
    over_seeds: str = "every"


@dataclass(frozen=True)
class Technique:
    """Everything `technique.toml` says about one technique."""

    slug: str
    folder: Path
    path: Path  # the technique.toml
    name: str
    descriptor: str
    notebooks: dict[str, Notebook]
    claims: tuple[Claim, ...]
    overview: dict[str, Any]
    foreign: bool = False  # a notebook we did not write, run as it is (no technique.toml)
    # the calls that apply the technique where it is no TFMOT call (`factorize_dense`)
    technique_calls: tuple[str, ...] = ()

    def with_role(self, role: Role) -> list[Notebook]:
        """The notebooks of one role, in declaration order."""
        return [n for n in self.notebooks.values() if n.role == role]

    def results_task(self, table: dict[str, Any]) -> str:
        """The task an `[[overview.results]]` table measures: its `task`, else its title up to
        a colon or a bracket ("Object detection: MTCNN" and "Text classification (Rotten
        Tomatoes)" name the tasks "Object detection" and "Text classification")."""
        return str(table.get("task") or re.split(r":| \(", str(table.get("title", "")))[0]).strip()

    def label(self, stem: str) -> str:
        """`technique/notebook`, how runs name a notebook."""
        return f"{self.slug}/{stem}"
