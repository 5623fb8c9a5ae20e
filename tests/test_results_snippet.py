"""Tests of the presentation helpers in notebooks/_snippets/results.py.

The snippet is loaded by path, as `build` inlines it into notebooks rather than importing it. In a
notebook it finds `show_table` among the names the `measure` snippet defined before it; here the
real `show_table` from measure.py is put into its namespace the same way. No TensorFlow.
"""

import importlib.util
import pathlib

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

SNIPPETS = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "_snippets"


def _load_results():
    measure_spec = importlib.util.spec_from_file_location(
        "tutorial_snippet_measure", SNIPPETS / "measure.py"
    )
    measure = importlib.util.module_from_spec(measure_spec)
    measure_spec.loader.exec_module(measure)
    spec = importlib.util.spec_from_file_location(
        "tutorial_snippet_results", SNIPPETS / "results.py"
    )
    module = importlib.util.module_from_spec(spec)
    module.show_table = measure.show_table
    spec.loader.exec_module(module)
    return module


results = _load_results()


def _row(model, config, hyperparameter, accuracy, size, tflite_bytes, base, **extra):
    """A row as `results_row` of the convert snippet makes it, beside the baseline `base`."""
    latency = extra.pop("latency_ms", 0.05)
    return {
        "model": model,
        "config": config,
        "hyperparameter": hyperparameter,
        "baseline_accuracy": base["accuracy"],
        "baseline_size": base["size"],
        "tflite_bytes": tflite_bytes,
        "size": size,
        "accuracy": accuracy,
        "latency_ms": latency,
        "latency_p10_ms": latency * 0.9,
        "latency_p90_ms": latency * 1.5,
        "memory_bytes": extra.pop("memory_bytes", 2_000_000),
        **extra,
    }


CNN = {"accuracy": 0.9, "size": 409_600}  # 400 KiB zipped
MLP = {"accuracy": 0.88, "size": 204_800}  # 200 KiB zipped

# A pruning sweep of two models: baseline, 50% and 90% sparsity, and 80% sparsity + int8.
PRUNING_ROWS = [
    _row("Tutorial CNN", "baseline", None, 0.9, 409_600, 440_000, CNN, latency_ms=0.08),
    _row("Tutorial CNN", "90% sparsity", 0.9, 0.84, 51_200, 440_000, CNN),
    _row("Tutorial CNN", "50% sparsity", 0.5, 0.895, 204_800, 440_000, CNN),
    _row("Tutorial CNN", "80% sparsity + int8 PTQ", 0.8, 0.87, 40_960, 112_000, CNN),
    _row("MLP", "baseline", None, 0.88, 204_800, 220_000, MLP, memory_bytes=None),
    _row("MLP", "50% sparsity", 0.5, 0.871, 102_400, 220_000, MLP),
    _row("MLP", "90% sparsity", 0.9, 0.83, 25_600, 220_000, MLP),
    _row("MLP", "80% sparsity + int8 PTQ", 0.8, 0.86, 20_480, 55_000, MLP),
]


@pytest.fixture
def figure():
    """The figures a test draws are closed after it."""
    yield
    plt.close("all")


def test_find_row_by_config_and_by_other_keys():
    assert results.find_row(PRUNING_ROWS, "MLP", "90% sparsity")["accuracy"] == 0.83
    assert results.find_row(PRUNING_ROWS, "Tutorial CNN", hyperparameter=0.5)["size"] == 204_800
    assert results.baseline_row(PRUNING_ROWS, "MLP")["config"] == "baseline"


def test_find_row_refuses_no_match_and_several_matches():
    with pytest.raises(LookupError, match="75% sparsity"):
        results.find_row(PRUNING_ROWS, "MLP", "75% sparsity")
    with pytest.raises(ValueError, match="3 rows"):
        results.find_row(PRUNING_ROWS, "MLP", memory_bytes=2_000_000)
    with pytest.raises(ValueError, match="2 rows"):
        results.find_row(PRUNING_ROWS + PRUNING_ROWS[:1], "Tutorial CNN", "baseline")


def test_ratios_and_accuracy_drop():
    int8 = results.find_row(PRUNING_ROWS, "Tutorial CNN", "80% sparsity + int8 PTQ")
    assert results.zipped_ratio(int8) == pytest.approx(10.0)  # 409,600 / 40,960
    assert results.raw_ratio(PRUNING_ROWS, int8) == pytest.approx(440_000 / 112_000)
    assert results.accuracy_drop(int8) == pytest.approx(0.03)
    gain = _row("MLP", "50% sparsity", 0.5, 0.9, 1, 1, MLP)
    assert results.accuracy_drop(gain) == pytest.approx(-0.02)


