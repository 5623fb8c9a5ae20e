"""Benchmarks of the tool itself (`make bench`): prints a table, changes nothing in the tree.

1. Overhead: one tutorial run by `tutorial-gen run` against the same built code run as a plain
   `python` script (same parameters): the median ratio of several back-to-back pairs.
2. No-change rerun of the whole smoke suite (every notebook a cache hit).
3. Wall time of the smoke suite with `--jobs 2` against `--jobs 1`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from papermill.parameterize import parameterize_notebook

from tutorial_gen.build import build_notebook
from tutorial_gen.config import load_project, load_technique
from tutorial_gen.run.stamp import cpu_model

ROOT = Path(__file__).resolve().parent.parent
TOOL = [sys.executable, "-m", "tutorial_gen"]


def timed(command: list[str], cwd: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.monotonic() - started


def plain_script(script: Path, profile: str, folder: Path) -> Path:
    """The built notebook of `script` as a plain Python file, with the profile's parameters."""
    project = load_project(ROOT)
    technique = load_technique(script.parent)
    built = build_notebook(script, project)
    notebook = nbformat.reads(built.text, as_version=4)
    for cell, tags in zip(notebook.cells, built.tags, strict=True):
        cell.metadata["tags"] = list(tags)  # the committed form has none; papermill needs them
    notebook.metadata["kernelspec"]["language"] = "python"
    notebook.metadata["papermill"] = {}
    notebook = parameterize_notebook(
        notebook,
        technique.notebooks[script.stem].profiles[profile],
        kernel_name="python3",
        language="python",
    )
    path = folder / f"{script.stem}_plain.py"
    path.write_text(jupytext.writes(notebook, fmt="py:percent"), encoding="utf-8")
    return path


def overhead(script: Path, repeats: int) -> tuple[float, float, float]:
    """Median tool and plain times, and the median ratio of runs made back to back (the machine's
    speed drifts between runs more than the overhead being measured)."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        plain = plain_script(script, "smoke", work)
        env_plain = [sys.executable, str(plain)]
        tool = [*TOOL, "run", str(script), "--force", "--build-dir", str(work / "build")]
        tool_times, plain_times = [], []
        for _ in range(repeats):
            tool_times.append(timed(tool, ROOT))
            plain_times.append(timed(env_plain, work))
    ratios = [t / p for t, p in zip(tool_times, plain_times, strict=True)]
    return statistics.median(tool_times), statistics.median(plain_times), statistics.median(ratios)


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--repeats", type=int, default=7)
    arguments.add_argument(
        "--suite",
        nargs="*",
        default=[],
        help="technique folders for the suite measures (default: all)",
    )
    arguments.add_argument(
        "--script", type=Path, default=ROOT / "notebooks" / "pruning" / "pruning_with_keras.py"
    )
    options = arguments.parse_args()
    rows = []
    tool_s, plain_s, ratio = overhead(options.script.resolve(), options.repeats)
    rows.append(
        (
            "overhead: `tutorial-gen run` / plain `python`, "
            f"{options.script.stem} smoke (medians of {options.repeats} back-to-back pairs)",
            f"{tool_s:.1f} s / {plain_s:.1f} s; ratio {ratio:.3f}x",
            "<= 1.05x",
        )
    )
    suite = options.suite
    label = " ".join(suite) or "every technique"
    with tempfile.TemporaryDirectory() as folder:
        run = [*TOOL, "run", *suite]
        serial = timed([*run, "--force", "--jobs", "1", "--build-dir", f"{folder}/one"], ROOT)
        parallel = timed([*run, "--force", "--jobs", "2", "--build-dir", f"{folder}/two"], ROOT)
        rerun = timed([*run, "--build-dir", f"{folder}/two"], ROOT)
    rows.append(
        (f"no-change rerun of the smoke suite ({label}; all cache hits)", f"{rerun:.2f} s", "< 2 s")
    )
    rows.append(
        (
            f"smoke suite ({label}), `--jobs 2` / `--jobs 1`",
            f"{parallel:.0f} s / {serial:.0f} s = {parallel / serial:.2f}x",
            "< 1x",
        )
    )
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| measure | result | goal |\n|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")


if __name__ == "__main__":
    main()
