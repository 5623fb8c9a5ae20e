"""Provenance: committed numbers come from a clean tree, or say how it was dirty."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from tutorial_gen.fileio import dump_json
from tutorial_gen.model import ResultsFile


@pytest.mark.parametrize("path", sorted(ROOT.glob("notebooks/*/results/full.json")))
def test_committed_results_are_written_back_byte_for_byte(path):
    """A run that reuses every result (make notebooks on a fresh clone) changes no file."""
    text = path.read_text(encoding="utf-8")
    assert dump_json(ResultsFile.from_json(json.loads(text)).to_json()) == text