def test_sweep_rows_leave_out_baselines_and_int8_rows_in_table_order():
    assert [(r["model"], r["hyperparameter"]) for r in results.sweep_rows(PRUNING_ROWS)] == [
        ("Tutorial CNN", 0.9),
        ("Tutorial CNN", 0.5),
        ("MLP", 0.5),
        ("MLP", 0.9),
    ]
    assert [r["config"] for r in results.sweep_rows(PRUNING_ROWS, "MLP")] == [
        "50% sparsity",
        "90% sparsity",
    ]


def test_results_table_default_columns(capsys):
    results.results_table(PRUNING_ROWS[:4])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "| model | configuration | accuracy | change (points) | .tflite | zipped "
        "| zipped: times smaller | latency ms (median) |"
    )
    assert lines[1] == "|---|---|---|---|---|---|---|---|"
    assert lines[2] == (
        "| Tutorial CNN | baseline | 90.00% | +0.00 | 429.7 KiB | 400.0 KiB | 1.00x | 0.0800 |"
    )
    assert lines[3] == (
        "| Tutorial CNN | 90% sparsity | 84.00% | -6.00 | 429.7 KiB | 50.0 KiB | 8.00x | 0.0500 |"
    )
    assert len(lines) == 6


def test_results_table_custom_columns_with_baseline_fields(capsys):
    results.results_table(
        PRUNING_ROWS,
        {
            "mode": "{setting}",
            "vs float": "{change_points:+.2f} pt",
            "times smaller": "{raw_ratio:.2f}x",
            "speed-up": "{speedup:.2f}x",
            "memory": "{memory_bytes:,}",
            "memory KB": "{memory_kib:,.0f}",
        },
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| mode | vs float | times smaller | speed-up | memory | memory KB |"
    assert lines[2] == "| float | +0.00 pt | 1.00x | 1.00x | 2,000,000 | 1,953 |"
    assert lines[5] == "| 0.8 | -3.00 pt | 3.93x | 1.60x | 2,000,000 | 1,953 |"
    # The MLP baseline's memory was not measured: its memory cells say so.
    assert lines[6] == "| float | +0.00 pt | 1.00x | 1.00x | n/a | n/a |"


def test_results_table_names_an_unknown_field():
    with pytest.raises(KeyError, match="zipped_ration"):
        results.results_table(PRUNING_ROWS, {"ratio": "{zipped_ration:.2f}x"})


def _curves(ax):
    """{label: (x data, y data)} of the labelled lines of an Axes."""
    return {
        line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
        for line in ax.lines
        if not line.get_label().startswith("_")
    }


def test_plot_draws_one_sorted_curve_per_model_with_hollow_baselines(figure):
    fig = results.plot_accuracy_vs_size(PRUNING_ROWS, title="Sweep\n(hollow: baseline)")
    ax = fig.axes[0]
    assert _curves(ax) == {
        "Tutorial CNN": ([200.0, 50.0], [0.895, 0.84]),
        "MLP": ([100.0, 25.0], [0.871, 0.83]),
    }
    hollow = [line for line in ax.lines if line.get_markerfacecolor() == "none"]
    assert [(list(line.get_xdata()), list(line.get_ydata())) for line in hollow] == [
        ([400.0], [0.9]),
        ([200.0], [0.88]),
    ]
    squares = [line for line in ax.lines if line.get_marker() == "s"]
    assert [(list(line.get_xdata()), list(line.get_ydata())) for line in squares] == [
        ([40.0], [0.87]),
        ([20.0], [0.86]),
    ]
    colors = {line.get_label(): line.get_color() for line in ax.lines}
    assert colors["Tutorial CNN"] == "#1f77b4" and colors["MLP"] == "#ff7f0e"
    labels = [text.get_text() for text in ax.texts]
    assert labels == ["0.5", "0.9", "float", "0.8+int8"] * 2
    # Labels sit above their points, those of the int8 squares below.
    assert [tuple(text.xyann) for text in ax.texts] == [(3, 5), (3, 5), (3, 5), (3, -10)] * 2
    assert ax.get_title() == "Sweep\n(hollow: baseline)"
    assert ax.get_xscale() == "log"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["Tutorial CNN", "MLP"]


def test_plot_with_the_baseline_on_the_curve_and_formatted_labels(figure):
    fig = results.plot_accuracy_vs_size(
        PRUNING_ROWS, title="Sweep", label="{:.0%}", baseline_on_curve=True
    )
    ax = fig.axes[0]
    assert _curves(ax)["Tutorial CNN"] == ([400.0, 200.0, 50.0], [0.9, 0.895, 0.84])
    assert not [line for line in ax.lines if line.get_markerfacecolor() == "none"]
    assert [text.get_text() for text in ax.texts][:4] == ["50%", "90%", "float", "80%+int8"]
