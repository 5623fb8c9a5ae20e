"""Configuration: project settings from `pyproject.toml` and techniques from `technique.toml`.

Both are validated eagerly when loaded: an unknown key, a wrong type or a dangling reference is a
`ConfigError` naming the file and line, with the closest valid key suggested.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, did_you_mean

PROFILES = ("smoke", "full")
ROLES = ("tutorial", "guide", "results")


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
    pins: dict[str, str] = field(default_factory=dict)

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


_PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([A-Za-z0-9_.\-+]+)\s*$")


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding a `pyproject.toml` with `[tool.tutorial_gen]`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "[tool.tutorial_gen]" in candidate.read_text(encoding="utf-8"):
            return folder
    raise ConfigError(
        f"no pyproject.toml with [tool.tutorial_gen] at or above {here}",
        hint="run tutorial-gen inside the repository that holds the tutorials",
    )


def load_project(root: Path | None = None) -> Project:
    """Read `[tool.tutorial_gen]` and the pinned dependencies from `pyproject.toml`."""
    root = find_root(root)
    path = root / "pyproject.toml"
    data = _load_toml(path)
    settings = data.get("tool", {}).get("tutorial_gen", {})
    allowed = {"repository", "branch", "notebooks", "snippets", "build_dir", "copyright"}
    _reject_unknown(settings, allowed, path, "tool.tutorial_gen")
    for key, value in settings.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"[tool.tutorial_gen] {key} must be a string", path=path, line=_line_of(path, key)
            )
    pins: dict[str, str] = {}
    for requirement in data.get("project", {}).get("dependencies", []):
        match = _PIN.match(requirement)
        if match:
            pins[_normalise(match.group(1))] = match.group(2)
    return Project(root=root, pins=pins, **settings)


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


# --------------------------------------------------------------------------- technique.toml


@dataclass(frozen=True)
class Notebook:
    """One journey of a technique: a Jupytext script and how to run it."""

    stem: str
    script: Path
    role: str
    profiles: dict[str, dict[str, Any]]
    metrics: dict[str, str]
    cell_timeout: int = 900

    @property
    def ipynb(self) -> Path:
        return self.script.with_suffix(".ipynb")


@dataclass(frozen=True)
class Claim:
    """A sentence of the prose, and the measurement that must hold for it to be true."""

    id: str
    notebook: str
    phrase: str
    expr: str
    op: str
    threshold: float
    profiles: tuple[str, ...]
    published: str | None = None
    unverified: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Technique:
    """Everything `technique.toml` says about one technique."""

    slug: str
    folder: Path
    path: Path
    name: str
    descriptor: str
    notebooks: dict[str, Notebook]
    claims: tuple[Claim, ...]
    overview: dict[str, Any]
    raw: dict[str, Any]

    def notebook(self, stem: str) -> Notebook:
        return self.notebooks[stem]


_TECHNIQUE_KEYS = {"technique", "notebooks", "claims", "overview"}
_HEADER_KEYS = {"name", "descriptor"}
_NOTEBOOK_KEYS = {"script", "role", "profiles", "metrics", "cell_timeout"}
_CLAIM_KEYS = {
    "id",
    "notebook",
    "phrase",
    "expr",
    "op",
    "threshold",
    "profiles",
    "published",
    "unverified",
}
_OVERVIEW_KEYS = {
    "summary",
    "pitch",
    "benefits",
    "production",
    "guide",
    "api",
    "api_roadmap",
    "support",
    "support_roadmap",
    "results",
    "published_results",
    "device_note",
    "examples",
    "tips",
    "references_summary",
    "references",
}


def load_technique(folder: Path, comparators: set[str] | None = None) -> Technique:
    """Load and validate `folder/technique.toml`."""
    from .claims import COMPARATORS, metric_names  # claims owns the expression language

    comparators = comparators or set(COMPARATORS)
    path = folder / "technique.toml"
    if not path.is_file():
        raise ConfigError(
            "technique.toml is missing",
            path=path,
            hint="every folder under notebooks/ needs one; see docs/authoring.md",
        )
    data = _load_toml(path)
    _reject_unknown(data, _TECHNIQUE_KEYS, path, "")
    header = _table(data, "technique", path)
    _reject_unknown(header, _HEADER_KEYS, path, "technique")
    name = _string(header, "name", path, "technique")
    descriptor = _string(header, "descriptor", path, "technique")

    notebooks: dict[str, Notebook] = {}
    for index, entry in enumerate(_array(data, "notebooks", path)):
        where = f"notebooks[{index}]"
        _reject_unknown(entry, _NOTEBOOK_KEYS, path, "notebooks")
        script = folder / _string(entry, "script", path, where)
        if not script.is_file():
            raise ConfigError(
                f"{where}: script {script.name} does not exist",
                path=path,
                line=_line_of(path, script.name),
            )
        role = entry.get("role", "tutorial")
        if role not in ROLES:
            raise ConfigError(
                f"{where}: role '{role}' is not one of {', '.join(ROLES)}"
                f"{did_you_mean(role, ROLES)}",
                path=path,
                line=_line_of(path, role),
            )
        profiles = entry.get("profiles", {})
        for profile in profiles:
            if profile not in PROFILES:
                raise ConfigError(
                    f"{where}: unknown profile '{profile}'{did_you_mean(profile, PROFILES)}",
                    path=path,
                    line=_line_of(path, profile),
                )
        metrics = entry.get("metrics", {})
        if not all(isinstance(v, str) for v in metrics.values()):
            raise ConfigError(
                f"{where}: every metric needs a description string",
                path=path,
                line=_line_of(path, "metrics"),
            )
        stem = script.stem
        notebooks[stem] = Notebook(
            stem=stem,
            script=script,
            role=role,
            profiles={p: dict(profiles.get(p, {})) for p in PROFILES},
            metrics=dict(metrics),
            cell_timeout=int(entry.get("cell_timeout", 900)),
        )

    claims: list[Claim] = []
    seen: set[str] = set()
    for index, entry in enumerate(data.get("claims", [])):
        _reject_unknown(entry, _CLAIM_KEYS, path, "claims")
        claim_id = _string(entry, "id", path, f"claims[{index}]")
        line = _line_of(path, claim_id)
        if claim_id in seen:
            raise ConfigError(f"claim id '{claim_id}' is used twice", path=path, line=line)
        seen.add(claim_id)
        stem = _string(entry, "notebook", path, claim_id)
        if stem not in notebooks:
            raise ConfigError(
                f"claim '{claim_id}' names notebook '{stem}', which is not declared"
                f"{did_you_mean(stem, notebooks)}",
                path=path,
                line=line,
            )
        expr = _string(entry, "expr", path, claim_id)
        names = metric_names(expr, path=path, line=line)
        for name in sorted(names - set(notebooks[stem].metrics)):
            raise ConfigError(
                f"claim '{claim_id}' uses metric '{name}', which notebook '{stem}' does not declare"
                f"{did_you_mean(name, notebooks[stem].metrics)}",
                path=path,
                line=line,
                hint="declare it under [notebooks.metrics]",
            )
        op = _string(entry, "op", path, claim_id)
        if op not in comparators:
            raise ConfigError(
                f"claim '{claim_id}': unknown comparator '{op}'{did_you_mean(op, comparators)}",
                path=path,
                line=line,
                hint=f"use one of {' '.join(sorted(comparators))}",
            )
        threshold = entry.get("threshold")
        if not isinstance(threshold, int | float) or isinstance(threshold, bool):
            raise ConfigError(
                f"claim '{claim_id}': threshold must be a number", path=path, line=line
            )
        profiles = tuple(entry.get("profiles", PROFILES))
        for profile in profiles:
            if profile not in PROFILES:
                raise ConfigError(
                    f"claim '{claim_id}': unknown profile '{profile}'"
                    f"{did_you_mean(profile, PROFILES)}",
                    path=path,
                    line=line,
                )
        claims.append(
            Claim(
                id=claim_id,
                notebook=stem,
                phrase=_string(entry, "phrase", path, claim_id),
                expr=expr,
                op=op,
                threshold=float(threshold),
                profiles=profiles,
                published=entry.get("published"),
                unverified=entry.get("unverified"),
                line=line,
            )
        )

    overview = data.get("overview", {})
    _reject_unknown(overview, _OVERVIEW_KEYS, path, "overview")
    return Technique(
        slug=folder.name,
        folder=folder,
        path=path,
        name=name,
        descriptor=descriptor,
        notebooks=notebooks,
        claims=tuple(claims),
        overview=overview,
        raw=data,
    )


def discover_techniques(project: Project) -> list[Path]:
    """Technique folders under the notebooks directory (those holding a technique.toml)."""
    if not project.notebooks_dir.is_dir():
        return []
    return sorted(p.parent for p in project.notebooks_dir.glob("*/technique.toml"))


# --------------------------------------------------------------------------- helpers


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError("is not UTF-8 text", path=path, hint="save it as UTF-8") from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise ConfigError(
            f"is not valid TOML: {error}", path=path, line=int(match.group(1)) if match else None
        ) from error


def _line_of(path: Path, needle: str) -> int | None:
    """The first line of `path` that mentions `needle` as a key, header or string."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    patterns = [
        re.compile(rf"^\s*{re.escape(needle)}\s*="),
        re.compile(rf"^\s*\[+[^\]]*\b{re.escape(needle)}\]+"),
        re.compile(rf"[\"']{re.escape(needle)}[\"']"),
    ]
    for pattern in patterns:
        for number, line in enumerate(lines, start=1):
            if pattern.search(line):
                return number
    return None


def _reject_unknown(table: dict[str, Any], allowed: set[str], path: Path, where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"[{where}] must be a table", path=path, line=_line_of(path, where))
    for key in table:
        if key not in allowed:
            prefix = f"[{where}] " if where else ""
            raise ConfigError(
                f"{prefix}unknown key '{key}'{did_you_mean(key, allowed)}",
                path=path,
                line=_line_of(path, key),
            )


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"needs a [{key}] table", path=path)
    return value


def _array(data: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise ConfigError(
            f"needs at least one [[{key}]] entry", path=path, line=_line_of(path, key)
        )
    return value


def _string(table: dict[str, Any], key: str, path: Path, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{where}: '{key}' must be a non-empty string",
            path=path,
            line=_line_of(path, where.split("[")[0]) or _line_of(path, key),
        )
    return value
