"""Cache: a notebook run is reused when nothing it depends on has changed.

What a run depends on is summed up in one digest: the code it executes (its code cells with the
inlined snippets and the install cell, read as Python syntax trees, so that comments, form titles
and formatting do not count, while IPython's shell and magic lines count as written), its
parameters and profile, the metrics it reports, the installed versions of the distributions it
imports, the dataset files it reads, and the tool's version. The digest is stored with each
notebook's results; a later run with the same digest reuses those results, and `check-technique`
compares it with the committed results to tell whether they still describe the sources.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..build import IPYTHON_LINE, BuiltNotebook, ipython_to_python
from ..model import Claim, Notebook, Project, RunRequest, Stack, Technique
from .execute import build_for_run
from .harvest import HARVEST_SOURCE, PRELUDE_SOURCE, has_shell_lines
from .seeds import decided_claims, seeds_for


def _fashion_mnist_files() -> list[Path]:
    from ..datasets import FASHION_MNIST, keras_cache

    return [keras_cache() / name for name in FASHION_MNIST]


def _rotten_tomatoes_files() -> list[Path]:
    from ..datasets import rotten_tomatoes_file

    found = rotten_tomatoes_file()
    return [found] if found else []


def _minilm_files() -> list[Path]:
    from ..datasets import minilm_snapshot_files

    return minilm_snapshot_files()


# Datasets a notebook may read, recognised by a word in its code: {word: its files}.
DATASETS = {
    "fashion_mnist": _fashion_mnist_files,
    "rotten_tomatoes": _rotten_tomatoes_files,
    "all-MiniLM-L6-v2": _minilm_files,
}


@functools.cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_digests(code: str) -> dict[str, list[str | None]]:
    """Digests of the files of every dataset the code mentions (None for a missing file)."""
    found: dict[str, list[str | None]] = {}
    for word, files in DATASETS.items():
        if word in code:
            digests: list[str | None] = []
            for path in files():
                stat = path.stat() if path.is_file() else None
                digests.append(_file_digest(path, stat.st_size, stat.st_mtime_ns) if stat else None)
            found[word] = digests
    return found


@functools.lru_cache(maxsize=1024)
def executed_code(source: str) -> str:
    """What of a code cell executes: its syntax tree, and its IPython lines verbatim."""
    shell = [line.strip() for line in source.splitlines() if IPYTHON_LINE.match(line)]
    try:
        tree = ast.dump(ast.parse(ipython_to_python(source)))
    except SyntaxError:
        tree = source
    return json.dumps([tree, shell])


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def inputs_digest(
    built: BuiltNotebook,
    profile: str,
    parameters: dict[str, Any],
    metric_names: list[str],
    clean_env: bool = False,
    seeds: Sequence[int | None] = (None,),
    claims: Sequence[Claim] = (),
    stack: Stack | None = None,
) -> str:
    """One digest of everything a notebook run depends on: `seeds` it covers and the `claims` it
    decides (a measuring helper samples until they are) included."""
    code = [cell.source for cell in built.notebook.cells if cell.cell_type == "code"]
    inputs = {
        "tool": __version__,
        "harvest": executed_code(HARVEST_SOURCE),
        "code": [executed_code(source) for source in code],
        "profile": profile,
        "parameters": parameters,
        "metrics": sorted(metric_names),
        "packages": {name: _installed(name) for name in sorted(built.requirements)},
        "datasets": dataset_digests("\n".join(code)),
        "clean_env": clean_env,
    }
    if has_shell_lines(built):  # the prelude runs only in these, so only they depend on it
        inputs["prelude"] = executed_code(PRELUDE_SOURCE)
    if built.foreign:
        inputs["foreign"] = True
    if stack is not None:  # the kernel's environment: the stack's, not this one
        inputs["stack"] = [stack.pins, stack.legacy_keras]
    if list(seeds) != [None]:
        inputs["seeds"] = list(seeds)
    if claims:
        inputs["decided"] = [[c.expr, c.op, c.threshold] for c in claims]
    text = json.dumps(inputs, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_inputs(
    technique: Technique,
    notebook: Notebook,
    project: Project,
    profile: str,
    overrides: Mapping[str, Any] | None = None,
    clean_env: bool = False,
    seeds: int | None = None,
    stack: Stack | None = None,
) -> tuple[BuiltNotebook, str]:
    """The notebook a run of `notebook` in `profile` executes, and the digest its result is
    cached under: the profile's parameters with `overrides` over them, the seeds it covers
    (`seeds`, else the notebook's own count) and the claims it decides."""
    built = build_for_run(technique, notebook, project, stack)
    parameters = {**notebook.parameters(profile), **(overrides or {})}
    request = RunRequest(profile=profile, overrides=dict(overrides or {}), seeds=seeds)
    digest = inputs_digest(
        built,
        profile,
        parameters,
        list(notebook.metrics),
        clean_env,
        seeds=seeds_for(technique, notebook, request),
        claims=decided_claims(technique, notebook, profile),
        stack=stack,
    )
    return built, digest
