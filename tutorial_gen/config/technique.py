"""Techniques: each folder's `technique.toml`, validated eagerly when it is loaded.

The keys and their types come from `keys.TECHNIQUE_TOML`, the schema the reference documents; this
module adds what a schema cannot say (a script that exists, a claim naming declared metrics). An
unknown key, a value of the wrong type or a dangling reference is a `ConfigError` naming the file
and line, with the closest valid key suggested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError, did_you_mean
from ..model import SEEDS_KEY, Claim, Notebook, Project, Role, Technique
from ..verify.expressions import COMPARATORS, EXACT, metric_names
from .keys import CLAIM, MAX_SEEDS, OVER_SEEDS, PROFILES, ROLES, TECHNIQUE_TOML
from .schema import validate
from .toml import line_of, load_toml


def load_technique(folder: Path) -> Technique:
    """Load and validate `folder/technique.toml`."""
    path = folder / "technique.toml"
    if not path.is_file():
        raise ConfigError(
            "technique.toml is missing",
            path=path,
            hint="every folder under notebooks/ needs one; see docs/authoring.md",
        )
    data = validate(load_toml(path), TECHNIQUE_TOML, path)
    notebooks: dict[str, Notebook] = {}
    for index, entry in enumerate(data["notebooks"]):
        notebook = _notebook(entry, f"notebooks[{index}]", folder, path)
        notebooks[notebook.stem] = notebook
    claims: list[Claim] = []
    for index, entry in enumerate(data["claims"]):
        claim = parse_claim(entry, index, notebooks, path)
        if any(c.id == claim.id for c in claims):
            raise ConfigError(f"claim id '{claim.id}' is used twice", path=path, line=claim.line)
        claims.append(claim)
    return Technique(
        slug=folder.name,
        folder=folder,
        path=path,
        name=data["technique"]["name"],
        descriptor=data["technique"]["descriptor"],
        notebooks=notebooks,
        claims=tuple(claims),
        overview=data["overview"],
        technique_calls=_technique_calls(data["technique"], path),
    )


def _technique_calls(header: dict[str, Any], path: Path) -> tuple[str, ...]:
    """`[technique] technique_calls`: the names of the calls that apply the technique."""
    calls = header.get("technique_calls") or []
    for name in calls:
        if not name.isidentifier():
            raise ConfigError(
                f"[technique] technique_calls: {name!r} is not the name of a function or attribute",
                path=path,
                line=line_of(path, "technique_calls"),
                hint='name the call by its last part: "factorize_dense" for '
                "lowrank.factorize_dense(model)",
            )
    return tuple(calls)


def _notebook(entry: dict[str, Any], where: str, folder: Path, path: Path) -> Notebook:
    """One validated `[[notebooks]]` entry, checked against the folder it lives in."""
    name = entry["script"]
    script = folder / name
    if not script.resolve().is_relative_to(folder.resolve()) or script.is_symlink():
        raise ConfigError(
            f"{where}: script '{name}' is not a file inside the technique folder",
            path=path,
            line=line_of(path, name),
            hint="name a script beside technique.toml, without '..', an absolute path or a link",
        )
    if not script.is_file():
        raise ConfigError(
            f"{where}: script {script.name} does not exist",
            path=path,
            line=line_of(path, script.name),
        )
    role = entry["role"]
    if role not in ROLES:
        raise ConfigError(
            f"{where}: role '{role}' is not one of {', '.join(ROLES)}{did_you_mean(role, ROLES)}",
            path=path,
            line=line_of(path, role),
        )
    if entry["cell_timeout"] <= 0:
        raise ConfigError(
            f"{where}: cell_timeout must be positive, not {entry['cell_timeout']}",
            path=path,
            line=line_of(path, "cell_timeout"),
        )
    profiles = entry["profiles"]
    for profile, values in profiles.items():
        seeds = values.get(SEEDS_KEY, 1)
        if not 1 <= seeds <= MAX_SEEDS:
            raise ConfigError(
                f"{where}: seeds in profile '{profile}' must be a whole number from 1 to "
                f"{MAX_SEEDS}, not {seeds!r}",
                path=path,
                line=line_of(path, SEEDS_KEY),
            )
    return Notebook(
        stem=script.stem,
        script=script,
        role=Role(role),
        profiles={p: dict(profiles.get(p, {})) for p in PROFILES},
        metrics=dict(entry["metrics"]),
        cell_timeout=entry["cell_timeout"],
    )


def parse_claim(entry: Any, index: int, notebooks: dict[str, Notebook], path: Path) -> Claim:
    """One `[[claims]]` entry, validated against the notebooks it may name."""
    entry = validate(entry, CLAIM, path, f"claims[{index}]")
    claim_id = entry["id"]
    line = line_of(path, claim_id)
    stem = entry["notebook"]
    if stem not in notebooks:
        raise ConfigError(
            f"claim '{claim_id}' names notebook '{stem}', which is not declared"
            f"{did_you_mean(stem, notebooks)}",
            path=path,
            line=line,
        )
    expr = entry["expr"]
    for name in sorted(metric_names(expr, path=path, line=line) - set(notebooks[stem].metrics)):
        raise ConfigError(
            f"claim '{claim_id}' uses metric '{name}', which notebook '{stem}' does not declare"
            f"{did_you_mean(name, notebooks[stem].metrics)}",
            path=path,
            line=line,
            hint="declare it under [notebooks.metrics]",
        )
    op = entry["op"]
    if op not in COMPARATORS:
        raise ConfigError(
            f"claim '{claim_id}': unknown comparator '{op}'{did_you_mean(op, COMPARATORS)}",
            path=path,
            line=line,
            hint=f"use one of {' '.join(sorted(COMPARATORS))}",
        )
    threshold = entry["threshold"]
    if op in EXACT and not float(threshold).is_integer():
        raise ConfigError(
            f"claim '{claim_id}': {op} compares exactly, for counts: its threshold must be a "
            f"whole number, not {threshold}",
            path=path,
            line=line,
            hint="compare a measured fraction with >= or <=, or a distance with abs(a - b) <=",
        )
    if entry["over_seeds"] not in OVER_SEEDS:
        raise ConfigError(
            f"claim '{claim_id}': over_seeds must be one of {', '.join(OVER_SEEDS)}, not "
            f"{entry['over_seeds']!r}{did_you_mean(entry['over_seeds'], OVER_SEEDS)}",
            path=path,
            line=line,
        )
    for profile in entry["profiles"]:
        if profile not in PROFILES:
            raise ConfigError(
                f"claim '{claim_id}': unknown profile '{profile}'{did_you_mean(profile, PROFILES)}",
                path=path,
                line=line,
            )
    return Claim(
        id=claim_id,
        notebook=stem,
        phrase=entry["phrase"],
        expr=expr,
        op=op,
        threshold=float(entry["threshold"]),
        profiles=tuple(entry["profiles"]),
        published=entry.get("published"),
        unverified=entry.get("unverified"),
        line=line,
        over_seeds=entry["over_seeds"],
    )


def discover_techniques(project: Project) -> list[Path]:
    """Technique folders under the notebooks directory (those holding a technique.toml)."""
    if not project.notebooks_dir.is_dir():
        return []
    return sorted(p.parent for p in project.notebooks_dir.glob("*/technique.toml"))
