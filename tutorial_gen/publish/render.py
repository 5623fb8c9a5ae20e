"""Render: a technique's overview page, from its `technique.toml` and its measured results.

The page follows every section of the TFMOT overview template. Technique prose may quote measured
values through a few template helpers (`claim('id').measured | times`, `metric('nb', 'name') | pct`);
the template runs sandboxed with undefined names as errors, and no `{placeholder}` may survive.
The template sees plain data only (strings, numbers, lists, dicts), never objects with paths.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from ..build.links import colab_url
from ..config import line_of
from ..config.keys import OVERVIEW
from ..errors import ConfigError, TutorialGenError, did_you_mean
from ..fileio import sync_generated
from ..model import (
    ClaimOutcome,
    CompatFile,
    Environment,
    Notebook,
    Project,
    ResultRow,
    ResultsFile,
    Role,
    Technique,
)
from .compat import compat_context
from .formats import FILTERS, HYPERPARAMETER_FORMATS, Measured, ms, pct, size
from .helpers import claim, metric
from .plot import accuracy_vs_size_svg
from .sections import group_by_task

_PLACEHOLDER = re.compile(r"\{[A-Za-z][A-Za-z0-9 _,.:-]*\}|\{\{|\}\}|\{%")

# Sections of the template a page cannot do without, and the optional ones (with their defaults).
REQUIRED_OVERVIEW = OVERVIEW.required()
OPTIONAL_OVERVIEW: dict[str, Any] = OVERVIEW.defaults()


class FailingClaims(TutorialGenError):
    """The results a page would be rendered from hold claims that fail."""

    exit_code = 1


def _decided(claim: ClaimOutcome) -> str:
    measured = "n/a" if claim.measured is None else f"{claim.measured:.4g}"
    must = f"{claim.expr} {claim.op} {claim.threshold:g}"
    return f"{claim.status}: measured {measured}, must hold {must}"


def refuse_failing(results: ResultsFile, path: Path) -> None:
    """Refuse to publish from results in which claims fail (false, or left open by noise)."""
    failing = results.failing_claims()
    if failing:
        named = "; ".join(f"'{c.id}' ({_decided(c)})" for c in failing)
        raise FailingClaims(
            f"holds {len(failing)} failing claim{'s' if len(failing) > 1 else ''}: {named}",
            path=path,
            hint="fix it and run again, or pass --allow-failing to render a page that warns "
            "at its top",
        )


def _provenance(environment: Environment | None) -> dict[str, Any] | None:
    """The commit the numbers come from, as the page shows it: dirty, with the diff's hash."""
    if environment is None or not environment.commit:
        return None
    head = environment.commit.removesuffix("-dirty")
    return {"commit": head[:12], "dirty": environment.dirty, "diff": environment.diff}


def _row_sources(
    technique: Technique, results: ResultsFile, spec: dict[str, Any], where: str
) -> list[ResultRow]:
    """The measured rows of one results table."""
    sources: list[ResultRow] = []
    for row in spec.get("rows", []):
        stem = row.get("notebook")
        if stem not in technique.notebooks:
            raise ConfigError(
                f"{where}: row names notebook '{stem}', which is not declared"
                f"{did_you_mean(str(stem), technique.notebooks)}",
                path=technique.path,
                line=line_of(technique.path, str(stem)),
            )
        declared = technique.notebooks[stem].metrics
        for key, name in row.items():
            if key not in ("notebook", "model") and name not in declared:
                raise ConfigError(
                    f"{where}: '{key}' names metric '{name}', which notebook "
                    f"'{stem}' does not declare{did_you_mean(name, declared)}",
                    path=technique.path,
                    line=line_of(technique.path, name),
                )
        entry = results.entry(stem)
        metrics = (entry.metrics if entry else None) or {}
        if "rows" in row:
            sources.extend(entry.rows(row["rows"]) if entry else [])
        else:
            values = {k: metrics.get(n) for k, n in row.items() if k not in ("notebook", "model")}
            sources.append(ResultRow.from_json(values | {"model": row.get("model")}))
    return sources


