"""Registries: one shape, one error for an id they do not hold."""

from __future__ import annotations

import pytest

from tutorial_gen.errors import ConfigError
from tutorial_gen.lint import RULES
from tutorial_gen.publish.formats import HYPERPARAMETER_FORMATS
from tutorial_gen.registry import Registry
from tutorial_gen.verify.checklist import CHECKS
from tutorial_gen.verify.expressions import COMPARATORS


def test_an_unknown_id_suggests_the_closest_and_lists_the_rest():
    registry: Registry[int] = Registry("widget")
    registry.add("gear", 1)
    registry.add("sprocket", 2)
    with pytest.raises(
        ConfigError, match=r"unknown widget 'gaer' \(did you mean 'gear'\?\)"
    ) as caught:
        registry["gaer"]
    assert caught.value.hint == "widgets: gear, sprocket"
    assert registry["gear"] == 1 and list(registry) == ["gear", "sprocket"]


def test_an_id_registers_once():
    registry: Registry[int] = Registry("widget")
    registry.add("gear", 1)
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("gear", 2)


@pytest.mark.parametrize(
    ("registry", "known"),
    [
        (RULES, "setup-pins"),
        (CHECKS, "tutorial"),
        (COMPARATORS, ">="),
        (HYPERPARAMETER_FORMATS, "pct"),
    ],
)
def test_every_registry_has_the_one_shape(registry, known):
    assert known in registry
    with pytest.raises(ConfigError, match=f"unknown {registry.kind}"):
        registry.check([known + "x"])
