"""Preflight: static checks that save a run, from the script alone, before any kernel starts.

Each check yields every problem it finds: a run refuses the first, `lint` lists them all.
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..build import ipython_to_python, parse_script
from ..build.foreign import read_notebook
from ..config import line_of
from ..config.sidecar import sidecar_for
from ..errors import ConfigError, ScriptError, did_you_mean
from ..model import Marker, Notebook, Tag, Technique


def _tree(source: str, script: Path | None = None) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as error:
        raise ScriptError(
            f"Python syntax error: {error.msg}",
            path=script,
            hint="run `tutorial-gen build` on the script: it names the line",
        ) from error


def assigned_names(source: str, script: Path | None = None) -> set[str]:
    """Every name the code assigns, at any depth (loops, `with`, walrus included)."""
    names: set[str] = set()
    for node in ast.walk(_tree(source, script)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For | ast.NamedExpr):
            targets = [node.target]
        elif isinstance(node, ast.With):
            targets = [item.optional_vars for item in node.items if item.optional_vars]
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _normalise_space(text: str) -> str:
    return " ".join(text.split())


def _source_cells(notebook: Notebook) -> list[Any]:
    """The cells as their author wrote them: a script's, or a foreign notebook's."""
    if notebook.script.suffix == ".ipynb":
        return list(read_notebook(notebook.script).cells)
    parsed, _ = parse_script(notebook.script)
    return list(parsed.cells)


def _parameters_cells(notebook: Notebook) -> list[Any]:
    return [c for c in _source_cells(notebook) if Tag.PARAMETERS in c.metadata.get("tags", [])]


def parameter_names(notebook: Notebook) -> set[str]:
    """The names the notebook's `parameters` cell assigns."""
    return set(parameter_defaults(notebook))


def parameter_defaults(notebook: Notebook) -> dict[str, Any]:
    """The `parameters` cell as {name: value}: the full profile (None for a non-literal value)."""
    cells = _parameters_cells(notebook)
    defaults: dict[str, Any] = {}
    for node in _tree(cells[0].source, notebook.script).body if cells else []:
        if isinstance(node, ast.Assign):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                value = None
            for target in node.targets:
                if isinstance(target, ast.Name):
                    defaults[target.id] = value
    return defaults


def _declared_in(technique: Technique, notebook: Notebook) -> Path:
    """The file that declares a notebook's metrics and claims."""
    return sidecar_for(notebook.script) if technique.foreign else technique.path


def _declared_at(technique: Technique, notebook: Notebook, *needles: str) -> int | None:
    """The line of the last of `needles`, each looked for after the one before, from the
    notebook's own entry on: the first line naming a metric may be another notebook's."""
    path = _declared_in(technique, notebook)
    start = 1 if technique.foreign else (line_of(path, notebook.script.name) or 1)
    line = None
    for needle in needles:
        if (found := line_of(path, needle, start)) is not None:
            line = start = found
    return line or line_of(path, needles[-1])


def profile_problems(
    technique: Technique, notebook: Notebook, profiles: Iterable[str]
) -> Iterator[ConfigError]:
    """Each parameter one of `profiles` sets that the script's parameters cell does not define."""
    path = _declared_in(technique, notebook)
    parameters = _parameters_cells(notebook)
    declared = assigned_names(parameters[0].source, notebook.script) if parameters else set()
    for profile in profiles:
        overrides = notebook.parameters(profile)
        if overrides and not parameters:
            yield ConfigError(
                f"profile '{profile}' of {notebook.script.name} sets parameters, but the "
                "script has no cell tagged 'parameters'",
                path=path,
                line=_declared_at(technique, notebook, f"profiles.{profile}"),
                hint='tag the cell with `# %% tags=["parameters"]`',
            )
            continue
        for name in overrides:
            if name not in declared:
                yield ConfigError(
                    f"profile '{profile}' sets '{name}', which the parameters cell of "
                    f"{notebook.script.name} does not define{did_you_mean(name, declared)}",
                    path=path,
                    line=_declared_at(technique, notebook, f"profiles.{profile}", name),
                )


def metric_problems(technique: Technique, notebook: Notebook) -> Iterator[ConfigError]:
    """Each declared metric that the script never assigns."""
    assigned: set[str] = set()
    for cell in _source_cells(notebook):
        if cell.cell_type == "code" and not cell.source.strip().startswith(Marker.GENERATED):
            # a cell that is not Python to us (IPython may still run it) assigns nothing we see;
            # `build` reports such a cell of our own scripts
            with contextlib.suppress(ScriptError):
                assigned |= assigned_names(ipython_to_python(cell.source), notebook.script)
    for name in notebook.metrics:
        if name not in assigned:
            yield ConfigError(
                f"metric '{name}' is declared for {notebook.script.name}, but the "
                f"script never assigns it{did_you_mean(name, assigned)}",
                path=_declared_in(technique, notebook),
                line=_declared_at(technique, notebook, "metrics", name),
            )


def phrase_problems(technique: Technique, notebook: Notebook) -> Iterator[ConfigError]:
    """Each claim of the notebook whose phrase its prose does not hold word for word, case
    included (line breaks and runs of spaces do not matter)."""
    cells = _source_cells(notebook)
    prose = _normalise_space("\n".join(c.source for c in cells if c.cell_type == "markdown"))
    for claim in technique.claims:
        phrase = _normalise_space(claim.phrase)
        if claim.notebook != notebook.stem or phrase in prose:
            continue
        where = f"the prose of {notebook.script.name}"
        if other := re.search(re.escape(phrase), prose, re.IGNORECASE):
            found = f'appears in {where} only as "{other.group()}": the case differs'
        else:
            found = f"does not appear in {where}"
        yield ConfigError(
            f"claim '{claim.id}': the phrase \"{claim.phrase}\" {found}",
            path=_declared_in(technique, notebook),
            line=claim.line,
            hint="the claim must back a sentence the reader sees, word for word",
        )


def problems(
    technique: Technique, notebook: Notebook, profiles: Iterable[str]
) -> Iterator[ConfigError]:
    """What `technique.toml` (or a sidecar) declares for a notebook that its script does not
    bear out: profile parameters, metrics, claim phrases. Read from the script alone."""
    yield from profile_problems(technique, notebook, profiles)
    yield from metric_problems(technique, notebook)
    yield from phrase_problems(technique, notebook)


def preflight(technique: Technique, notebook: Notebook, profile: str) -> None:
    """Refuse a run with the first problem: profile parameters exist, metrics are assigned,
    claim phrases are in the prose."""
    for problem in problems(technique, notebook, [profile]):
        raise problem