def _table_rows(sources: list[ResultRow], spec: dict[str, Any], technique: Technique, where: str):
    name = spec.get("hyperparameter_format", "pct")
    if name not in HYPERPARAMETER_FORMATS:
        raise ConfigError(
            f"{where}: hyperparameter_format must be one of {', '.join(HYPERPARAMETER_FORMATS)}",
            path=technique.path,
        )
    hyper_format = HYPERPARAMETER_FORMATS[name]
    rows = [
        {
            "model": r.model,
            "baseline_accuracy": pct(r.baseline_accuracy),
            "accuracy": pct(r.accuracy),
            "baseline_size": size(r.baseline_size),
            "size": size(r.size),
            "hyperparameter": r.config
            or ("n/a" if r.hyperparameter is None else hyper_format(r.hyperparameter)),
        }
        for r in sources
    ]
    deployment = [
        {
            "model": r.model,
            "config": r.config or "",
            "raw": size(r.tflite_bytes),
            "zipped": size(r.size),
            "latency": f"{ms(r.latency_ms)} ({ms(r.latency_p10_ms)} to {ms(r.latency_p90_ms)})",
            "memory": size(r.memory_bytes),
        }
        for r in sources
        if r.latency_ms is not None
    ]
    return rows, deployment


def _results_tables(
    technique: Technique, results: ResultsFile
) -> tuple[list[dict[str, Any]], list[list[ResultRow]]]:
    tables, sources = [], []
    for index, spec in enumerate(technique.overview.get("results", [])):
        where = f"overview.results[{index}]"
        measured = _row_sources(technique, results, spec, where)
        rows, deployment = _table_rows(measured, spec, technique, where)
        tables.append({**spec, "rows": rows, "deployment": deployment})
        sources.append(measured)
    group_by_task(tables, [technique.results_task(table) for table in tables])
    return tables, sources


def notebook_link(notebook: Notebook, project: Project) -> dict[str, str]:
    """A notebook as the page links it: the title of its script, its Colab address."""
    text = notebook.script.read_text(encoding="utf-8")
    match = re.search(r"^# # (.+)$", text, re.MULTILINE)
    title = match.group(1) if match else notebook.stem
    return {
        "title": title,
        "url": colab_url(project, notebook.ipynb),
        "script": notebook.script.name,
    }


def _link_for(technique: Technique, project: Project, role: Role) -> dict[str, str] | None:
    for notebook in technique.with_role(role):
        return notebook_link(notebook, project)
    return None


def _compat(
    technique: Technique, project: Project, compat: CompatFile | None
) -> dict[str, Any] | None:
    """The API compatibility matrix's data (None where it was not measured)."""
    if compat is None:
        return None
    ran = set(compat.notebooks())
    links = {s: notebook_link(n, project) for s, n in technique.notebooks.items() if s in ran}
    return compat_context(compat, list(technique.notebooks), links)


def _quoted(claim: dict[str, Any]) -> dict[str, Any]:
    """A claim outcome as the prose quotes it: `measured` carries the seeds' values, if several."""
    seeds = claim.get("per_seed") or []
    if claim.get("measured") is not None and len(seeds) > 1 and None not in seeds:
        claim["measured"] = Measured(claim["measured"], seeds)
    return claim


def context(
    technique: Technique,
    project: Project,
    results: ResultsFile,
    compat: CompatFile | None = None,
) -> dict[str, Any]:
    """Everything the overview template and the technique's prose may use: plain data and the
    documented helpers `claim(id)` and `metric(notebook, name)`; `compat` is the technique's
    compatibility matrix, where it was measured."""
    for key in REQUIRED_OVERVIEW:
        if not technique.overview.get(key):
            raise ConfigError(
                f"[overview] needs '{key}': the overview template has a section for it",
                path=technique.path,
                line=line_of(technique.path, "overview"),
            )
    claims = [_quoted(c.to_json()) for c in results.claims]
    by_id = {c["id"]: c for c in claims}

    return {
        "technique": {
            "slug": technique.slug,
            "name": technique.name,
            "descriptor": technique.descriptor,
        },
        "overview": {**OPTIONAL_OVERVIEW, **technique.overview},
        "environment": results.environment.to_json() if results.environment else {},
        "provenance": _provenance(results.environment),
        "failing": [c.to_json() for c in results.failing_claims()],
        "tutorial": _link_for(technique, project, Role.TUTORIAL),
        "guide": _link_for(technique, project, Role.GUIDE),
        "compat": _compat(technique, project, compat),
        "claims": claims,
        "claim": partial(claim, by_id, technique.path),
        "metric": partial(metric, results, technique.path),
    }


def escape(value: Any) -> str:
    """A value as page text that no reader's browser takes for HTML: `<` and `&` escaped.

    Quotes and `>` stay as they are: in Markdown text they are not markup, and overview.md stays
    readable as source."""
    if isinstance(value, Markup):
        return str(value)
    return str(value).replace("&", "&amp;").replace("<", "&lt;")


_SAFE_URL = re.compile(r"^(?:https?://|mailto:|#|\.{0,2}/)?[^\s<>()\x00-\x1f\\]*$", re.IGNORECASE)


