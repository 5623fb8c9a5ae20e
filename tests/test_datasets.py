"""Datasets: the Keras cache is seeded from the Debian folder; files are checked whole."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from tutorial_gen.datasets import FASHION_MNIST, check_idx, seed_fashion_mnist
from tutorial_gen.errors import DatasetError

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
needs_debian = pytest.mark.skipif(
    not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist is not installed"
)


def _fake_source(folder: Path, *, corrupt: str | None = None) -> Path:
    """IDX files with the right headers (one wrong, if `corrupt`) and no payload."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (magic, count, shape) in FASHION_MNIST.items():
        fields = (magic, count + (1 if name == corrupt else 0), *shape)
        with gzip.open(folder / name, "wb") as handle:
            handle.write(struct.pack(f">{len(fields)}I", *fields))
    return folder


@needs_debian
def test_seeds_missing_files_then_is_a_no_op(tmp_path):
    source = DEBIAN
    cache = tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist"
    report = seed_fashion_mnist(cache=cache, source=source, install=False)
    assert sorted(report.copied) == sorted(FASHION_MNIST)
    assert all(
        (cache / name).read_bytes() == (source / name).read_bytes() for name in FASHION_MNIST
    )
    assert seed_fashion_mnist(cache=cache, source=source, install=False).copied == ()


def test_missing_source_says_what_to_install(tmp_path):
    with pytest.raises(DatasetError, match="dataset-fashion-mnist"):
        seed_fashion_mnist(cache=tmp_path / "cache", source=tmp_path / "none", install=False)


def test_corrupt_file_is_refused(tmp_path):
    source = _fake_source(tmp_path / "debian", corrupt="t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DatasetError, match="IDX header") as error:
        check_idx(source / "t10k-labels-idx1-ubyte.gz")
    assert error.value.path.name == "t10k-labels-idx1-ubyte.gz"


def test_right_headers_with_other_data_are_refused(tmp_path):
    source = _fake_source(tmp_path / "debian")
    with pytest.raises(DatasetError, match="not the .* bytes of Fashion-MNIST"):
        check_idx(source / "t10k-labels-idx1-ubyte.gz")


@needs_debian
def test_a_truncated_file_is_refused(tmp_path):
    name = "train-images-idx3-ubyte.gz"
    data = (DEBIAN / name).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 3])
    with pytest.raises(DatasetError, match="truncated or damaged") as error:
        seed_fashion_mnist(cache=tmp_path, source=DEBIAN, install=False)
    assert error.value.path == tmp_path / name


def test_not_gzip_is_refused(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match="gzip"):
        check_idx(path)


@needs_debian
def test_debian_files_are_the_real_dataset():
    for name in FASHION_MNIST:
        check_idx(Path("/usr/share/datasets/fashion-mnist") / name)
