"""Rules about what a notebook installs and imports: pins, pip, legacy Keras, the parameters cell."""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.metadata
import logging
import re
from collections.abc import Iterator

from ...build.requirements import distribution_of, installed_modules
from ...build.script import IPythonCommand
from ...model import Tag, canonical_name
from ..document import Cell, Document, Found, dotted, run_time_nodes
from ..registry import Hit, rule

_PIP_INSTALL = re.compile(r"\bpip3?\b\W+install\b[\"']?(?P<args>.*)")
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][\w.-]*)(?:\[[^\]]*\])?\s*(?P<spec>[<>=!~].*)?$")
_OPTIONS_WITH_VALUE = {"-r", "-c", "-e", "-i", "-f", "--requirement", "--constraint", "--index-url"}


def _install_words(cell: Cell) -> Iterator[list[str]]:
    """The words after `pip install` of every install a cell runs."""
    spanned = {n for c in cell.commands for n in range(c.line, c.end + 1)}
    for command in cell.commands:  # `!pip install a==1 b`, `%pip install ...`
        if match := _PIP_INSTALL.search(command.text):
            yield [w.strip("\"'") for w in match.group("args").split()]
    for number, line in enumerate(cell.lines, start=1):
        if number not in spanned and (match := _PIP_INSTALL.search(line)):
            # subprocess.run([..., "pip", "install", "a==1"])
            yield re.findall(r"[\"']([^\"']+)[\"']", match.group("args"))


def installs(doc: Document) -> dict[str, str]:
    """{distribution: version specifier} of everything the notebook installs ('' = unpinned)."""
    found: dict[str, str] = {}
    for cell in doc.code:
        for node in cell.nodes():
            if (  # the generated setup cell of our notebooks
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "TESTED_VERSIONS" for t in node.targets)
                and isinstance(node.value, ast.Dict)
            ):
                with contextlib.suppress(ValueError):
                    for name, version in ast.literal_eval(node.value).items():
                        found[canonical_name(name)] = f"=={version}"
        for words in _install_words(cell):
            skip_next = False
            for word in words:
                requirement = _REQUIREMENT.match(word)
                if not (skip_next or word.startswith("-") or not requirement):
                    spec = requirement["spec"] or ""
                    found[canonical_name(requirement["name"])] = spec.replace(" ", "")
                skip_next = word in _OPTIONS_WITH_VALUE
    return found


@functools.cache
def brought_by(distribution: str) -> frozenset[str]:
    """`distribution` and what it requires, transitively, as installed here (extras left out);
    a distribution not installed here brings only itself."""
    seen: set[str] = set()
    pending = [canonical_name(distribution)]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            spec, _, marker = requirement.partition(";")
            if "extra" not in marker and (found := re.match(r"[A-Za-z0-9][\w.-]*", spec.strip())):
                pending.append(canonical_name(found.group()))
    return frozenset(seen)


def _unpinned(doc: Document, installed: dict[str, str]) -> Iterator[Hit]:
    """Our scripts: every imported distribution installed at the version pyproject.toml tests."""
    seen: set[str] = set()
    for found in doc.imports:
        dist = distribution_of(found.name, doc.pins, guess=True)
        if dist is None or dist in seen:
            continue
        seen.add(dist)
        tested = doc.pins.get(dist)
        if tested is None:
            yield Hit(
                found.cell,
                found.line,
                f"imports '{found.name}' ({dist}), which pyproject.toml does not pin: "
                "nothing tests the version a reader gets",
                f"add {dist}==<version> to [project] dependencies, or do without it",
            )
        elif dist not in installed:
            yield Hit(
                found.cell,
                found.line,
                f"imports '{found.name}', but no setup cell installs {dist}",
                f"install {dist}=={tested} before the first import",
            )
        elif installed[dist] != f"=={tested}":
            got = installed[dist] or " without a version"
            yield Hit(
                found.cell,
                found.line,
                f"installs {dist}{got}, not the tested {dist}=={tested}",
                f"install {dist}=={tested}",
            )


def _not_installed(doc: Document, installed: dict[str, str]) -> Iterator[Hit]:
    """A notebook we did not write: what it imports but nothing installs, not even as a
    dependency of what it installs (tfmot brings tf-keras, TensorFlow and numpy)."""
    brought = set().union(*map(brought_by, installed))
    seen: set[str] = set()
    for found in doc.imports:
        dist = distribution_of(found.name, doc.pins, guess=True)
        if dist is None or dist in seen:
            continue
        seen.add(dist)
        providers = {dist, *map(canonical_name, installed_modules().get(found.name, []))}
        if providers & brought:
            continue
        yield Hit(
            found.cell,
            found.line,
            f"imports '{found.name}' ({dist}), which nothing installs: neither the notebook's "
            "own install cell nor what it installs brings it",
            f"add `%pip install {dist}=={doc.pins.get(dist, '<version>')}` to the notebook's "
            "own install cell",
        )


