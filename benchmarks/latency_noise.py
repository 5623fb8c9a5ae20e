"""Latency verdicts under load (`make bench`): do the latency claims of a tutorial keep their verdict
when other TensorFlow jobs share the machine?

The tutorial (`pruning_with_keras` by default) is run in its full profile, forced, one seed, in a
copy of the project (the tree is never written): once on a quiet machine, then `--runs` times with
one TensorFlow job beside it (a forced smoke run of another technique, restarted as long as the
measurement lasts), then `--runs` times with two (`--loads 1,2`; `--loads 3` adds a heavier
series). For every run it prints each latency claim's
value, interval and verdict, and the load average; at the end, whether every loaded verdict is the
quiet machine's or inconclusive (the acceptance), and whether the one-job runs all decided.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = [sys.executable, "-m", "tutorial_gen"]


def project_copy(folder: Path) -> Path:
    """A copy of the project's notebooks and settings to run in: its results are its own."""
    target = folder / "project"
    shutil.copytree(
        ROOT / "notebooks", target / "notebooks", ignore=shutil.ignore_patterns("build")
    )
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


class Load:
    """`jobs` TensorFlow jobs running beside the measurement: forced smoke runs, in a loop."""

    def __init__(self, jobs: int, technique: str, folder: Path) -> None:
        self.jobs, self.technique, self.folder = jobs, technique, folder
        self.stopping = threading.Event()
        self.processes: list[subprocess.Popen] = []
        self.threads: list[threading.Thread] = []

    def _loop(self, index: int) -> None:
        build = self.folder / f"load-build-{index}"
        while not self.stopping.is_set():
            process = subprocess.Popen(
                [*TOOL, "run", "--force", "--build-dir", str(build), f"notebooks/{self.technique}"],
                cwd=self.folder / "project",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.processes.append(process)
            process.wait()

    def __enter__(self) -> Load:
        for index in range(self.jobs):
            thread = threading.Thread(target=self._loop, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)
        time.sleep(20 if self.jobs else 0)  # let the jobs get past their imports into training
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for thread in self.threads:
            thread.join(timeout=60)


def measured_run(project: Path, script: str, build: Path) -> tuple[dict[str, dict], float, float]:
    """One forced full run of `script`: its latency claims {id: outcome}, load average, seconds."""
    started = time.monotonic()
    subprocess.run(
        [*TOOL, "run", "--profile", "full", "--force", "--seeds", "1", "--allow-dirty"]
        + ["--build-dir", str(build), script],
        cwd=project,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - started
    load = os.getloadavg()[0]
    technique = Path(script).parent
    results = json.loads((project / technique / "results" / "full.json").read_text("utf-8"))
    stem = Path(script).stem
    claims = {
        c["id"]: c
        for c in results["claims"]
        if c["notebook"] == stem and "latency" in c["expr"] and c["status"] != "not-in-profile"
    }
    return claims, load, seconds


def show(label: str, claims: dict[str, dict], load: float, seconds: float) -> None:
    for claim_id, c in claims.items():
        low, high = c.get("interval") or (None, None)
        interval = "" if low is None else f"[{low:.4f}, {high:.4f}]"
        measured = "n/a" if c.get("measured") is None else f"{c['measured']:.4f}"
        print(
            f"| {label} | {load:.1f} | {seconds:.0f} s | {claim_id} | {measured} | {interval} "
            f"| {c['op']} {c['threshold']:g} | {c['status']} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", default="notebooks/pruning/pruning_with_keras.py")
    parser.add_argument("--load-technique", default="clustering")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--loads", default="1,2", help="how many jobs beside the measurement, per series"
    )
    args = parser.parse_args()
    loads = [int(n) for n in args.loads.split(",")]
    print(
        "| machine | load (1 min) | run | claim | measured | 99% interval | must hold | verdict |"
    )
    print("|---|---|---|---|---|---|---|---|")
    verdicts: dict[int, list[dict[str, str]]] = {jobs: [] for jobs in [0, *loads]}
    with tempfile.TemporaryDirectory(prefix="latency-noise.") as tmp:
        folder = Path(tmp)
        project = project_copy(folder)
        for jobs, runs in ((0, 1), *((jobs, args.runs) for jobs in loads)):
            with Load(jobs, args.load_technique, folder):
                for run in range(runs):
                    claims, load, seconds = measured_run(project, args.script, folder / "build")
                    label = "quiet" if jobs == 0 else f"{jobs} job{'s' * (jobs > 1)}, run {run + 1}"
                    show(label, claims, load, seconds)
                    verdicts[jobs].append({k: c["status"] for k, c in claims.items()})
    quiet = verdicts[0][0]
    flipped = [
        (jobs, claim_id, status)
        for jobs in loads
        for run in verdicts[jobs]
        for claim_id, status in run.items()
        if status not in (quiet[claim_id], "inconclusive", "unverified")
    ]
    one_job = verdicts.get(1, [])
    one_job_decided = all(s != "inconclusive" for run in one_job for s in run.values())
    one_job_agree = all(run == one_job[0] for run in one_job)
    print()
    print(f"quiet verdicts: {quiet}")
    print(
        f"one job beside: every claim decided in every run: {one_job_decided}; all agree: "
        f"{one_job_agree}"
    )
    print(
        f"verdicts that differ from the quiet machine's (inconclusive aside): {flipped or 'none'}"
    )
    return 0 if not flipped and one_job_decided and one_job_agree else 1


if __name__ == "__main__":
    sys.exit(main())
