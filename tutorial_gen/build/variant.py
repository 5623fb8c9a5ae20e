"""The notebook as a user writes it who skips the legacy-Keras line: what the `keras3` stack runs.

tfmot 0.8 needs Keras 2: with TensorFlow 2.16 and later, `tf_keras` and `TF_USE_LEGACY_KERAS=1`.
A notebook run on a stack declared with `legacy_keras = false` has that line commented out and
uses Keras 3, the Keras TensorFlow installs, where it imported tf_keras (`import keras`), as the
Keras 3 documentation tells users to; its install cell asks for no tf-keras. Lines keep their
numbers, so an error still names the script line it comes from.

(`from tensorflow import keras` would not show it: importing tfmot 0.8.1 sets the variable
itself, so a `tf.keras` first reached after that import is tf_keras anyway.)
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable

from ..model import Stack, Tag
from .notebook import BuiltNotebook
from .requirements import setup_source

_LEGACY_LINE = re.compile(
    r"""^(?P<indent>\s*)(?:os\.)?environ(?:\s*\[\s*["']TF_USE_LEGACY_KERAS["']\s*\]\s*=|"""
    r"""\.setdefault\(\s*["']TF_USE_LEGACY_KERAS["']).*$""",
    re.MULTILINE,
)
_IMPORTS = (
    (re.compile(r"^(\s*)import tf_keras as (\w+)", re.M), r"\1import keras as \2"),
    (re.compile(r"^(\s*)import tf_keras\b", re.M), r"\1import keras as tf_keras"),
    (re.compile(r"^(\s*)from tf_keras(\.[\w.]+)? import", re.M), r"\1from keras\2 import"),
)


def without_legacy_keras(source: str) -> str:
    """A code cell's source with the legacy-Keras setting commented out and tf_keras imports
    turned into imports of Keras 3."""
    source = _LEGACY_LINE.sub(
        lambda m: f"{m['indent']}# skipped on this stack: {m.group().strip()}", source
    )
    for pattern, replacement in _IMPORTS:
        source = pattern.sub(replacement, source)
    return source


def for_stack(built: BuiltNotebook, stack: Stack | None, stacks: Iterable[Stack]) -> BuiltNotebook:
    """The notebook a run on `stack` executes: `built` itself, unless the stack runs without
    legacy Keras (then rewritten, with an install cell that leaves tf-keras out)."""
    if stack is None or stack.legacy_keras or built.foreign:
        return built
    notebook = copy.deepcopy(built.notebook)
    requirements = {k: v for k, v in built.requirements.items() if k != "tf-keras"}
    for cell, tags in zip(notebook.cells, built.tags, strict=True):
        if cell.cell_type != "code":
            continue
        if Tag.SETUP in tags:
            cell.source = setup_source(requirements, stacks, built.data_packages)
        else:
            cell.source = without_legacy_keras(cell.source)
    return dataclasses.replace(built, notebook=notebook, requirements=requirements)
