"""Lint on notebooks nobody tuned it to: six official TFMOT guides, as published.

`../shared/upstream/README.md` lists what is really wrong with them (kinds A..T) and what is not.
Every kind that breaks a reader's run must be caught, by the rule meant for it, in each notebook
that has it; nothing on the "not defects" list may be reported; and nearly every finding must be
one of the table's defects. The notebooks are read where they are, never copied.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT
from tutorial_gen.config import load_project
from tutorial_gen.lint import Finding, lint_paths

UPSTREAM = Path(__file__).resolve().parents[1].parent / "shared" / "upstream"
NOTEBOOKS = {
    "keras": "pruning/pruning_with_keras.ipynb",
    "guide": "pruning/comprehensive_guide.ipynb",
    "device": "pruning/pruning_for_on_device_inference.ipynb",
    "2by4": "pruning/pruning_with_sparsity_2_by_4.ipynb",
    "qat guide": "quantization/training_comprehensive_guide.ipynb",
    "qat": "quantization/training_example.ipynb",
}
ALL = tuple(NOTEBOOKS)

# kind -> (rule, the notebooks that have it, what the finding's message says)
BREAKS = {
    "B": ("pip-magic", ALL, r"!pip install"),
    "D": ("network", ("keras", "device", "2by4", "qat"), r"downloads the .*dataset"),
    "F": ("tensorboard", ("keras", "guide", "device"), r"needs TensorBoard"),
    "G": ("dead-link", ("keras", "guide"), r"(?i)links to tensorboard\.dev"),
    "I1": ("unbacked-number", ("keras",), r"'10x'"),
    "I2": ("unbacked-number", ("qat",), r"'4x'"),
    "M": ("device", ("device",), r"`!adb` needs an Android device"),
    "N": ("shell-cell", ("2by4",), r"check_sparsity_m_by_n\.py"),
    "O": ("setup-pins", ("device",), r"'tensorflow_datasets'.*nothing installs"),
    "P": ("heading", ("qat guide",), r"'##Define quantization aware model'"),
    "Q": ("link", ("guide",), r"double parentheses"),
    "T": ("qualitative-claim", ("keras",), r"'minimal loss'"),
}
# Latent kinds some rule also reports (a finding of one of these is a true one too).
LATENT = {
    "C": ("seeds", ALL, r"every run differs"),
    "E": ("tflite-interpreter", ("keras", "2by4", "qat"), r"tf\.lite\.Interpreter"),
    "F/H": ("tensorboard", ("keras", "guide", "device"), r"%tensorboard"),
    "F, seen as a magic": ("shell-cell", ("keras", "guide", "device"), r"%load_ext tensorboard"),
    "J1": ("unbacked-number", ("keras",), r"'3x'"),
    "J4": ("unbacked-number", ("device",), r"'4[34]%'|'30%'"),
    "J5": ("unbacked-number", ("device",), r"'(17|12|5)us'"),
    "T, in the conclusion": ("qualitative-claim", ("keras",), r"'minimal accuracy difference'"),
}


@pytest.fixture(scope="module")
def findings() -> dict[str, list[Finding]]:
    if not all((UPSTREAM / path).is_file() for path in NOTEBOOKS.values()):
        pytest.skip(f"the upstream notebooks are not in {UPSTREAM}")
    project = load_project(ROOT)
    return {name: lint_paths([UPSTREAM / path], project) for name, path in NOTEBOOKS.items()}


def _kind(name: str, finding: Finding) -> str | None:
    """The table's kind a finding reports, or None."""
    for kind, (rule, notebooks, pattern) in {**BREAKS, **LATENT}.items():
        if finding.rule == rule and name in notebooks and re.search(pattern, finding.message):
            return kind
    return None


@pytest.mark.parametrize("kind", BREAKS)
def test_every_kind_that_breaks_is_caught_where_it_is(findings, kind):
    rule, notebooks, pattern = BREAKS[kind]
    for name in notebooks:
        caught = [f for f in findings[name] if f.rule == rule and re.search(pattern, f.message)]
        assert caught, f"{kind}: no {rule} finding in {NOTEBOOKS[name]}"


def test_nearly_every_finding_is_a_defect_of_the_table(findings):
    judged = [(name, f, _kind(name, f)) for name, found in findings.items() for f in found]
    wrong = [(name, f.rule, f.message) for name, f, kind in judged if kind is None]
    assert 1 - len(wrong) / len(judged) >= 0.9, wrong
    # The only findings outside the table: the QAT example's "minimal to no loss" and "minimal
    # accuracy difference", claims nothing measures that the table's readers found to hold.
    assert {(name, rule) for name, rule, _ in wrong} <= {("qat", "qualitative-claim")}, wrong


def test_keras_2_through_tf_keras_or_tfmot_is_not_legacy_keras(findings):
    assert [f for found in findings.values() for f in found if f.rule == "legacy-keras"] == []


def test_what_tensorflow_and_tfmot_bring_needs_no_install(findings):
    demands = [
        (n, f.message) for n, found in findings.items() for f in found if f.rule == "setup-pins"
    ]
    assert [n for n, _ in demands] == ["device"] and "tensorflow_datasets" in demands[0][1]
    assert not any(re.search(r"numpy|tf-keras|tf_keras|matplotlib", m) for _, m in demands)


def test_every_code_cell_parses(findings):
    # IPython commands count only where a statement can start; the adb cells' backslash
    # continuations belong to their command (none of the six continues a line with `%`: that
    # case is planted in test_lint.py)
    assert [f for found in findings.values() for f in found if f.rule == "syntax"] == []


def test_paths_on_the_phone_are_not_absolute_paths(findings):
    assert [f for f in findings["device"] if f.rule == "absolute-path"] == []


def test_settings_are_not_unbacked_numbers(findings):
    # "25% of the weights are set to zero", "target sparsity of 50%", "50% zeros in weights"
    numbers = [
        f.message for found in findings.values() for f in found if f.rule == "unbacked-number"
    ]
    assert not any(m.startswith(("'25%'", "'50%'", "'75%'", "'80%'")) for m in numbers), numbers
