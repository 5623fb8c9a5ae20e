"""Datasets: make `keras.datasets.fashion_mnist.load_data()` work on a machine without internet.

Keras downloads Fashion-MNIST into `~/.keras/datasets/fashion-mnist/` on first use. Debian's package
`dataset-fashion-mnist` ships the very same four files; we copy them into the Keras cache, so the
tutorials keep the code a Colab user runs. Files are checked by their IDX headers before use.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import DatasetError

DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")

# file name -> (IDX magic number, item count, item shape)
FASHION_MNIST = {
    "train-labels-idx1-ubyte.gz": (2049, 60000, ()),
    "train-images-idx3-ubyte.gz": (2051, 60000, (28, 28)),
    "t10k-labels-idx1-ubyte.gz": (2049, 10000, ()),
    "t10k-images-idx3-ubyte.gz": (2051, 10000, (28, 28)),
}


def keras_cache(home: Path | None = None) -> Path:
    """The folder `tf_keras.utils.get_file` uses for `fashion-mnist` (`~/.keras/datasets/...`)."""
    base = (home or Path(os.path.expanduser("~"))) / ".keras"
    if base.exists() and not os.access(base, os.W_OK):
        base = Path("/tmp") / ".keras"  # what Keras itself falls back to
    return base / "datasets" / "fashion-mnist"


def check_idx(path: Path) -> None:
    """Raise `DatasetError` unless `path` is the gzipped IDX file Keras expects."""
    magic, count, shape = FASHION_MNIST[path.name]
    try:
        with gzip.open(path, "rb") as handle:
            header = handle.read(8 + 4 * len(shape))
    except (OSError, EOFError) as error:
        raise DatasetError(
            f"is not a readable gzip file: {error}",
            path=path,
            hint="delete it and run `tutorial-gen datasets` again",
        ) from error
    fields = (
        struct.unpack(f">{2 + len(shape)}I", header) if len(header) == 8 + 4 * len(shape) else ()
    )
    if tuple(fields) != (magic, count, *shape):
        raise DatasetError(
            f"has IDX header {fields}, expected {(magic, count, *shape)}",
            path=path,
            hint="delete it and run `tutorial-gen datasets` again",
        )


@dataclass(frozen=True)
class SeedReport:
    """What `seed_fashion_mnist` did."""

    cache: Path
    copied: tuple[str, ...]
    installed_package: bool


def _install_debian_package() -> bool:
    """apt-get install the dataset package when apt is usable here; True if it ran."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", DEBIAN_PACKAGE],
    ):
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            return False
    return True


def seed_fashion_mnist(
    *, cache: Path | None = None, source: Path = DEBIAN_FOLDER, install: bool = True
) -> SeedReport:
    """Copy Fashion-MNIST into the Keras cache where it is missing; install the Debian package if needed."""
    cache = cache or keras_cache()
    missing = [name for name in FASHION_MNIST if not (cache / name).is_file()]
    for name in FASHION_MNIST:
        if name not in missing:
            check_idx(cache / name)
    if not missing:
        return SeedReport(cache, (), False)
    installed = False
    if not all((source / name).is_file() for name in missing) and install:
        installed = _install_debian_package()
    absent = [name for name in missing if not (source / name).is_file()]
    if absent:
        raise DatasetError(
            f"Fashion-MNIST is not in the Keras cache and {source} lacks {', '.join(absent)}",
            path=cache,
            hint=f"install Debian's package {DEBIAN_PACKAGE} (sudo apt-get install "
            f"{DEBIAN_PACKAGE}) or put the four files in {cache}",
        )
    cache.mkdir(parents=True, exist_ok=True)
    for name in missing:
        check_idx(source / name)
        tmp = cache / f".{name}.tmp"
        shutil.copyfile(source / name, tmp)
        os.replace(tmp, cache / name)
    return SeedReport(cache, tuple(missing), installed)
