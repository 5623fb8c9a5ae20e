"""The models manifest: which trained model each results row measured, and whether it is kept.

One per technique, `build/models/<technique>/manifest.json`, beside the kept files: written by a
full-profile run and rebuilt by `tutorial-gen site` from the results and whatever files are
there. It lives in the build folder, never in the repository (the models are too large to commit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .results import Environment, expect, expect_schema

MANIFEST_SCHEMA = 1  # the version `to_json` writes and `from_json` reads
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class KeptModel:
    """The model one results row measured, and whether this build holds it."""

    notebook: str  # stem of the results notebook
    row: int  # the row's place among the notebook's rows, from 0
    model: str | None
    config: str | None
    hyperparameter: Any
    accuracy: float | None
    tflite_bytes: float | None  # raw
    size: float | None  # zipped bytes
    sha256: str | None  # of the bytes the row measured
    file: str  # the name the notebook wrote it as
    path: str  # where it is kept, relative to the manifest's folder: `<notebook>/<file>`
    present: bool  # a file is kept at `path`
    verified: bool  # and its sha256 is the row's
    note: str | None = None  # why it is not offered, where it is not
    run: str | None = None  # the command that measures it again and keeps it

    @property
    def offered(self) -> bool:
        """Whether the file can be downloaded as the model the row measured."""
        return self.present and self.verified

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeptModel:
        data = expect(data, dict, "a kept model")
        values = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(
            **values | {"present": bool(values["present"]), "verified": bool(values["verified"])}
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UnnamedRows:
    """A results notebook whose rows name no model file (measured before models were kept)."""

    notebook: str
    rows: int
    run: str  # the command that measures them again, naming their files

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UnnamedRows:
        data = expect(data, dict, "unnamed rows")
        return cls(
            str(data.get("notebook", "")), int(data.get("rows") or 0), str(data.get("run", ""))
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelManifest:
    """The models a technique's full-profile results measured, as this build holds them."""

    technique: str
    results: str  # the results file the rows come from, repository-relative
    environment: Environment | None  # where they were measured (with the date)
    models: tuple[KeptModel, ...] = ()
    unnamed: tuple[UnnamedRows, ...] = ()

    @property
    def offered(self) -> list[KeptModel]:
        return [m for m in self.models if m.offered]

    @classmethod
    def from_json(cls, data: Any) -> ModelManifest:
        data = expect(data, dict, "the models manifest")
        expect_schema(
            data, MANIFEST_SCHEMA, "models manifest", "rebuild it with `tutorial-gen site`"
        )
        environment = data.get("environment")
        return cls(
            technique=str(data.get("technique", "")),
            results=str(data.get("results", "")),
            environment=Environment.from_json(environment) if environment else None,
            models=tuple(
                KeptModel.from_json(m) for m in expect(data.get("models", []), list, "models")
            ),
            unnamed=tuple(
                UnnamedRows.from_json(u) for u in expect(data.get("unnamed", []), list, "unnamed")
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": MANIFEST_SCHEMA,
            "technique": self.technique,
            "results": self.results,
            "environment": self.environment.to_json() if self.environment else None,
            "models": [m.to_json() for m in self.models],
            "unnamed": [u.to_json() for u in self.unnamed],
        }
