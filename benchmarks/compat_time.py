"""What `compat` costs (`make bench`): making the stack environments, and the whole matrix.

1. Environments: each declared stack's environment is made afresh in a temporary folder, from
   uv's cache as it is on this machine (after a first `compat`, a warm cache), and timed; with
   `--cold`, the first stack is also made with an empty uv cache (everything downloaded).
2. Matrix: `tutorial-gen compat --role tutorial --jobs 2 --force` over every declared stack, in a
   copy of the project (the tree is never written) with its own build folder, timed. The
   environments it makes first are timed separately, so the figure is the matrix once they exist,
   the figure the README states.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency_noise import project_copy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOOL = [sys.executable, "-m", "tutorial_gen"]


def environments(folder: Path, cold: bool) -> list[tuple[str, float]]:
    from tutorial_gen.config import load_project
    from tutorial_gen.run.stackenv import stack_environment

    project = load_project(ROOT)
    timed = []
    for stack in project.stacks.values():
        _, seconds = stack_environment(stack, project, folder / "warm")
        timed.append((stack.name, seconds))
        print(f"  {stack.name}: {seconds:.1f} s", flush=True)
    if cold:
        stack = next(iter(project.stacks.values()))
        os.environ["UV_CACHE_DIR"] = str(folder / "uv-cache")
        try:
            _, seconds = stack_environment(stack, project, folder / "cold")
        finally:
            del os.environ["UV_CACHE_DIR"]
        timed.append((f"{stack.name} (empty uv cache)", seconds))
        print(f"  {stack.name} with an empty uv cache: {seconds:.1f} s", flush=True)
    return timed


def matrix(folder: Path, jobs: int) -> tuple[float, float]:
    """(seconds making the environments, seconds of the matrix once they exist)."""
    from tutorial_gen.config import load_project
    from tutorial_gen.run.stackenv import stack_environment

    project = load_project(project_copy(folder))
    build = folder / "build"
    started = time.monotonic()
    for stack in project.stacks.values():  # where `compat --build-dir build` looks for them
        stack_environment(stack, project, build)
    made = time.monotonic() - started
    started = time.monotonic()
    result = subprocess.run(
        [
            *TOOL,
            "-C",
            str(project.root),
            "compat",
            "--role",
            "tutorial",
            "--jobs",
            str(jobs),
            "--force",
            "--build-dir",
            str(build),
        ],
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    print(result.stdout[-4000:])
    return made, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time one stack uncached")
    parser.add_argument("--jobs", type=int, default=2, help="stacks at once (default 2)")
    parser.add_argument("--no-matrix", action="store_true", help="time the environments only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compat-bench.") as tmp:
        folder = Path(tmp)
        print("stack environments, made afresh:")
        timed = environments(folder, args.cold)
        report = {"environments": dict(timed)}
        if not args.no_matrix:
            made, wall = matrix(folder, args.jobs)
            print(
                f"environments for the matrix: {made:.0f} s; the matrix: {wall:.0f} s "
                f"({wall / 60:.1f} min, --jobs {args.jobs})"
            )
            report.update(environments_for_matrix_s=round(made), matrix_s=round(wall))
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