@rule(
    "setup-pins",
    "an imported distribution is not installed at the version pyproject.toml tests",
    "pin it with == in the setup cell, to the version in pyproject.toml",
)
def _setup_pins(doc: Document) -> Iterator[Hit]:
    # Our scripts are held to pyproject.toml; a notebook we did not write, to its own install cell.
    yield from (_unpinned if doc.technique else _not_installed)(doc, installs(doc))


_PIP = re.compile(r"(?:pip3?|python[\d.]*\s+-m\s+pip)\s+(?:-\S+\s+)*install\b")


def pip_install_command(command: IPythonCommand) -> bool:
    """Whether a command is `!pip install ...` (or `!python -m pip install ...`)."""
    return command.kind == "!" and bool(_PIP.match(command.text))


@rule(
    "pip-magic",
    "`!pip install` runs the first pip on PATH, which may install into another Python",
    "write `%pip install ...`: it installs into the kernel's own interpreter",
)
def _pip_magic(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        for command in cell.commands:
            if pip_install_command(command):
                yield Hit(
                    cell,
                    command.line,
                    f"`!{command.text}` runs the first pip on PATH: headless, that may install "
                    "into another Python than the kernel's",
                )


_LEGACY_KERAS = re.compile(
    r"""environ\s*\[\s*["']TF_USE_LEGACY_KERAS["']\s*\]\s*=\s*["']1["']"""
    r"""|environ\.setdefault\(\s*["']TF_USE_LEGACY_KERAS["']\s*,\s*["']1["']\s*\)"""
    r"""|^\s*%env\s+TF_USE_LEGACY_KERAS\s*[=\s]\s*["']?1["']?\s*$"""
)


def _keras3_touches(doc: Document) -> Iterator[Found]:
    """Where the notebook reaches `tf.keras`, in order: used (also as a `keras` imported from
    TensorFlow), or `tensorflow.keras` imported. `from tensorflow import keras` alone does not:
    the name is lazy until used."""
    for cell in doc.code:
        nodes = sorted(
            (n for n in run_time_nodes(cell.tree) if hasattr(n, "lineno")),
            key=lambda n: (n.lineno, n.col_offset),
        )
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                modules += (
                    [node.module] if isinstance(node, ast.ImportFrom) and not node.level else []
                )
                if any(f"{m}.".startswith("tensorflow.keras.") for m in modules if m):
                    yield Found(cell, node.lineno, "tensorflow.keras")
            elif isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
                name = dotted(node)
                resolved = doc.resolve(name, (cell.index, node.lineno, node.col_offset))
                if f"{resolved}.".startswith("tensorflow.keras."):
                    parts = name.split(".")  # show `tf.keras`, not the whole attribute chain
                    shown = (
                        ".".join(parts[: parts.index("keras") + 1]) if "keras" in parts else name
                    )
                    yield Found(cell, node.lineno, shown)


@rule(
    "legacy-keras",
    "tf.keras is Keras 3 where tfmot needs Keras 2",
    'set os.environ["TF_USE_LEGACY_KERAS"] = "1" before the first TensorFlow import, '
    "and import tf_keras as keras",
)
def _legacy_keras(doc: Document) -> Iterator[Hit]:
    # Importing tfmot sets TF_USE_LEGACY_KERAS=1 itself, and tf_keras is Keras 2 anyway: only
    # Keras reached before tfmot is imported, with the variable unset, builds Keras 3 models.
    tfmot = doc.first_import("tensorflow_model_optimization")
    touch = next(_keras3_touches(doc), None)
    if tfmot is None or touch is None:
        return
    legacy = [
        (cell.index, number)
        for cell in doc.code
        for number, line in enumerate(cell.lines, start=1)
        if not line.lstrip().startswith("#") and _LEGACY_KERAS.search(line)
    ]
    if touch.position < tfmot.position and not any(p < touch.position for p in legacy):
        yield Hit(
            touch.cell,
            touch.line,
            f"{touch.name} is reached before tfmot is imported and before TF_USE_LEGACY_KERAS "
            'is set to "1": it is Keras 3 from here on, and tfmot 0.8 rejects Keras 3 models',
        )


@rule(
    "parameters",
    "papermill cannot read a line of the cell tagged 'parameters'",
    "keep one `name = value  # help` per line, with no '=' in the comment",
)
def _parameters(doc: Document) -> Iterator[Hit]:
    # papermill reads this cell to list a notebook's parameters and to check the ones it is given;
    # a line it cannot read logs a warning on every run and hides the parameter from --help-notebook
    import nbformat
    from papermill.translators import PythonTranslator

    for cell in doc.code:
        if Tag.PARAMETERS not in cell.tags or cell.tree is None:
            continue
        papermill_log = logging.getLogger("papermill.translators")  # we report it
        papermill_log.disabled, was_disabled = True, papermill_log.disabled
        try:
            read = {
                p.name for p in PythonTranslator.inspect(nbformat.v4.new_code_cell(cell.source))
            }
        finally:
            papermill_log.disabled = was_disabled
        for node in cell.tree.body:
            names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            if any(name not in read for name in names):
                text = cell.lines[node.lineno - 1].strip()
                yield Hit(cell, node.lineno, f"papermill cannot read `{text}`")
