"""The claim language: safe to evaluate, strict about what it accepts, honest about outcomes."""

from __future__ import annotations

import pytest

from tutorial_gen.errors import ConfigError
from tutorial_gen.model import Claim
from tutorial_gen.verify.claims import check
from tutorial_gen.verify.expressions import Unmeasured, evaluate, metric_names


def claim(expr: str = "a / b", op: str = ">=", threshold: float = 3, **kw) -> Claim:
    fields = dict(
        id="c",
        notebook="nb",
        phrase="3x smaller",
        expr=expr,
        op=op,
        threshold=threshold,
        profiles=("smoke", "full"),
    )
    fields.update(kw)
    return Claim(**fields)


def test_evaluates_arithmetic_over_metrics():
    metrics = {"a": 9, "b": 3, "c": -2.5}
    assert evaluate("a / b", metrics) == 3
    assert evaluate("abs(c) * 2 - 1", metrics) == 4
    assert evaluate("min(a, b) + max(a, b)", metrics) == 12
    assert evaluate("-c", metrics) == 2.5


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('true')",
        "a.__class__",
        "open('x')",
        "[a for a in b]",
        "a if b else c",
        "a ** 2",
        "'text'",
        "a < b",
        "lambda: 1",
    ],
)
def test_rejects_everything_outside_the_language(expr):
    with pytest.raises(ConfigError):
        metric_names(expr)


def test_metric_names_excludes_function_names():
    assert metric_names("abs(pruned - base) / base") == {"pruned", "base"}


def test_missing_or_none_metric_is_unmeasured():
    with pytest.raises(Unmeasured):
        evaluate("a / b", {"a": 1})
    with pytest.raises(Unmeasured):
        evaluate("a / b", {"a": 1, "b": None})


def test_pass_and_fail_follow_the_comparator():
    assert check(claim(), {"a": 9, "b": 3}, "full").status == "pass"
    result = check(claim(), {"a": 8, "b": 3}, "full")
    assert result.status == "fail"
    assert result.measured == pytest.approx(8 / 3)
    assert check(claim(op="<", threshold=3), {"a": 9, "b": 3}, "full").status == "fail"


def test_equality_compares_counts_exactly():
    assert check(claim("a", "==", 16), {"a": 16}, "full").status == "pass"
    assert check(claim("a", "==", 16), {"a": 16.0}, "full").status == "pass"
    assert check(claim("a", "==", 16), {"a": 15.999999}, "full").status == "fail"
    assert check(claim("a - b", "!=", 0), {"a": 3, "b": 3}, "full").status == "fail"
    assert check(claim("a - b", "!=", 0), {"a": 3, "b": 2}, "full").status == "pass"


def test_declared_unverified_claim_never_passes():
    result = check(claim(unverified="needs a phone"), {"a": 9, "b": 3}, "full")
    assert result.status == "unverified"
    assert result.reason == "needs a phone"


def test_none_metric_is_unverified_with_the_notebooks_reason():
    result = check(claim(), {"a": None, "b": 3, "a_unmeasured_reason": "no sparse kernels"}, "full")
    assert result.status == "unverified"
    assert "no sparse kernels" in result.reason


def test_claim_outside_its_profiles_is_not_checked():
    assert check(claim(profiles=("full",)), {"a": 1, "b": 3}, "smoke").status == "not-in-profile"


def test_unfinished_notebook_fails_its_claims():
    assert check(claim(), None, "full").status == "fail"


def test_division_by_zero_and_nan_fail():
    assert check(claim(), {"a": 1, "b": 0}, "full").status == "fail"
    assert check(claim(expr="a"), {"a": float("nan")}, "full").status == "fail"


def test_declared_unverified_claim_still_shows_the_measured_value():
    result = check(claim(unverified="needs a phone"), {"a": 6, "b": 3}, "full")
    assert result.status == "unverified" and result.measured == 2.0


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("min()", r"calls min with 0 argument\(s\); it takes at least 2"),
        ("min(a)", r"calls min with 1 argument\(s\); it takes at least 2"),
        ("abs(a, b)", r"calls abs with 2 argument\(s\); it takes exactly 1"),
        (" + ".join(["a"] * 1500), "characters long"),
        (" + ".join(["a"] * 150), "is too large"),
        ("(" * 40 + "a" + ")" * 40 + " + " + "-" * 40 + "a", "is too large"),
        ("1" * 400, "beyond"),
        ("a * 1e400", "beyond"),
        (" + ".join(["a"] * 3000), "characters long"),
        ("-" * 5000 + "a", "characters long"),
        ("-" * 900 + "a", "nests too deeply to parse|is too large"),
    ],
)
def test_expressions_are_bounded_when_the_technique_loads(expr, message):
    with pytest.raises(ConfigError, match=message):
        metric_names(expr)


def test_an_overflow_fails_the_claim_without_an_exception():
    outcome = check(claim(expr="a * a * a * a * a * a"), {"a": 1e100, "b": 1}, "full")
    assert outcome.status == "fail" and outcome.measured is None
