"""Claim expressions: the tiny language a claim measures with.

A claim's expression is a tiny arithmetic language over metric names (`a / b`, `abs(a - b)`,
`min(a, b)`), parsed with `ast` and evaluated by walking the tree: never `eval()`.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..registry import Registry

# Comparators: a one-method registry (measured, threshold) -> holds.
COMPARATORS: Registry[Callable[[float, float], bool]] = Registry("comparator")
for _symbol, _compare in (
    (">=", operator.ge),
    (">", operator.gt),
    ("<=", operator.le),
    ("<", operator.lt),
):
    COMPARATORS.add(_symbol, _compare)

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"abs": abs, "min": min, "max": max}


class Unmeasured(Exception):
    """A metric the expression needs was not measured (missing or None)."""


def _parse(expr: str, path: Path | None, line: int | None) -> ast.expr:
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError as error:
        raise ConfigError(
            f"claim expression '{expr}' does not parse: {error.msg}", path=path, line=line
        ) from error
    for node in ast.walk(tree):
        allowed = (
            ast.BinOp,
            ast.UnaryOp,
            ast.USub,
            ast.UAdd,
            ast.Name,
            ast.Load,
            ast.Constant,
            ast.Call,
            *_BINARY,
        )
        if not isinstance(node, allowed):
            raise ConfigError(
                f"claim expression '{expr}' uses {type(node).__name__}, which is not allowed",
                path=path,
                line=line,
                hint="use metric names, numbers, + - * /, abs, min, max",
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ConfigError(
                f"claim expression '{expr}' has a non-numeric constant", path=path, line=line
            )
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords
        ):
            raise ConfigError(
                f"claim expression '{expr}' calls something other than abs, min or max",
                path=path,
                line=line,
            )
    return tree


def metric_names(expr: str, *, path: Path | None = None, line: int | None = None) -> set[str]:
    """The metric names an expression reads (validating its syntax on the way)."""
    tree = _parse(expr, path, line)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


def evaluate(expr: str, metrics: Mapping[str, Any]) -> float:
    """The value of `expr` with metric names bound to `metrics`.

    Raises `Unmeasured` naming the first metric that is missing or None.
    """

    def walk(node: ast.expr) -> float:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            value = metrics.get(node.id)
            if value is None or isinstance(value, bool) or not isinstance(value, int | float):
                raise Unmeasured(node.id)
            return float(value)
        if isinstance(node, ast.UnaryOp):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Call):
            return float(_FUNCTIONS[node.func.id](*(walk(a) for a in node.args)))  # type: ignore[attr-defined]
        raise AssertionError(f"unreachable: {ast.dump(node)}")  # _parse rejects everything else

    return walk(_parse(expr, None, None))
