"""Parsers of the CLI's argument values: each turns a bad value into argparse's usage error."""

from __future__ import annotations

import argparse
import ast
import math

from .errors import TutorialGenError


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
