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
from ..model import Claim, Notebook, Profile, Role, Technique
from .keys import SIDECAR
from .schema import validate
from .technique import parse_claim
from .toml import load_toml

SIDECAR_SUFFIX = ".claims.toml"


def sidecar_for(notebook: Path) -> Path:
    """Where a notebook's own sidecar lives: `name.claims.toml` beside `name.ipynb`."""
    return notebook.with_name(notebook.stem + SIDECAR_SUFFIX)


def _notebook_and_claims(notebook: Path, claims: Path | None) -> tuple[Notebook, list[Claim]]:
    sidecar = claims or sidecar_for(notebook)
    if claims is not None and not claims.is_file():
        raise ConfigError("does not exist", path=claims, hint="pass the sidecar file's path")
    data = validate(load_toml(sidecar) if sidecar.is_file() else {}, SIDECAR, sidecar)
    stem = notebook.stem
    entry = Notebook(
        stem=stem,
        script=notebook,
        role=Role.TUTORIAL,
        profiles={str(p): {} for p in Profile},
        metrics=dict(data["metrics"]),
    )
    parsed = [
        parse_claim({"notebook": stem, **claim}, index, {stem: entry}, sidecar)
        for index, claim in enumerate(data["claims"])
    ]
    return entry, parsed


def foreign_technique(notebooks: list[Path], claims: Path | None = None) -> Technique:
    """The notebooks of one folder that we did not write, as a technique of their own: each
    one's metrics and claims from its sidecar (or, for a single notebook, from `claims`)."""
    paths = sorted(p.resolve() for p in notebooks)
    folder = paths[0].parent
    entries: dict[str, Notebook] = {}
    all_claims: list[Claim] = []
    for path in paths:
        entry, parsed = _notebook_and_claims(path, claims)
        entries[entry.stem] = entry
        all_claims += parsed
    return Technique(
        slug=f"foreign.{folder.name}",
        folder=folder,
        path=folder,
        name=folder.name,
        descriptor=folder.name,
        notebooks=entries,
        claims=tuple(all_claims),
        overview={},
        foreign=True,
    )
