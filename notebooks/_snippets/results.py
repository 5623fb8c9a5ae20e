"""Presenting the rows of a results notebook: looking rows up, ratios against the float baseline,
the results table and the accuracy-versus-zipped-size chart.

A row is one dict of `results_rows`, with the keys listed in docs/authoring.md ("The rows of a
results notebook"). The float baseline of a model is its row whose `hyperparameter` is None.

Needs the `measure` snippet included before it.
"""

import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex

Row = Mapping[str, Any]


def find_row(rows: Sequence[Row], model: str, config: str | None = None, **keys: Any) -> Row:
    """The one row of `model` whose `config` (if given) and other `keys` have the given values.

    `find_row(rows, "MLP", "16 clusters")`, `find_row(rows, "MLP", hyperparameter="QAT int8")`.
    Raises LookupError if no row matches and ValueError if several do.
    """
    wanted = {"model": model, **({} if config is None else {"config": config}), **keys}
    found = [row for row in rows if all(row.get(key) == value for key, value in wanted.items())]
    if not found:
        raise LookupError(f"no row with {wanted}")
    if len(found) > 1:
        raise ValueError(f"{len(found)} rows with {wanted}: {[row['config'] for row in found]}")
    return found[0]


def baseline_row(rows: Sequence[Row], model: str) -> Row:
    """The float baseline row of `model`: the one whose hyperparameter is None."""
    return find_row(rows, model, hyperparameter=None)


def is_int8(row: Row) -> bool:
    """Whether the row's configuration is combined with int8 post-training quantization."""
    return "int8" in row["config"]


def sweep_rows(rows: Sequence[Row], model: str | None = None) -> list[Row]:
    """The rows of the sweep itself, in table order: neither a baseline nor combined with int8.

    Only the rows of `model` when it is given.
    """
    return [
        row
        for row in rows
        if row["hyperparameter"] is not None
        and not is_int8(row)
        and (model is None or row["model"] == model)
    ]


def zipped_ratio(row: Row) -> float:
    """How many times smaller the zipped `.tflite` is than the float baseline's."""
    return row["baseline_size"] / row["size"]


def raw_ratio(rows: Sequence[Row], row: Row) -> float:
    """How many times smaller the raw `.tflite` is than the float baseline's (found in `rows`)."""
    return baseline_row(rows, row["model"])["tflite_bytes"] / row["tflite_bytes"]


def accuracy_drop(row: Row) -> float:
    """The accuracy lost against the float baseline, as a fraction (negative for a gain)."""
    return row["baseline_accuracy"] - row["accuracy"]


# Fields a column template may use besides the row's own keys: {name: value of (rows, row)}.
_DERIVED: dict[str, Callable[[Sequence[Row], Row], Any]] = {
    "setting": lambda rows, row: (
        "float" if row["hyperparameter"] is None else row["hyperparameter"]
    ),
    "change_points": lambda rows, row: 100 * (row["accuracy"] - row["baseline_accuracy"]),
    "zipped_ratio": lambda rows, row: zipped_ratio(row),
    "raw_ratio": raw_ratio,
    "speedup": lambda rows, row: baseline_row(rows, row["model"])["latency_ms"] / row["latency_ms"],
    "tflite_kib": lambda rows, row: row["tflite_bytes"] / 1024,
    "size_kib": lambda rows, row: row["size"] / 1024,
    "memory_kib": lambda rows, row: (
        None if row["memory_bytes"] is None else row["memory_bytes"] / 1024
    ),
}

# The columns of the sweep table: accuracy, its change, raw and zipped sizes, latency.
RESULTS_COLUMNS = {
    "model": "{model}",
    "configuration": "{config}",
    "accuracy": "{accuracy:.2%}",
    "change (points)": "{change_points:+.2f}",
    ".tflite": "{tflite_kib:,.1f} KiB",
    "zipped": "{size_kib:,.1f} KiB",
    "zipped: times smaller": "{zipped_ratio:.2f}x",
    "latency ms (median)": "{latency_ms:.4f}",
}


def _cell(template: str, rows: Sequence[Row], row: Row) -> str:
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    fields = {}
    for name in names:
        if name in row:
            fields[name] = row[name]
        elif name in _DERIVED:
            fields[name] = _DERIVED[name](rows, row)
        else:
            raise KeyError(
                f"column {template!r}: no field {name!r}; a row has {sorted(row)}, "
                f"and derived fields are {sorted(_DERIVED)}"
            )
    if any(value is None for value in fields.values()):
        return "n/a"
    return template.format(**fields)


def results_table(rows: Sequence[Row], columns: Mapping[str, str] = RESULTS_COLUMNS) -> None:
    """Show one line per row, with `show_table`; `columns` maps each header to a format template.

    A template names the row's keys (`"{accuracy:.2%}"`) or these derived fields: `setting` (the
    hyperparameter, "float" for the baseline), `change_points` (accuracy change in points),
    `zipped_ratio`, `raw_ratio`, `speedup` (baseline latency over this one), `tflite_kib`,
    `size_kib` and `memory_kib`. A cell whose fields include a None shows "n/a".
    """
    show_table(list(columns), [[_cell(t, rows, row) for t in columns.values()] for row in rows])


# One color per model, in the order the rows name them: tab10, matplotlib's default cycle.
_COLORS = [to_hex(color) for color in plt.get_cmap("tab10").colors]


def _zipped_kib(row: Row) -> float:
    return row["size"] / 1024


def plot_accuracy_vs_size(
    rows: Sequence[Row], title: str, label: str = "{}", baseline_on_curve: bool = False
) -> plt.Figure:
    """Draw accuracy against zipped size (KiB, log scale), one colored curve per model.

    Each model's curve runs through its sweep rows in order of hyperparameter, each point labelled
    with `label.format(hyperparameter)`. The float baseline is labelled "float": a hollow circle,
    or the first point of the curve with `baseline_on_curve`. Rows combined with int8 are squares.
    Returns the figure; `plt.show()` displays it.
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))

    def annotate(text: str, row: Row, offset: tuple[int, int] = (3, 5)) -> None:
        ax.annotate(
            text,
            (_zipped_kib(row), row["accuracy"]),
            textcoords="offset points",
            xytext=offset,
            fontsize=7,
        )

    for index, model in enumerate(dict.fromkeys(row["model"] for row in rows)):
        color = _COLORS[index % len(_COLORS)]
        base = baseline_row(rows, model)
        swept = sorted(sweep_rows(rows, model), key=lambda row: row["hyperparameter"])
        curve = [base, *swept] if baseline_on_curve else swept
        ax.plot(
            [_zipped_kib(row) for row in curve],
            [row["accuracy"] for row in curve],
            "-o",
            color=color,
            label=model,
        )
        for row in swept:
            annotate(label.format(row["hyperparameter"]), row)
        if not baseline_on_curve:
            ax.plot([_zipped_kib(base)], [base["accuracy"]], "o", mfc="none", color=color)
        annotate("float", base)
        for row in rows:
            if row["model"] == model and is_int8(row):
                ax.plot([_zipped_kib(row)], [row["accuracy"]], "s", color=color)
                annotate(f"{label.format(row['hyperparameter'])}+int8", row, offset=(3, -10))
    ax.set_xscale("log")
    ax.set_xlabel("zipped .tflite size (KiB, log scale)")
    ax.set_ylabel("LiteRT test accuracy")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
