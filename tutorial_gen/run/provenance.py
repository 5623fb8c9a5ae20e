"""Provenance: the commit full-profile numbers were measured at, and whether the tree was clean.

Committed results are written only from a clean tree (unless the run allows a dirty one, and
then the stamp holds a hash of the changes), so that a page's numbers name the code that made
them. The files a run and a render write (`results/`, the overview pages) are outputs, not inputs:
they never make a tree dirty, or a second run after a first would refuse. Untracked files count
where a run can execute them (under the notebooks folder and the tool's own package), and nowhere
else: a scratch file beside the repository changes no number.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import TutorialGenError
from ..model import Profile, Project, RunRequest, Technique

PACKAGE = Path(__file__).resolve().parents[1]  # tutorial_gen itself
DIFF_DIGITS = 12  # of the sha256 of a dirty tree's changes


class DirtyTree(TutorialGenError):
    """Full-profile results would be written from a tree with uncommitted changes."""


@dataclass(frozen=True)
class TreeState:
    """HEAD of the repository around a project, and what is changed against it."""

    head: str
    changed: tuple[str, ...]  # paths (relative to the project) with uncommitted changes
    diff: str | None  # the short sha256 of the changes; None for a clean tree

    @property
    def commit(self) -> str:
        """HEAD, with `-dirty` when something is changed."""
        return f"{self.head}-dirty" if self.changed else self.head


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "-c", "core.quotepath=off", *args], cwd=root, capture_output=True, check=True
    ).stdout


def _outputs(project: Project) -> list[str]:
    """Pathspecs leaving out what runs and renders write."""
    notebooks = Path(project.notebooks).as_posix()
    return [
        f":(exclude,glob){notebooks}/*/results/**",
        f":(exclude,glob){notebooks}/*/overview.md",
        f":(exclude,glob){notebooks}/*/overview_*.svg",
    ]


def _runnable_folders(project: Project) -> list[str]:
    """Where an untracked file can be executed by a run: the notebooks, and the tool's package."""
    folders = [Path(project.notebooks).as_posix()]
    if PACKAGE.is_relative_to(project.root.resolve()):  # else the tool is not this tree's code
        folders.append(PACKAGE.relative_to(project.root.resolve()).as_posix())
    return folders


def _content(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # a socket, a dangling link: its name is all there is to hash
        return b""


def tree_state(project: Project) -> TreeState | None:
    """The state of the git tree holding the project; None where it is in no repository."""
    root = project.root
    inputs = [".", *_outputs(project)]  # the project's tree, less what runs write
    runnable = [*_runnable_folders(project), *_outputs(project)]
    try:
        head = _git(root, "rev-parse", "HEAD").decode().strip()
        tracked = _git(root, "diff", "HEAD", "--relative", "--name-only", "-z", "--", *inputs)
        untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", *runnable)
        diff = _git(root, "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff", "--", *inputs)
    except (OSError, subprocess.CalledProcessError):
        return None
    new = sorted(os.fsdecode(p) for p in untracked.split(b"\0") if p)
    changed = tuple(sorted({os.fsdecode(p) for p in tracked.split(b"\0") if p} | set(new)))
    if not changed:
        return TreeState(head, (), None)
    digest = hashlib.sha256(diff)
    for path in new:  # what `git diff HEAD` leaves out: the files git does not know yet
        digest.update(b"\0untracked " + os.fsencode(path) + b"\0" + _content(root / path))
    return TreeState(head, changed, digest.hexdigest()[:DIFF_DIGITS])


def require_clean(
    selection: list[tuple[Technique, list[str] | None]], project: Project, request: RunRequest
) -> None:
    """Refuse, before anything runs, to write committed results from a dirty tree."""
    committed = (
        request.profile == Profile.FULL
        and request.stack is None
        and any(not t.foreign for t, _ in selection)
    )
    if not committed or request.allow_dirty:
        return
    state = tree_state(project)
    if state is None or not state.changed:
        return
    shown = ", ".join(state.changed[:3]) + (", …" if len(state.changed) > 3 else "")
    raise DirtyTree(
        f"the tree has uncommitted changes ({len(state.changed)} file(s): {shown}); "
        "full-profile results are written only from a clean tree",
        hint="commit or stash them, or pass --allow-dirty to stamp the results with a hash of "
        "the changes",
    )


def committed_text(project: Project, path: Path) -> str | None:
    """A file of the project as HEAD holds it; None where it is not committed (or there is no
    repository), so that a page can say what changed since the committed version."""
    spec = f"HEAD:./{path.resolve().relative_to(project.root.resolve()).as_posix()}"
    try:
        return _git(project.root, "show", spec).decode("utf-8")
    except (OSError, ValueError, subprocess.CalledProcessError):
        return None
