"""Render: a technique's overview page, from its `technique.toml` and its measured full-profile results.

The page follows every section of the TFMOT overview template. Technique prose may quote measured
values through a few template helpers (`claim('id').measured | times`, `metric('nb', 'name') | pct`);
the template runs sandboxed with undefined names as errors, and no `{placeholder}` may survive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .build import _github
from .config import Project, Technique, _line_of
from .errors import CheckFailed, ConfigError, did_you_mean
from .fileio import write_if_changed
from .plot import accuracy_vs_size_svg
from .results import load_results

_PLACEHOLDER = re.compile(r"\{[A-Za-z][A-Za-z0-9 _,.:-]*\}|\{\{|\}\}|\{%")


# --------------------------------------------------------------------------- formatting filters


def times(value: float | None, digits: int = 1) -> str:
    """A ratio as `3.4x`."""
    return "n/a" if value is None else f"{value:.{digits}f}x"


def pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage, `0.8912` -> `89.12%`."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def size(value: float | None) -> str:
    """Bytes in the unit a reader wants: `24.3 KB`, `1.46 MB` (powers of 1000, as the docs use)."""
    if value is None:
        return "n/a"
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if value >= scale:
            return f"{value / scale:.{2 if unit == 'MB' else 1}f} {unit}"
    return f"{int(value)} B"


def ms(value: float | None) -> str:
    """Milliseconds with a sensible precision."""
    if value is None:
        return "n/a"
    return f"{value:.3f} ms" if value < 1 else f"{value:.2f} ms"


def down(value: float | None, digits: int = 0) -> str:
    """A number rounded down, for prose that must stay true (`9.7` -> `9`)."""
    if value is None:
        return "n/a"
    scale = 10**digits
    return f"{int(value * scale) / scale:.{digits}f}"


FORMATS = {
    "pct": pct,
    "size": size,
    "ms": ms,
    "times": times,
    "int": lambda v: f"{int(v)}",
    "str": str,
}


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class Link:
    title: str
    url: str


def colab_url(project: Project, ipynb: Path) -> str:
    owner, repo = _github(project)
    return (
        f"https://colab.research.google.com/github/{owner}/{repo}/blob/{project.branch}/"
        f"{project.relpath(ipynb)}"
    )


def _row_sources(
    technique: Technique, results: dict[str, Any], spec: dict[str, Any], where: str
) -> list[dict[str, Any]]:
    """The raw measured rows of one results table: metric values keyed by column."""
    sources: list[dict[str, Any]] = []
    for row in spec.get("rows", []):
        stem = row.get("notebook")
        if stem not in technique.notebooks:
            raise ConfigError(
                f"{where}: row names notebook '{stem}', which is not declared"
                f"{did_you_mean(str(stem), technique.notebooks)}",
                path=technique.path,
                line=_line_of(technique.path, str(stem)),
            )
        declared = technique.notebooks[stem].metrics
        for key, name in row.items():
            if key not in ("notebook", "model") and name not in declared:
                raise ConfigError(
                    f"{where}: '{key}' names metric '{name}', which notebook "
                    f"'{stem}' does not declare{did_you_mean(name, declared)}",
                    path=technique.path,
                    line=_line_of(technique.path, name),
                )
        metrics = (results.get("notebooks", {}).get(stem) or {}).get("metrics") or {}
        if "rows" in row:
            sources.extend(dict(r) for r in metrics.get(row["rows"]) or [])
        else:
            sources.append(
                {
                    key: metrics.get(name)
                    for key, name in row.items()
                    if key not in ("notebook", "model")
                }
                | {"model": row.get("model")}
            )
    return sources


def _results_tables(technique: Technique, results: dict[str, Any]) -> list[dict[str, Any]]:
    tables = []
    for index, spec in enumerate(technique.overview.get("results", [])):
        where = f"overview.results[{index}]"
        hyper_format = FORMATS.get(spec.get("hyperparameter_format", "pct"))
        if hyper_format is None:
            raise ConfigError(
                f"{where}: hyperparameter_format must be one of {', '.join(FORMATS)}",
                path=technique.path,
            )
        sources = _row_sources(technique, results, spec, where)
        rows = []
        for source in sources:
            hyper = source.get("hyperparameter")
            setting = source.get("config") or ("n/a" if hyper is None else hyper_format(hyper))
            rows.append(
                {
                    "model": source.get("model"),
                    "baseline_accuracy": pct(source.get("baseline_accuracy")),
                    "accuracy": pct(source.get("accuracy")),
                    "baseline_size": size(source.get("baseline_size")),
                    "size": size(source.get("size")),
                    "hyperparameter": setting,
                }
            )
        deployment = [
            {
                "model": r.get("model"),
                "config": r.get("config") or "",
                "raw": size(r.get("tflite_bytes")),
                "zipped": size(r.get("size")),
                "latency": f"{ms(r.get('latency_ms'))} ({ms(r.get('latency_p10_ms'))} to "
                f"{ms(r.get('latency_p90_ms'))})",
                "memory": size(r.get("memory_bytes")),
            }
            for r in sources
            if r.get("latency_ms") is not None
        ]
        tables.append({**spec, "rows": rows, "deployment": deployment, "sources": sources})
    return tables


# Sections of the template a page cannot do without, and the optional ones (with their defaults).
REQUIRED_OVERVIEW = (
    "summary",
    "pitch",
    "api",
    "support",
    "results",
    "examples",
    "tips",
    "references_summary",
    "references",
)
OPTIONAL_OVERVIEW: dict[str, Any] = {
    "production": "",
    "guide": None,
    "api_roadmap": [],
    "support_roadmap": [],
    "published_results": [],
    "device_note": "",
    "benefits": "",
}


def context(technique: Technique, project: Project, results: dict[str, Any]) -> dict[str, Any]:
    """Everything the overview template and the technique's prose may use."""
    for key in REQUIRED_OVERVIEW:
        if not technique.overview.get(key):
            raise ConfigError(
                f"[overview] needs '{key}': the overview template has a section for it",
                path=technique.path,
                line=_line_of(technique.path, "overview"),
            )
    notebooks = results.get("notebooks", {})
    claim_outcomes = {c["id"]: c for c in results.get("claims", [])}

    def claim(claim_id: str) -> dict[str, Any]:
        if claim_id not in claim_outcomes:
            raise ConfigError(
                f"the overview quotes claim '{claim_id}', which has no result", path=technique.path
            )
        return claim_outcomes[claim_id]

    def metric(stem: str, name: str) -> Any:
        value = (notebooks.get(stem, {}).get("metrics") or {}).get(name)
        if value is None:
            raise ConfigError(
                f"the overview quotes metric '{stem}.{name}', which has no value",
                path=technique.path,
            )
        return value

    def link_for(role: str) -> Link | None:
        for notebook in technique.notebooks.values():
            if notebook.role == role:
                title = notebook.script.read_text(encoding="utf-8")
                match = re.search(r"^# # (.+)$", title, re.MULTILINE)
                return Link(
                    match.group(1) if match else notebook.stem, colab_url(project, notebook.ipynb)
                )
        return None

    return {
        "technique": technique,
        "overview": {**OPTIONAL_OVERVIEW, **technique.overview},
        "environment": results.get("environment", {}),
        "tutorial": link_for("tutorial"),
        "guide": link_for("guide"),
        "claims": list(claim_outcomes.values()),
        "claim": claim,
        "metric": metric,
    }


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(times=times, pct=pct, size=size, ms=ms, down=down)
    return env


