"""Claims for a notebook we did not write: a small sidecar file beside it (or named with
`--claims`), so that its sentences can be checked without turning it into a technique.

```toml
# pruning_with_keras.claims.toml, beside pruning_with_keras.ipynb
[metrics]
ratio = "zipped baseline over zipped pruned model"

[[claims]]
id = "3x"
phrase = "3x smaller"
expr = "ratio"
op = ">="
threshold = 3
```
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..model import Notebook, Profile, Role, Technique
from .technique import parse_claim
from .toml import load_toml, reject_unknown, require_type

SIDECAR_SUFFIX = ".claims.toml"


def sidecar_for(notebook: Path) -> Path:
    """Where a notebook's own sidecar lives: `name.claims.toml` beside `name.ipynb`."""
    return notebook.with_name(notebook.stem + SIDECAR_SUFFIX)


def foreign_technique(notebook: Path, claims: Path | None = None) -> Technique:
    """A technique of one foreign notebook: its metrics and claims from the sidecar, if any."""
    notebook = notebook.resolve()
    sidecar = claims or sidecar_for(notebook)
    data = load_toml(sidecar) if sidecar.is_file() else {}
    if claims is not None and not claims.is_file():
        raise ConfigError("does not exist", path=claims, hint="pass the sidecar file's path")
    reject_unknown(data, {"metrics", "claims"}, sidecar, "")
    metrics = require_type(data.get("metrics", {}), dict, "a table", sidecar, "metrics")
    stem = notebook.stem
    entry = Notebook(
        stem=stem,
        script=notebook,
        role=Role.TUTORIAL,
        profiles={str(p): {} for p in Profile},
        metrics={str(k): str(v) for k, v in metrics.items()},
    )
    entries = require_type(data.get("claims", []), list, "an array of tables", sidecar, "claims")
    parsed = tuple(
        parse_claim({"notebook": stem, **claim}, index, {stem: entry}, sidecar)
        for index, claim in enumerate(entries)
        if isinstance(claim, dict)
    )
    return Technique(
        slug=f"foreign.{notebook.parent.name}",
        folder=notebook.parent,
        path=sidecar if sidecar.is_file() else notebook,
        name=stem,
        descriptor=stem,
        notebooks={stem: entry},
        claims=parsed,
        overview={},
        foreign=True,
    )
