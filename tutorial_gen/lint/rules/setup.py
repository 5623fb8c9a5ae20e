"""Rules about what a notebook installs and imports: pins, legacy Keras, the parameters cell."""

from __future__ import annotations

import ast
import contextlib
import logging
import re
from collections.abc import Iterator

from ...build import IPYTHON_LINE
from ...build.requirements import distribution_of
from ...model import Tag, canonical_name
from ..document import Document
from ..registry import Hit, rule

_PIP_INSTALL = re.compile(r"\bpip3?\b\W+install\b[\"']?(?P<args>.*)")
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][\w.-]*)(?:\[[^\]]*\])?\s*(?P<spec>[<>=!~].*)?$")
_OPTIONS_WITH_VALUE = {"-r", "-c", "-e", "-i", "-f", "--requirement", "--constraint", "--index-url"}


def _installs(doc: Document) -> dict[str, str]:
    """{distribution: version specifier} of everything the notebook installs ('' = unpinned)."""
    installs: dict[str, str] = {}
    for cell in doc.code:
        for node in cell.nodes():
            if (  # the generated setup cell of our notebooks
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "TESTED_VERSIONS" for t in node.targets)
                and isinstance(node.value, ast.Dict)
            ):
                with contextlib.suppress(ValueError):
                    for name, version in ast.literal_eval(node.value).items():
                        installs[canonical_name(name)] = f"=={version}"
        for line in cell.lines:
            match = _PIP_INSTALL.search(line)
            if not match:
                continue
            args = match.group("args")
            if IPYTHON_LINE.match(line):  # `!pip install a==1 b`, `%pip install ...`
                words = [w.strip("\"'") for w in args.split()]
            else:  # subprocess.run([..., "pip", "install", "a==1"])
                words = re.findall(r"[\"']([^\"']+)[\"']", args)
            skip_next = False
            for word in words:
                requirement = _REQUIREMENT.match(word)
                if not (skip_next or word.startswith("-") or not requirement):
                    installs[canonical_name(requirement["name"])] = (
                        requirement["spec"] or ""
                    ).replace(" ", "")
                skip_next = word in _OPTIONS_WITH_VALUE
    return installs


@rule(
    "setup-pins",
    "an imported distribution is not installed at the version pyproject.toml tests",
    "pin it with == in the setup cell, to the version in pyproject.toml",
)
def _setup_pins(doc: Document) -> Iterator[Hit]:
    installs = _installs(doc)
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
        elif dist not in installs:
            yield Hit(
                found.cell,
                found.line,
                f"imports '{found.name}', but no setup cell installs {dist}",
                f"install {dist}=={tested} before the first import",
            )
        elif installs[dist] != f"=={tested}":
            got = installs[dist] or " without a version"
            yield Hit(
                found.cell,
                found.line,
                f"installs {dist}{got}, not the tested {dist}=={tested}",
                f"install {dist}=={tested}",
            )


_LEGACY_KERAS = re.compile(
    r"""environ\s*\[\s*["']TF_USE_LEGACY_KERAS["']\s*\]\s*=\s*["']1["']"""
    r"""|environ\.setdefault\(\s*["']TF_USE_LEGACY_KERAS["']\s*,\s*["']1["']\s*\)"""
    r"""|^\s*%env\s+TF_USE_LEGACY_KERAS\s*[=\s]\s*["']?1["']?\s*$"""
)


@rule(
    "legacy-keras",
    "tfmot is used, but TF_USE_LEGACY_KERAS=1 is not set before TensorFlow is imported",
    'set os.environ["TF_USE_LEGACY_KERAS"] = "1" before the first TensorFlow import, '
    "and import tf_keras as keras",
)
def _legacy_keras(doc: Document) -> Iterator[Hit]:
    if not doc.first_import("tensorflow_model_optimization"):
        return
    first = doc.first_import("tensorflow", "tf_keras", "tensorflow_model_optimization")
    for cell in doc.code:
        for number, line in enumerate(cell.lines, start=1):
            if (cell.index, number) >= first.position:
                yield Hit(
                    first.cell,
                    first.line,
                    f'imports {first.name} before TF_USE_LEGACY_KERAS is set to "1": '
                    "tfmot 0.8 rejects Keras 3 models",
                )
                return
            if not line.lstrip().startswith("#") and _LEGACY_KERAS.search(line):
                return


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
