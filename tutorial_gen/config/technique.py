"""Techniques: each folder's `technique.toml`, validated eagerly when it is loaded.

An unknown key, a value of the wrong type or a dangling reference is a `ConfigError` naming the
file and line, with the closest valid key suggested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError, did_you_mean
from ..model import (
    DEFAULT_CELL_TIMEOUT,
    SEEDS_KEY,
    Claim,
    Notebook,
    Profile,
    Project,
    Role,
    Technique,
)
from ..verify.expressions import COMPARATORS, EXACT, metric_names
from .toml import (
    line_of,
    load_toml,
    reject_unknown,
    require_array,
    require_string,
    require_table,
    require_type,
)

TECHNIQUE_KEYS = {"technique", "notebooks", "claims", "overview"}
HEADER_KEYS = {"name", "descriptor", "technique_calls"}
NOTEBOOK_KEYS = {"script", "role", "profiles", "metrics", "cell_timeout"}
CLAIM_KEYS = {
    "id",
    "notebook",
    "phrase",
    "expr",
    "op",
    "threshold",
    "profiles",
    "published",
    "unverified",
    "over_seeds",
}
MAX_SEEDS = 20
OVER_SEEDS = ("every", "median", "mean", "min", "max")  # how a claim reads several seeds' values
# The [overview] keys and the shape each value must have: text, a list of texts, a list of
# tables, or one table.
OVERVIEW_TYPES = {
    "summary": "text",
    "pitch": "text",
    "benefits": "text",
    "production": "text",
    "guide": "table",
    "api": "texts",
    "api_roadmap": "texts",
    "support": "texts",
    "support_roadmap": "texts",
    "results": "tables",
    "published_results": "tables",
    "device_note": "text",
    "examples": "tables",
    "tips": "texts",
    "references_summary": "text",
    "references": "tables",
}
OVERVIEW_KEYS = set(OVERVIEW_TYPES)
_SHAPES = {
    "text": ("a string", lambda v: isinstance(v, str)),
    "texts": (
        "an array of strings",
        lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    ),
    "tables": (
        "an array of tables",
        lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
    ),
    "table": ("a table", lambda v: isinstance(v, dict)),
}
PROFILES = tuple(str(p) for p in Profile)
ROLES = tuple(str(r) for r in Role)


def load_technique(folder: Path) -> Technique:
    """Load and validate `folder/technique.toml`."""
    path = folder / "technique.toml"
    if not path.is_file():
        raise ConfigError(
            "technique.toml is missing",
            path=path,
            hint="every folder under notebooks/ needs one; see docs/authoring.md",
        )
    data = load_toml(path)
    reject_unknown(data, TECHNIQUE_KEYS, path, "")
    header = require_table(data, "technique", path)
    reject_unknown(header, HEADER_KEYS, path, "technique")
    notebooks: dict[str, Notebook] = {}
    for index, entry in enumerate(require_array(data, "notebooks", path)):
        notebook = _notebook(entry, f"notebooks[{index}]", folder, path)
        notebooks[notebook.stem] = notebook
    claims: list[Claim] = []
    raw_claims = require_type(data.get("claims", []), list, "an array of tables", path, "claims")
    for index, entry in enumerate(raw_claims):
        claim = parse_claim(entry, index, notebooks, path)
        if any(c.id == claim.id for c in claims):
            raise ConfigError(f"claim id '{claim.id}' is used twice", path=path, line=claim.line)
        claims.append(claim)
    overview = data.get("overview", {})
    reject_unknown(overview, OVERVIEW_KEYS, path, "overview")
    for key, value in overview.items():
        what, fits = _SHAPES[OVERVIEW_TYPES[key]]
        if not fits(value):
            raise ConfigError(
                f"[overview] '{key}' must be {what}, not {type(value).__name__}",
                path=path,
                line=line_of(path, key),
            )
    return Technique(
        slug=folder.name,
        folder=folder,
        path=path,
        name=require_string(header, "name", path, "technique"),
        descriptor=require_string(header, "descriptor", path, "technique"),
        notebooks=notebooks,
        claims=tuple(claims),
        overview=overview,
        technique_calls=_technique_calls(header, path),
    )


def _technique_calls(header: dict[str, Any], path: Path) -> tuple[str, ...]:
    """`[technique] technique_calls`: the names of the calls that apply the technique."""
    calls = require_type(
        header.get("technique_calls", []), list, "an array of names", path, "technique_calls"
    )
    for name in calls:
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(
                f"[technique] technique_calls: {name!r} is not the name of a function or attribute",
                path=path,
                line=line_of(path, "technique_calls"),
                hint='name the call by its last part: "factorize_dense" for '
                "lowrank.factorize_dense(model)",
            )
    return tuple(calls)


def _notebook(entry: dict[str, Any], where: str, folder: Path, path: Path) -> Notebook:
    reject_unknown(entry, NOTEBOOK_KEYS, path, "notebooks")
    name = require_string(entry, "script", path, where)
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
    role = require_type(entry.get("role", Role.TUTORIAL), str, "a string", path, "role")
    if role not in ROLES:
        raise ConfigError(
            f"{where}: role '{role}' is not one of {', '.join(ROLES)}{did_you_mean(role, ROLES)}",
            path=path,
            line=line_of(path, role),
        )
    profiles = require_type(entry.get("profiles", {}), dict, "a table", path, "profiles")
    for profile, values in profiles.items():
        if profile not in PROFILES:
            raise ConfigError(
                f"{where}: unknown profile '{profile}'{did_you_mean(profile, PROFILES)}",
                path=path,
                line=line_of(path, profile),
            )
        require_type(values, dict, "a table of parameter values", path, profile)
        seeds = values.get(SEEDS_KEY, 1)
        if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= MAX_SEEDS:
            raise ConfigError(
                f"{where}: seeds in profile '{profile}' must be a whole number from 1 to "
                f"{MAX_SEEDS}, not {seeds!r}",
                path=path,
                line=line_of(path, SEEDS_KEY),
            )
    metrics = require_type(entry.get("metrics", {}), dict, "a table", path, "metrics")
    if not all(isinstance(v, str) for v in metrics.values()):
        raise ConfigError(
            f"{where}: every metric needs a description string",
            path=path,
            line=line_of(path, "metrics"),
        )
    timeout = require_type(
        entry.get("cell_timeout", DEFAULT_CELL_TIMEOUT),
        int,
        "a whole number of seconds",
        path,
        "cell_timeout",
    )
    if timeout <= 0:
        raise ConfigError(
            f"{where}: cell_timeout must be positive, not {timeout}",
            path=path,
            line=line_of(path, "cell_timeout"),
        )
    return Notebook(
        stem=script.stem,
        script=script,
        role=Role(role),
        profiles={p: dict(profiles.get(p, {})) for p in PROFILES},
        metrics=dict(metrics),
        cell_timeout=timeout,
    )


def parse_claim(entry: Any, index: int, notebooks: dict[str, Notebook], path: Path) -> Claim:
    """One `[[claims]]` entry, validated against the notebooks it may name."""
    reject_unknown(entry, CLAIM_KEYS, path, "claims")
    claim_id = require_string(entry, "id", path, f"claims[{index}]")
    line = line_of(path, claim_id)
    stem = require_string(entry, "notebook", path, claim_id)
    if stem not in notebooks:
        raise ConfigError(
            f"claim '{claim_id}' names notebook '{stem}', which is not declared"
            f"{did_you_mean(stem, notebooks)}",
            path=path,
            line=line,
        )
    expr = require_string(entry, "expr", path, claim_id)
    for name in sorted(metric_names(expr, path=path, line=line) - set(notebooks[stem].metrics)):
        raise ConfigError(
            f"claim '{claim_id}' uses metric '{name}', which notebook '{stem}' does not declare"
            f"{did_you_mean(name, notebooks[stem].metrics)}",
            path=path,
            line=line,
            hint="declare it under [notebooks.metrics]",
        )
    op = require_string(entry, "op", path, claim_id)
    if op not in COMPARATORS:
        raise ConfigError(
            f"claim '{claim_id}': unknown comparator '{op}'{did_you_mean(op, COMPARATORS)}",
            path=path,
            line=line,
            hint=f"use one of {' '.join(sorted(COMPARATORS))}",
        )
    threshold = entry.get("threshold")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        raise ConfigError(f"claim '{claim_id}': threshold must be a number", path=path, line=line)
    if op in EXACT and not float(threshold).is_integer():
        raise ConfigError(
            f"claim '{claim_id}': {op} compares exactly, for counts: its threshold must be a "
            f"whole number, not {threshold}",
            path=path,
            line=line,
            hint="compare a measured fraction with >= or <=, or a distance with abs(a - b) <=",
        )
    profiles = entry.get("profiles", list(PROFILES))
    if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
        raise ConfigError(
            f"claim '{claim_id}': profiles must be an array of profile names, such as [\"full\"]",
            path=path,
            line=line,
        )
    for profile in profiles:
        if profile not in PROFILES:
            raise ConfigError(
                f"claim '{claim_id}': unknown profile '{profile}'{did_you_mean(profile, PROFILES)}",
                path=path,
                line=line,
            )
    over_seeds = entry.get("over_seeds", OVER_SEEDS[0])
    if over_seeds not in OVER_SEEDS:
        raise ConfigError(
            f"claim '{claim_id}': over_seeds must be one of {', '.join(OVER_SEEDS)}, "
            f"not {over_seeds!r}{did_you_mean(str(over_seeds), OVER_SEEDS)}",
            path=path,
            line=line,
        )
    return Claim(
        id=claim_id,
        notebook=stem,
        phrase=require_string(entry, "phrase", path, claim_id),
        expr=expr,
        op=op,
        threshold=float(threshold),
        profiles=tuple(profiles),
        published=entry.get("published"),
        unverified=entry.get("unverified"),
        line=line,
        over_seeds=over_seeds,
    )


def discover_techniques(project: Project) -> list[Path]:
    """Technique folders under the notebooks directory (those holding a technique.toml)."""
    if not project.notebooks_dir.is_dir():
        return []
    return sorted(p.parent for p in project.notebooks_dir.glob("*/technique.toml"))
