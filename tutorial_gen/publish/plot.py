"""Plots for overview pages: accuracy against zipped size, one point per measured configuration.

SVG text, made byte-for-byte reproducible (fixed hash salt, no date, text kept as text), so a
`render --check` can compare it like any other generated file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from ..model import ResultRow


def accuracy_vs_size_svg(
    rows: Sequence[ResultRow], title: str, metric: str = "top-1 accuracy"
) -> str | None:
    """An SVG scatter of accuracy (the table's `metric`: top-1 accuracy, mAP@0.5) against zipped
    size per model; None when there is nothing to plot."""
    points = [r for r in rows if r.accuracy is not None and r.size]
    if len(points) < 2:
        return None
    # rows that are themselves the float baseline are drawn as baselines, not as results
    applied = [r for r in points if not r.is_baseline]
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(
        {"svg.hashsalt": "tutorial-gen", "svg.fonttype": "none", "font.size": 9}
    ):
        figure, axes = plt.subplots(figsize=(6.4, 4.0))
        models = list(dict.fromkeys(str(r.model) for r in points))
        markers = "osD^v<>"
        for index, model in enumerate(models):
            everything = [r for r in points if str(r.model) == model]
            mine = [r for r in everything if r in applied]
            baselines = {
                (r.baseline_size, r.baseline_accuracy)
                for r in everything
                if r.baseline_size and r.baseline_accuracy is not None
            } | {(r.size, r.accuracy) for r in everything if r not in applied}
            line = axes.scatter(
                [r.size / 1000 for r in mine],
                [100 * r.accuracy for r in mine],
                marker=markers[index % len(markers)],
                label=model,
            )
            for size, accuracy in sorted(baselines):
                axes.scatter(
                    [size / 1000],
                    [100 * accuracy],
                    marker=markers[index % len(markers)],
                    facecolors="none",
                    edgecolors=line.get_facecolor(),
                )
        axes.set_xscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
        axes.xaxis.set_major_formatter(plain)
        axes.xaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2.0, 5.0)))
        axes.xaxis.set_minor_formatter(plain)
        axes.set_xlabel("zipped .tflite size (KB, log scale)")
        axes.set_ylabel(f"{metric} (%)")
        axes.set_title(f"{title}\n(filled: with the technique; hollow: float baseline)")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(loc="lower right")
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(figure)
    return buffer.getvalue()
