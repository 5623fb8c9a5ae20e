"""Datasets and pretrained models the tutorials load offline with the code a Colab user runs.

- Fashion-MNIST (`fashion_mnist`): copied from Debian's `dataset-fashion-mnist` into the Keras
  cache, where `keras.datasets.fashion_mnist.load_data()` looks first.

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


def provisioners(*, install: bool = True) -> list[Callable[[], SeedReport]]:
    """Each dataset's provisioning, in the order `tutorial-gen datasets` runs and reports them.

    `install`: whether Fashion-MNIST's Debian package may be installed with apt-get.
    """
    return [lambda: seed_fashion_mnist(install=install)]


__all__ = [
    "FASHION_MNIST",
    "FASHION_MNIST_DATA",
    "SeedReport",
    "check_idx",
    "keras_cache",
    "provisioners",
    "seed_fashion_mnist",
]
