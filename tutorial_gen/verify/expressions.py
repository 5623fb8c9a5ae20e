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
    ("==", operator.eq),
    ("!=", operator.ne),
):
    COMPARATORS.add(_symbol, _compare)
# The comparators that compare exactly, for counts (layers, clusters, unique values): their
# threshold is a whole number, and a measured 15.999 is not 16.
EXACT = frozenset({"==", "!="})

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"abs": abs, "min": min, "max": max}
_ARITY = {"abs": (1, 1), "min": (2, None), "max": (2, None)}  # (fewest, most) arguments
MAX_LENGTH = 1000  # characters of an expression
MAX_NODES = 200  # a claim compares a few metrics; more is a mistake, or an attack on the parser
MAX_DEPTH = 30
MAX_CONSTANT = 1e15


class Unmeasured(Exception):
    """A metric the expression needs was not measured (missing or None)."""


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:  # iterative: a deep tree must not exhaust Python's own stack
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _shown(expr: str) -> str:
    return expr if len(expr) <= 60 else f"{expr[:57]}..."


def _parse(expr: str, path: Path | None, line: int | None) -> ast.expr:
    def error(message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(
            f"claim expression '{_shown(expr)}' {message}", path=path, line=line, hint=hint
        )

    if len(expr) > MAX_LENGTH:
        raise error(f"is {len(expr)} characters long (at most {MAX_LENGTH})")
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError as exc:
        raise error(f"does not parse: {exc.msg}") from exc
    except (RecursionError, MemoryError) as exc:
        raise error("nests too deeply to parse") from exc
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES or _depth(tree) > MAX_DEPTH:
        raise error(
            f"is too large ({nodes} parts, {_depth(tree)} levels deep; at most {MAX_NODES} "
            f"and {MAX_DEPTH})",
            "compute the value in the notebook and claim on that metric",
        )
    _check_nodes(tree, error)
    return tree


def _check_nodes(tree: ast.expr, error: Callable[..., ConfigError]) -> None:
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
            raise error(
                f"uses {type(node).__name__}, which is not allowed",
                "use metric names, numbers, + - * /, abs, min, max",
            )
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float) or isinstance(node.value, bool):
                raise error("has a non-numeric constant")
            if not abs(node.value) <= MAX_CONSTANT:  # also refuses nan, inf and huge integers
                raise error(
                    f"has the constant {_shown(repr(node.value))}, beyond ±{MAX_CONSTANT:g}"
                )
        if isinstance(node, ast.Call):
            if (
                not isinstance(node.func, ast.Name)
                or node.func.id not in _FUNCTIONS
                or node.keywords
            ):
                raise error("calls something other than abs, min or max")
            fewest, most = _ARITY[node.func.id]
            if len(node.args) < fewest or (most is not None and len(node.args) > most):
                wanted = f"exactly {fewest}" if fewest == most else f"at least {fewest}"
                raise error(
                    f"calls {node.func.id} with {len(node.args)} argument(s); it takes {wanted}"
                )


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