def url(value: Any) -> Markup:
    """A link target from technique.toml: http(s), mailto, an anchor or a relative path, with no
    character that ends a Markdown link or starts a tag; anything else is refused."""
    text = str(value)
    scheme = re.match(r"^([a-z][a-z0-9+.-]*):", text, re.IGNORECASE)
    if (
        scheme and scheme.group(1).lower() not in ("http", "https", "mailto")
    ) or not _SAFE_URL.match(text):
        raise ConfigError(
            f"the link {text!r} is not an http(s), mailto or relative address a page may carry",
            hint="use a plain https:// URL without spaces, brackets or quotes",
        )
    return Markup(text)


def code(value: Any) -> Markup:
    """A value as a Markdown code span: shown as written (HTML inside is text there), fenced with
    more backticks than it holds, so nothing it contains can end the span."""
    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return Markup(f"{fence}{padded}{fence}")


def cell(value: Any) -> Markup:
    """A value as the text of a Markdown table cell: escaped, on one line, its `|` written as a
    character reference, so nothing it contains can split the cell or end the row."""
    return Markup(escape(" ".join(str(value).split())).replace("|", "&#124;"))


# Every filter the overview template and technique prose may use.
TEMPLATE_FILTERS = {**FILTERS, "url": url, "code": code}


def page_environment(finalize: bool = True) -> SandboxedEnvironment:
    """The sandbox pages render in; `finalize` escapes every printed value and loads this
    package's templates (prose is escaped whole once rendered, so its environment prints values
    as they are, and includes nothing)."""
    env = SandboxedEnvironment(
        loader=jinja2.PackageLoader(__package__, "templates") if finalize else None,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=escape if finalize else None,  # every value printed, from technique.toml or a run
    )
    env.filters.update(TEMPLATE_FILTERS)
    if finalize:  # the page's own tables; prose has no table cells to fill
        env.filters["cell"] = cell
    return env


def _plot_name(index: int) -> str:
    return f"overview_accuracy_vs_size_{index + 1}.svg"


def render_files(
    technique: Technique,
    project: Project,
    results: ResultsFile,
    compat: CompatFile | None = None,
) -> dict[Path, str]:
    """Every file of a technique's overview: `overview.md` and its plots, by path; `compat` (the
    technique's `results/compat.json`, None where there is none) fills its compatibility matrix."""
    env, prose_env = page_environment(), page_environment(finalize=False)
    ctx = context(technique, project, results, compat)
    tables, sources = _results_tables(technique, results)
    plots: dict[str, str] = {}
    for index, (table, rows) in enumerate(zip(tables, sources, strict=True)):
        svg = accuracy_vs_size_svg(rows, table["title"], table["accuracy_metric"])
        table["plot"] = _plot_name(index) if svg else None
        if svg:
            plots[_plot_name(index)] = svg
    ctx["results_tables"] = tables

    def prose(text: str | None) -> Markup:
        if not text:
            return Markup("")
        try:
            rendered = prose_env.from_string(str(text)).render(ctx).strip()
        except ConfigError:
            raise
        except Exception as error:  # a template error, the sandbox refusing, a range too big
            raise ConfigError(
                f"overview prose does not render: {type(error).__name__}: {error}",
                path=technique.path,
                hint="prose may use the documented helpers (claim, metric) and filters only",
            ) from error
        return Markup(escape(rendered))  # its text and its values, escaped once

    ctx["prose"] = prose
    template = env.get_template("overview.md.j2")
    try:
        text = template.render(ctx)
    except ConfigError as error:
        raise ConfigError(error.message, path=technique.path, hint=error.hint) from error
    except Exception as error:
        raise ConfigError(
            f"overview does not render: {type(error).__name__}: {error}", path=technique.path
        ) from error
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    leftover = _PLACEHOLDER.search(re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL))
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
    technique: Technique,
    project: Project,
    results: ResultsFile,
    compat: CompatFile | None = None,
) -> str:
    """The overview page text of one technique."""
    return render_files(technique, project, results, compat)[technique.folder / "overview.md"]


def render(
    pages: list[tuple[Technique, ResultsFile, CompatFile | None]],
    project: Project,
    *,
    check: bool = False,
) -> list[Path]:
    """Write (or compare, with `check`) each technique's overview files, from its results and
    its compatibility matrix (None where there is none); the paths that changed."""
    files = [
        item
        for technique, results, compat in pages
        for item in render_files(technique, project, results, compat).items()
    ]
    return sync_generated(
        files, check=check, relpath=project.relpath, command="tutorial-gen render"
    )
