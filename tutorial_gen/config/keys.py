"""Every key of technique.toml: its type, whether it is required, its default and its meaning.

`load_technique` validates against `TECHNIQUE_TOML` and `tutorial-gen docs` writes the reference of
docs/authoring.md from it. Adding a key is one `Key` entry in its table; the loader then accepts
it, fills in its default, and the reference lists it once regenerated.
"""

from __future__ import annotations

from ..model import DEFAULT_CELL_TIMEOUT, ROW_METRICS, SEEDS_KEY, TUTORIAL_SEEDS, Profile, Role
from ..verify.expressions import COMPARATORS
from .schema import Key, Table

PROFILES = tuple(str(p) for p in Profile)
ROLES = tuple(str(r) for r in Role)
MAX_SEEDS = 20
OVER_SEEDS = ("every", "median", "mean", "min", "max")  # how a claim reads several seeds' values


def _names(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _required_strings(**meanings: str) -> tuple[Key, ...]:
    """Required string keys, one per meaning: the fields of a table that is all text."""
    return tuple(Key(name, "string", meaning, required=True) for name, meaning in meanings.items())


def _holding(name: str, kind: str, table: Table, **options) -> Key:
    """The key that holds `table` (kind "table") or an array of such tables ("tables")."""
    return Key(name, kind, table.meaning, fields=table, **options)


HEADER = Table(
    "technique",
    "[technique]",
    "Who the technique is.",
    keys=(
        *_required_strings(
            name="Display name, as a reader calls it (`Weight clustering`); the overview page "
            "uses it lower-cased in running text.",
            descriptor="Title of the overview page.",
        ),
        Key(
            "technique_calls",
            "texts",
            "Names of the calls that apply the technique, for a technique that is not one of "
            'TFMOT\'s (`["factorize_dense"]`): the journey lint rule counts a call whose last '
            "part is one of them as the technique step.",
            default=[],
        ),
    ),
)

PARAMETERS = Table(
    "notebooks.profiles.<profile>",
    "[notebooks.profiles.<profile>]",
    "The parameter values one profile gives a notebook.",
    keys=(
        Key(
            SEEDS_KEY,
            "integer",
            f"Not a parameter: how many seeds a run of this profile covers (1 to {MAX_SEEDS}). "
            "Each seed runs the notebook in a fresh kernel with its `seed` parameter set to the "
            "cell's value, + 1, + 2…; a claim must hold for every seed (see `over_seeds`). "
            f"Default: {TUTORIAL_SEEDS} in a tutorial's full profile, else 1; `run --seeds N` "
            "overrides it.",
        ),
    ),
    any_key=Key(
        "<parameter>",
        "value",
        "A variable of the script's `parameters` cell and the value this profile gives it "
        "(papermill injects it after that cell); parameters not named keep the cell's value.",
    ),
)

NOTEBOOK_PROFILES = Table(
    "notebooks.profiles",
    "[notebooks.profiles]",
    "The notebook's parameter values per profile, on top of its `parameters` cell.",
    keys=(
        Key(
            "smoke",
            "table",
            "What CI runs: few samples and one epoch, so the notebook runs in well under a minute.",
            fields=PARAMETERS,
        ),
        Key(
            "full",
            "table",
            "The numbers the prose states. The `parameters` cell already holds them, so this "
            "table is usually absent.",
            fields=PARAMETERS,
        ),
    ),
)

METRICS = Table(
    "notebooks.metrics",
    "[notebooks.metrics]",
    "The top-level variables of the notebook that the run reads after its last cell.",
    any_key=Key(
        "<metric>",
        "text",
        "A variable the notebook sets, and what it measures. Its value must be a number (numpy "
        "scalars are converted), `None` where it cannot be measured here, or a list of flat "
        "dicts (results rows).",
    ),
    notes=(
        "`<metric>_unmeasured_reason`: a notebook that sets a metric to `None` may also set a "
        'string variable of this name saying why (`not_measured_unmeasured_reason = "needs a '
        'phone"`). The run reads it with the metric, without a declaration here, and a claim on '
        "the metric is then reported unverified with that reason instead of failing.",
        "`<metric>_samples`: the samples whose median is the metric, such as the round medians "
        "`compare_latency` returns (`baseline_latency_ms_samples`). Read with the metric, without "
        "a declaration; a claim on sampled metrics is decided by the 99% bootstrap interval of "
        "its expression over them: pass or fail only when the whole interval is on one side of "
        "the threshold, otherwise inconclusive (never a pass).",
    ),
)

NOTEBOOK = Table(
    "notebooks",
    "[[notebooks]]",
    "One entry per notebook of the technique, in the order the overview lists them.",
    keys=(
        Key(
            "script",
            "string",
            "The Jupytext percent script, a file beside technique.toml; its stem names the "
            "notebook in claims, results rows and `run` selections.",
            required=True,
        ),
        Key(
            "role",
            "text",
            f"What the notebook is for: one of {_names(ROLES)} (see Notebooks of a technique).",
            default=str(Role.TUTORIAL),
        ),
        _holding("profiles", "table", NOTEBOOK_PROFILES, default={}),
        _holding("metrics", "table", METRICS, default={}),
        Key(
            "cell_timeout",
            "seconds",
            "Time limit of each code cell, in seconds; `run --cell-timeout` overrides it.",
            default=DEFAULT_CELL_TIMEOUT,
        ),
    ),
)

CLAIM = Table(
    "claims",
    "[[claims]]",
    "A sentence of the prose and the measurement that must hold for it to be true.",
    keys=(
        Key(
            "id",
            "string",
            "Unique within the technique; the overview quotes the claim as `claim('id')`.",
            required=True,
        ),
        Key(
            "notebook",
            "string",
            "Stem of the declared notebook whose metrics the claim reads and whose prose holds "
            "the phrase (implied in a sidecar `.claims.toml`).",
            required=True,
        ),
        Key(
            "phrase",
            "string",
            "The words of the prose the claim backs; they must appear in the notebook's markdown.",
            required=True,
        ),
        Key(
            "expr",
            "string",
            "What is measured: arithmetic (`+ - * /`, `abs`, `min`, `max`) over the notebook's "
            "declared metrics, such as `baseline_size / size`.",
            required=True,
        ),
        Key(
            "op",
            "string",
            f"How `expr` compares with `threshold`: one of {_names(list(COMPARATORS))}.",
            required=True,
        ),
        Key("threshold", "number", "The value `expr` is compared with.", required=True),
        Key(
            "profiles",
            "profiles",
            f"The profiles ({_names(PROFILES)}) in which the claim must hold; in the others "
            "it is reported not-in-profile.",
            default=list(PROFILES),
        ),
        Key(
            "published",
            "text",
            "The published figure the claim reproduces, with its source; shown beside the "
            "measurement in the overview's claims table.",
        ),
        Key(
            "unverified",
            "text",
            "Why this machine cannot check the claim (a phone figure, say): it is reported "
            "unverified with this reason, never as a pass, with the value measured here.",
        ),
        Key(
            "over_seeds",
            "string",
            f"How the claim reads a notebook run over several seeds: {_names(list(OVER_SEEDS))}. "
            "`every` (the default): it must hold for each seed's value; otherwise the median, "
            "mean, minimum or maximum of the seeds' values must hold it.",
            default=OVER_SEEDS[0],
        ),
    ),
)

LINK = Table(
    "overview.<link>",
    "`[overview.guide]` and each of `examples`",
    "A page the overview links to.",
    keys=_required_strings(title="The link's text.", url="An http(s) address."),
)

RESULTS_ROW = Table(
    "overview.results.rows",
    "each of `rows` in `[[overview.results]]`",
    "Where a results table's rows come from: every row of a list metric (`rows`), or one row "
    "built from scalar metrics, each key naming the metric that gives that column.",
    keys=(
        Key(
            "notebook",
            "string",
            "Stem of the declared notebook the row(s) come from.",
            required=True,
        ),
        Key("rows", "text", "A list metric of `notebook` (`results_rows`): all its rows enter."),
        Key("model", "text", "For a row built from scalar metrics: its model column, as written."),
        *(
            Key(k, "text", f"For a row built from scalar metrics: the metric giving its `{k}`.")
            for k in ROW_METRICS
            if k != "model"
        ),
    ),
)

RESULTS_TABLE = Table(
    "overview.results",
    "[[overview.results]]",
    "A measured results table, its deployment metrics and its plot. The tables of one `task` "
    "(`Object detection`) share a heading, and check-technique counts tasks.",
    keys=(
        Key("title", "string", "Heading of the table, and title of its plot.", required=True),
        Key("task", "string", "Its task; by default the title before its first `:` or `(`."),
        Key(
            "description",
            "prose",
            "Prose under the heading: what is measured, and how.",
            default="",
        ),
        Key("accuracy_metric", "string", "Heading of the accuracy columns.", required=True),
        Key("optimization_metric", "string", "Heading of the size columns.", required=True),
        Key(
            "hyperparameter",
            "string",
            "Heading of the last column, the critical hyperparameter (`Sparsity`); a row shows "
            "its `config` there, else its hyperparameter.",
            required=True,
        ),
        Key(
            "hyperparameter_format",
            "text",
            "How a hyperparameter is shown: one of the hyperparameter formats listed below.",
            default="pct",
        ),
        _holding("rows", "tables", RESULTS_ROW, required=True),
    ),
)

REFERENCE = Table(
    "overview.references",
    "[[overview.references]]",
    "A paper the technique is based on.",
    keys=(
        *_required_strings(
            title="The paper's title.",
            authors="Its authors, as the paper lists them.",
            url="An http(s) address of the paper.",
            venue="Where it appeared (`CVPR`, `arXiv`).",
        ),
        Key("year", "integer", "The year it appeared.", required=True),
    ),
)

PUBLISHED_RESULT = Table(
    "overview.published_results",
    "[[overview.published_results]]",
    "A published figure this machine cannot reproduce, shown labelled as such.",
    keys=_required_strings(
        model="The model and dataset (`MobilenetV1 224 (ImageNet)`).",
        baseline="The published baseline figure, as written (`71.03%`).",
        result="The published figure with the technique.",
        setting="The technique's setting (`8-bit QAT`).",
        source="Where the figures are published.",
    ),
)

OVERVIEW = Table(
    "overview",
    "[overview]",
    "The overview page's content, one key per section of the TFMOT overview template.",
    required_at_load=False,
    notes=(
        "Required keys are needed by `tutorial-gen render`, which has a section for each; "
        "`build` and `run` load a technique without them.",
    ),
    keys=(
        Key("summary", "prose", "What the technique does, in a few sentences.", required=True),
        Key(
            "pitch", "prose", "The gain for users, with numbers quoted from results.", required=True
        ),
        Key("benefits", "prose", "Accepted, but the page does not show it yet.", default=""),
        Key("production", "prose", "Who uses it in production, or why none is named.", default=""),
        Key(
            "guide",
            "table",
            "The comprehensive guide's link, where no notebook has the role `guide`.",
            fields=LINK,
        ),
        Key(
            "api",
            "prose list",
            "API compatibility: the APIs supported. The releases they run on are not written "
            "here: the page shows them from results/compat.json.",
            required=True,
        ),
        Key("api_roadmap", "prose list", "API compatibility, not supported yet.", default=[]),
        Key(
            "support", "prose list", "Support matrix: the layers, models, hardware.", required=True
        ),
        Key("support_roadmap", "prose list", "Support matrix, not supported yet.", default=[]),
        _holding("results", "tables", RESULTS_TABLE, required=True),
        Key(
            "published_results",
            "tables",
            "Published results not measured here, in a table of their own.",
            default=[],
            fields=PUBLISHED_RESULT,
        ),
        Key(
            "device_note",
            "prose",
            "After the measurements' environment: what this machine cannot measure (phone "
            "latency) and the published device figures.",
            default="",
        ),
        Key(
            "examples",
            "tables",
            "Public examples: a title and a url each.",
            required=True,
            fields=LINK,
        ),
        Key("tips", "prose list", "Tips that save a user time, numbered.", required=True),
        Key("references_summary", "prose", "The papers the technique is based on.", required=True),
        _holding("references", "tables", REFERENCE, required=True),
    ),
)

TECHNIQUE_TOML = Table(
    "",
    "technique.toml",
    "The tables of technique.toml.",
    keys=(
        _holding("technique", "table", HEADER, required=True),
        _holding("notebooks", "tables", NOTEBOOK, required=True),
        _holding("claims", "tables", CLAIM, default=[]),
        _holding("overview", "table", OVERVIEW, default={}),
    ),
)

SIDECAR = Table(
    "",
    "NAME.claims.toml",
    "Claims for a notebook we did not write, in a file beside it (see Notebooks you did not write).",
    keys=(
        _holding("metrics", "table", METRICS, default={}),
        Key(
            "claims",
            "tables",
            "Claims as in [[claims]], without `notebook`: they are the notebook's own.",
            default=[],
        ),
    ),
)