def _plot_name(index: int) -> str:
    return f"overview_accuracy_vs_size_{index + 1}.svg"


def render_files(
    technique: Technique, project: Project, results: dict[str, Any] | None = None
) -> dict[Path, str]:
    """Every file of a technique's overview: `overview.md` and its plots, by path."""
    results = results if results is not None else load_results(technique)
    env = _environment()
    ctx = context(technique, project, results)
    ctx["results_tables"] = tables = _results_tables(technique, results)
    plots: dict[str, str] = {}
    for index, table in enumerate(tables):
        svg = accuracy_vs_size_svg(table["sources"], table["title"])
        table["plot"] = _plot_name(index) if svg else None
        if svg:
            plots[_plot_name(index)] = svg

    def prose(text: str | None) -> str:
        if not text:
            return ""
        try:
            return env.from_string(text).render(ctx).strip()
        except jinja2.TemplateError as error:
            raise ConfigError(
                f"overview prose does not render: {error}", path=technique.path
            ) from error

    ctx["prose"] = prose
    template = env.from_string(
        resources.files("tutorial_gen").joinpath("templates/overview.md.j2").read_text("utf-8")
    )
    try:
        text = template.render(ctx)
    except jinja2.TemplateError as error:
        raise ConfigError(f"overview does not render: {error}", path=technique.path) from error
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    body = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    leftover = _PLACEHOLDER.search(body)
    if leftover:
        raise ConfigError(
            f"the rendered overview still holds the placeholder '{leftover.group(0)}'",
            path=technique.path,
            hint="fill the [overview] value it comes from",
        )
    return {technique.folder / "overview.md": text} | {
        technique.folder / name: svg for name, svg in plots.items()
    }


def render_overview(
    technique: Technique, project: Project, results: dict[str, Any] | None = None
) -> str:
    """The overview page text of one technique."""
    return render_files(technique, project, results)[technique.folder / "overview.md"]


def render(techniques: list[Technique], project: Project, *, check: bool = False) -> list[Path]:
    """Write (or compare, with `check`) each technique's overview files; the paths that changed."""
    changed: list[Path] = []
    for technique in techniques:
        for path, text in render_files(technique, project).items():
            if check:
                current = path.read_text(encoding="utf-8") if path.is_file() else None
                if current != text:
                    changed.append(path)
            elif write_if_changed(path, text):
                changed.append(path)
    if check and changed:
        raise CheckFailed(
            f"{', '.join(project.relpath(p) for p in changed)} differ from what "
            "their results render",
            path=changed[0],
            hint="run `tutorial-gen render` and commit the result",
        )
    return changed
