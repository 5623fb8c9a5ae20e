"""Datasets: make `keras.datasets.fashion_mnist.load_data()` work on a machine without internet.

Keras downloads Fashion-MNIST into `~/.keras/datasets/fashion-mnist/` on first use. Debian's package
`dataset-fashion-mnist` ships the very same four files; we copy them into the Keras cache, so the
tutorials keep the code a Colab user runs. Files are checked before use: their IDX headers, and
the length and SHA-256 of the data they decompress to. The data, not the .gz bytes: Debian's
package recompresses the files (its .gz differ from Keras's download by their gzip headers), while
what they decompress to is the same dataset.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import subprocess
from pathlib import Path

from ..errors import DatasetError
from .files import SeedReport, copy_atomically

NAME = "fashion-mnist"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")

# file name -> (IDX magic number, item count, item shape)
FASHION_MNIST = {
    "train-labels-idx1-ubyte.gz": (2049, 60000, ()),
    "train-images-idx3-ubyte.gz": (2051, 60000, (28, 28)),
    "t10k-labels-idx1-ubyte.gz": (2049, 10000, ()),
    "t10k-images-idx3-ubyte.gz": (2051, 10000, (28, 28)),
}


# file name -> (bytes of the decompressed IDX file, SHA-256 of them)
FASHION_MNIST_DATA = {
    "train-labels-idx1-ubyte.gz": (
        60008,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "train-images-idx3-ubyte.gz": (
        47040016,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        10008,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    "t10k-images-idx3-ubyte.gz": (
        7840016,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
}
_REDO = "delete it and run `tutorial-gen datasets` again"


def keras_cache(home: Path | None = None) -> Path:
    """The folder `tf_keras.utils.get_file` uses for `fashion-mnist` (`~/.keras/datasets/...`)."""
    base = (home or Path(os.path.expanduser("~"))) / ".keras"
    if base.exists() and not os.access(base, os.W_OK):
        base = Path("/tmp") / ".keras"  # what Keras itself falls back to
    return base / "datasets" / "fashion-mnist"


def check_idx(path: Path) -> None:
    """Raise `DatasetError` unless `path` is the gzipped IDX file Keras expects, whole."""
    magic, count, shape = FASHION_MNIST[path.name]
    length, sha256 = FASHION_MNIST_DATA[path.name]
    digest, size, header = hashlib.sha256(), 0, b""
    try:
        with gzip.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                header = header or block[: 8 + 4 * len(shape)]
                digest.update(block)
                size += len(block)
    except (OSError, EOFError) as error:
        raise DatasetError(
            f"is not a readable gzip file (truncated or damaged): {error}", path=path, hint=_REDO
        ) from error
    fields = (
        struct.unpack(f">{2 + len(shape)}I", header) if len(header) == 8 + 4 * len(shape) else ()
    )
    if tuple(fields) != (magic, count, *shape):
        raise DatasetError(
            f"has IDX header {fields}, expected {(magic, count, *shape)}", path=path, hint=_REDO
        )
    if size != length or digest.hexdigest() != sha256:
        raise DatasetError(
            f"decompresses to {size:,} bytes with SHA-256 {digest.hexdigest()[:16]}..., not the "
            f"{length:,} bytes of Fashion-MNIST ({sha256[:16]}...)",
            path=path,
            hint=_REDO,
        )


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
    found = tuple(name for name in FASHION_MNIST if name not in missing)
    if not missing:
        return SeedReport(NAME, cache, (), found)
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
    for name in missing:
        check_idx(source / name)
        copy_atomically(source / name, cache / name)
    return SeedReport(NAME, cache, tuple(missing), found, installed)
