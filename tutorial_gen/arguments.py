"""Parsers of the CLI's argument values: each turns a bad value into argparse's usage error."""

from __future__ import annotations

import argparse
import ast
import math
from pathlib import Path

from .errors import TutorialGenError
from .model import Profile, RunRequest


def parameter(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=VALUE")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value  # a bare word is a string


def positive(kind: type) -> object:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"'{text}' is not a positive number of seconds")
        return value

    parse.__name__ = kind.__name__
    return parse


def shard(text: str) -> tuple[int, int]:
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or not 1 <= int(index) <= int(count):
        raise argparse.ArgumentTypeError(f"'{text}' is not K/N with 1 <= K <= N")
    return int(index), int(count)


def rule_id(text: str) -> str:
    from .lint import RULES

    try:
        RULES.check([text])
    except TutorialGenError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def run_options(sub: argparse.ArgumentParser, jobs_help: str) -> None:
    """The options of every verb that runs notebooks: profile, where, limits, cache."""
    sub.add_argument("--profile", choices=[str(p) for p in Profile], default=str(Profile.SMOKE))
    sub.add_argument(
        "--build-dir",
        type=Path,
        default=None,
        help="where executed notebooks and smoke results go (default: build/)",
    )
    sub.add_argument("--log-output", action="store_true", help="echo cell output while running")
    sub.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        type=parameter,
        metavar="NAME=VALUE",
        help="override a notebook parameter (a Python literal); repeatable",
    )
    sub.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        help=jobs_help,
    )
    sub.add_argument(
        "--seeds",
        type=positive(int),
        default=None,
        metavar="N",
        help="run each notebook over N seeds (default: 3 for a tutorial's full profile, else 1)",
    )
    sub.add_argument("--force", action="store_true", help="rerun even unchanged notebooks")
    sub.add_argument(
        "--cell-timeout",
        type=positive(int),
        default=None,
        metavar="SECONDS",
        help="time limit of each cell (default: technique.toml, else 900)",
    )
    sub.add_argument(
        "--budget",
        type=positive(float),
        default=None,
        metavar="SECONDS",
        help="time limit of each whole notebook (of each seed's run, over several seeds)",
    )


def run_request(args: argparse.Namespace, **more: object) -> RunRequest:
    """The request the options of `run_options` make, with the verb's own settings in `more`."""
    return RunRequest(
        profile=args.profile,
        build_dir=args.build_dir,
        jobs=args.jobs,
        force=args.force,
        overrides=dict(args.param),
        cell_timeout=args.cell_timeout,
        budget=args.budget,
        log_output=args.log_output,
        seeds=args.seeds,
        **more,
    )
