"""The `tutorial-gen` command: parse arguments, call the library, print, map errors to exit codes."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .arguments import rule_id, run_options, run_request, shard
from .errors import TutorialGenError
from .model import Project, Role
from .selection import buildable, project_for, runnable, select


def _cmd_build(args: argparse.Namespace, project: Project) -> int:
    from .build import build

    outcomes = build(buildable(args.paths, project), project, check=args.check)
    for outcome in outcomes:
        state = "up to date" if not outcome.changed else ("written" if not args.check else "stale")
        print(f"{project.relpath(outcome.ipynb)}: {state}")
    return 0


def _cmd_run(args: argparse.Namespace, project: Project) -> int:
    from .run.plan import plan
    from .run.report import ProgressView, print_reports
    from .run.suite import run_suite

    request = run_request(
        args, clean_env=args.clean_env, shard=args.shard, allow_dirty=args.allow_dirty
    )
    selection = runnable(args.paths, project, args.claims)
    if args.offline:
        from .verbs import offline_needs

        needs = offline_needs(selection, project)
        for need in needs:
            print(f"error: {need}", file=sys.stderr)
        if needs:
            print(f"{len(needs)} download(s) found; nothing was run (--offline)", file=sys.stderr)
            return 1
    build_dir = (args.build_dir or project.build_path).resolve()
    jobs = plan(selection, args.profile, build_dir, args.force)
    expected = {job.label: job.expected for job in jobs}
    reports = run_suite(selection, project, request, progress=ProgressView(sys.stderr, expected))
    return 1 if print_reports(reports, project, expected, build_dir) else 0


def _cmd_compat(args: argparse.Namespace, project: Project) -> int:
    from .compat import choose_stacks, merge_files, report, run_compat, with_role
    from .run.report import ProgressView

    if args.merge:
        techniques = [t for t, _ in select([], project).only_techniques("compat")]
        selection, outcomes = merge_files(args.merge, techniques, project)
        return report(outcomes, selection, project)
    stacks = choose_stacks(project, args.stacks)
    selection = with_role(select(args.paths, project).only_techniques("compat"), args.role)
    request = run_request(args)
    outcomes = run_compat(
        stacks,
        selection,
        project,
        request,
        progress=ProgressView(sys.stderr),
        done=lambda outcome: print(outcome.summary(), flush=True),
    )
    return report(outcomes, selection, project)


def _cmd_merge(args: argparse.Namespace, project: Project) -> int:
    from .run.merge import merge
    from .run.report import print_reports

    output = args.output.resolve() if args.output else None
    return 1 if print_reports(merge(args.files, project, output), project, {}, output) else 0


def _cmd_render(args: argparse.Namespace, project: Project) -> int:
    from .verbs import render_overviews

    techniques = [t for t, _ in select(args.paths, project).only_techniques("render")]
    changed = render_overviews(
        techniques, project, check=args.check, allow_failing=args.allow_failing
    )
    for path in changed:
        print(f"{project.relpath(path)}: written")
    print(f"{len(techniques)} overview(s) checked, {len(changed)} file(s) written")
    return 0


def _cmd_site(args: argparse.Namespace, project: Project) -> int:
    from .site import build_site

    techniques = [t for t, _ in select(args.paths, project).only_techniques("site")]
    build_dir = (args.build_dir or project.build_path).resolve()
    site = build_site(techniques, project, build_dir, args.output)
    print(
        f"{project.relpath(site.index.parent)}: {site.pages} pages ({site.notebooks} executed "
        f"notebooks), {site.size / 1e6:.1f} MB, built in {site.seconds:.1f} s"
    )
    print(f"open {project.relpath(site.index)}")
    return 0


def _cmd_docs(args: argparse.Namespace, project: Project) -> int:
    from .docs import DOCUMENT, sync_docs

    path = args.file or project.root / DOCUMENT
    state = "written" if sync_docs(project, path, check=args.check) else "up to date"
    print(f"{project.relpath(path)}: reference {state}")
    return 0


def _cmd_check_technique(args: argparse.Namespace, project: Project) -> int:
    from .verbs import check_technique

    missing = 0
    for technique, _ in select(args.paths, project).only_techniques("check-technique"):
        print(project.relpath(technique.folder))
        for component, present, reason in check_technique(technique, project):
            print(f"  {'✓' if present else '✗'} {component}: {reason}")
            missing += not present
    return 1 if missing else 0


def _cmd_new(args: argparse.Namespace, project: Project) -> int:
    from .scaffold import scaffold

    for path in scaffold(args.technique, project, args.name):
        print(f"{project.relpath(path)}: written")
    print(
        f"next: fill the TODO(tutorial-gen) places (`tutorial-gen lint notebooks/{args.technique}`"
        " lists them), then `tutorial-gen run` and `tutorial-gen render`"
    )
    return 0


def _cmd_adopt(args: argparse.Namespace, project: Project) -> int:
    from .adopt import adopt

    adopted = adopt(args.notebook, args.technique, project, args.name)
    for path in (adopted.script, adopted.technique_toml):
        print(f"{project.relpath(path)}: written")
    print(f"{len(adopted.candidates)} claim candidate(s) in technique.toml, to bind:")
    for phrase in adopted.candidates:
        print(f'  - "{phrase}"')
    print(f"{len(adopted.todo)} lint finding(s) to fix:")
    for finding in adopted.todo:
        print(f"  - {finding}")
    return 0


def _cmd_lint(args: argparse.Namespace, project: Project) -> int:
    from .lint import lint_paths

    findings = lint_paths(args.paths, project, set(args.exclude))
    for finding in findings:
        print(finding)
    return 1 if findings else 0


def _cmd_datasets(args: argparse.Namespace, project: Project) -> int:
    from .datasets import provisioners

    for provision in provisioners(install=not args.no_install):
        print(provision().line())  # one at a time: what is done is reported before a failure
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of every verb."""
    top = argparse.ArgumentParser(
        prog="tutorial-gen",
        description="Generate, execute and verify model-optimization tutorials.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    top.add_argument(
        "-C",
        "--root",
        type=Path,
        default=None,
        help="the repository (default: found from the current folder)",
    )
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")

    build = verbs.add_parser("build", help="write each script's paired .ipynb")
    build.add_argument("paths", nargs="*", type=Path, help="scripts or technique folders")
    build.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if a committed notebook is out of date",
    )
    build.set_defaults(func=_cmd_build)

    run = verbs.add_parser("run", help="execute notebooks, harvest metrics, check claims")
    run.add_argument("paths", nargs="*", type=Path, help="scripts or technique folders")
    run_options(run, "notebooks to run at once; each kernel gets its share of the cores")
    run.add_argument(
        "--shard",
        type=shard,
        default=None,
        metavar="K/N",
        help="run only shard K of N (balanced by recorded durations)",
    )
    run.add_argument(
        "--allow-dirty",
        action="store_true",
        help="write full-profile results from a tree with uncommitted changes (the results "
        "then record the commit as dirty, with a hash of the changes)",
    )
    run.add_argument(
        "--clean-env",
        action="store_true",
        help="run each kernel in a fresh environment holding only what the notebook's "
        "setup cell installs (cached by its install line)",
    )
    run.add_argument(
        "--offline",
        action="store_true",
        help="this machine has no network: refuse, before running anything, notebooks that "
        "download at run time (each download named with its cell)",
    )
    run.add_argument(
        "--claims",
        type=Path,
        default=None,
        metavar="FILE",
        help="claims of the one .ipynb given (default: NAME.claims.toml beside each notebook)",
    )
    run.set_defaults(func=_cmd_run)

    compat = verbs.add_parser("compat", help="run notebooks on every tested stack, as a matrix")
    compat.add_argument("paths", nargs="*", type=Path, help="scripts or technique folders")
    run_options(compat, "stacks to run at once; each kernel gets its share of the cores")
    compat.add_argument(
        "--stacks",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=None,
        metavar="A,B",
        help="only these stacks of pyproject.toml (default: every declared one)",
    )
    compat.add_argument(
        "--role",
        choices=[str(r) for r in Role],
        default=None,
        help="only the notebooks of this role (default: every selected notebook)",
    )
    compat.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=None,
        metavar="FILE",
        help="run nothing: merge these compat.json files (CI's columns) into the techniques'",
    )
    compat.set_defaults(func=_cmd_compat)

    merge = verbs.add_parser("merge", help="combine the results files of shards, check claims")
    merge.add_argument("files", nargs="+", type=Path, help="results/<profile>.json of each shard")
    merge.add_argument(
        "--output",
        type=Path,
        default=None,
        help="folder for the merged results (default: where run writes them)",
    )
    merge.set_defaults(func=_cmd_merge)

    render = verbs.add_parser("render", help="write each technique's overview.md")
    render.add_argument("paths", nargs="*", type=Path, help="technique folders")
    render.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if a committed overview is out of date",
    )
    render.add_argument(
        "--allow-failing",
        action="store_true",
        help="render results holding failing or inconclusive claims; the page warns at its top",
    )
    render.set_defaults(func=_cmd_render)

    site = verbs.add_parser("site", help="build a static site to read the results in a browser")
    site.add_argument("paths", nargs="*", type=Path, help="technique folders (default: all)")
    site.add_argument("--build-dir", type=Path, default=None, help="the runs (default: build)")
    site.add_argument("--output", type=Path, default=None, help="default: build/site")
    site.set_defaults(func=_cmd_site)

    docs = verbs.add_parser("docs", help="write the technique.toml reference of docs/authoring.md")
    docs.add_argument("file", nargs="?", type=Path, help="default: docs/authoring.md")
    docs.add_argument(
        "--check", action="store_true", help="write nothing; fail if the reference is out of date"
    )
    docs.set_defaults(func=_cmd_docs)

    check = verbs.add_parser(
        "check-technique", help="check a technique against the contributors' checklist"
    )
    check.add_argument("paths", nargs="*", type=Path, help="technique folders (default: all)")
    check.set_defaults(func=_cmd_check_technique)

    new = verbs.add_parser("new", help="scaffold a new technique that already builds and runs")
    new.add_argument("technique", help="folder name under notebooks/, e.g. weight_sharing")
    new.add_argument("--name", default=None, help="display name (default: from the folder name)")
    new.set_defaults(func=_cmd_new)

    adopt = verbs.add_parser("adopt", help="turn a notebook we did not write into a technique")
    adopt.add_argument("notebook", type=Path, help="the .ipynb to adopt")
    adopt.add_argument("--technique", required=True, help="folder name under notebooks/")
    adopt.add_argument("--name", default=None, help="display name (default: from the folder)")
    adopt.set_defaults(func=_cmd_adopt)

    lint = verbs.add_parser("lint", help="find what breaks tutorials for readers (see README)")
    lint.add_argument(
        "paths", nargs="*", type=Path, help="scripts, .ipynb notebooks or technique folders"
    )
    lint.add_argument(
        "--exclude",
        action="append",
        default=[],
        type=rule_id,
        metavar="RULE",
        help="skip the rule with this id; repeatable",
    )
    lint.set_defaults(func=_cmd_lint)

    datasets = verbs.add_parser(
        "datasets", help="seed the Keras and Hugging Face caches for offline runs"
    )
    datasets.add_argument(
        "--no-install",
        action="store_true",
        help="never run apt-get; fail if the Fashion-MNIST files are missing",
    )
    datasets.set_defaults(func=_cmd_datasets)
    return top


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, so that every kernel and worker is stopped."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; errors become one line on stderr and an exit code."""
    args = parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return args.func(args, project_for(args.root, args.verb, getattr(args, "paths", None)))
    except TutorialGenError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:  # a full disk, a read-only folder: one line, never a traceback
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error} (errno {error.errno})", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Terminated) as stop:
        # Kernels and workers were stopped while the interrupt unwound; leave at once, so that
        # no half-finished background task prints a traceback on its way out.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        what = "terminated" if isinstance(stop, Terminated) else "interrupted"
        code = 143 if isinstance(stop, Terminated) else 130
        if getattr(stop, "workers_stopped", False):
            # The frames the interrupt unwound still hold the parallel run's queues; free them,
            # so that their finalizers release their semaphores before the exit below skips them.
            stop.__traceback__ = None
            gc.collect()
        print(f"{what}: sources and finished results are kept", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
