"""Claims: the sentences of the prose, checked against the metrics a run measured.

A claim's expression is a tiny arithmetic language over metric names (`a / b`, `abs(a - b)`,
`min(a, b)`), parsed with `ast` and evaluated by walking the tree: never `eval()`.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .config import Claim
from .errors import ConfigError

# Comparators: a one-method registry (measured, threshold) -> holds.
COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}

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


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of one claim in one run."""

    id: str
    notebook: str
    phrase: str
    expr: str
    op: str
    threshold: float
    status: str  # pass | fail | unverified | not-in-profile | not-run
    measured: float | None = None
    reason: str | None = None
    published: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check(claim: Claim, metrics: Mapping[str, Any] | None, profile: str) -> ClaimResult:
    """Decide one claim: pass, fail, or unverified (with the reason), never a guess."""
    base = {
        "id": claim.id,
        "notebook": claim.notebook,
        "phrase": claim.phrase,
        "expr": claim.expr,
        "op": claim.op,
        "threshold": claim.threshold,
        "published": claim.published,
    }
    if profile not in claim.profiles:
        return ClaimResult(
            **base, status="not-in-profile", reason=f"holds for {', '.join(claim.profiles)}"
        )
    if claim.unverified:  # never a pass; still show what was measured here, if anything
        try:
            measured = evaluate(claim.expr, metrics or {})
        except (Unmeasured, ZeroDivisionError):
            measured = None
        return ClaimResult(**base, status="unverified", measured=measured, reason=claim.unverified)
    if metrics is None:
        return ClaimResult(**base, status="fail", reason="the notebook did not finish")
    try:
        measured = evaluate(claim.expr, metrics)
    except Unmeasured as missing:
        reason = metrics.get(f"{missing.args[0]}_unmeasured_reason") or "not measured in this run"
        return ClaimResult(**base, status="unverified", reason=f"{missing.args[0]}: {reason}")
    except ZeroDivisionError:
        return ClaimResult(**base, status="fail", reason="division by zero")
    if math.isnan(measured):
        return ClaimResult(**base, status="fail", measured=measured, reason="measured NaN")
    holds = COMPARATORS[claim.op](measured, claim.threshold)
    return ClaimResult(**base, status="pass" if holds else "fail", measured=measured)


def check_all(
    claims: tuple[Claim, ...],
    metrics_by_notebook: Mapping[str, Mapping[str, Any] | None],
    profile: str,
) -> list[ClaimResult]:
    """Every claim of a technique against the metrics of its notebooks.

    A notebook missing from `metrics_by_notebook` was not run (another shard has it): its claims
    are `not-run`. One present with None metrics did not finish: its claims fail.
    """
    results = []
    for claim in claims:
        if claim.notebook not in metrics_by_notebook and profile in claim.profiles:
            results.append(
                ClaimResult(
                    id=claim.id,
                    notebook=claim.notebook,
                    phrase=claim.phrase,
                    expr=claim.expr,
                    op=claim.op,
                    threshold=claim.threshold,
                    status="not-run",
                    reason="its notebook was not run",
                    published=claim.published,
                )
            )
        else:
            results.append(check(claim, metrics_by_notebook.get(claim.notebook), profile))
    return results
