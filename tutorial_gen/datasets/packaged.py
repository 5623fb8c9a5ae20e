"""Files that tutorials read from inside an installed package, checked where pip put them.

Nothing needs seeding for these: a Colab user who installs the package gets the same file. Each
is named by its distribution and path, with the size and SHA-256 of the pinned release, so a
damaged or different file stops a run before a tutorial measures anything with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DatasetError
from .files import SeedReport, check_file, distribution_file


@dataclass(frozen=True)
class PackagedFile:
    name: str  # what `tutorial-gen datasets` reports it as
    what: str  # what the file is, for messages
    distribution: str
    relative_path: str
    expected: tuple[int, str]  # (bytes, SHA-256) in the pinned release

    @property
    def install(self) -> str:
        return (
            f"install the project's pin of {self.distribution} (pyproject.toml) as `make setup` "
            "does: pip install -e ."
        )


MTCNN_ONET = PackagedFile(
    "mtcnn-onet",
    "MTCNN's O-Net weights",
    "mtcnn",
    "mtcnn/assets/weights/onet.lz4",
    (1557637, "94f6ea2f4cf985275ee958cdd762d17b6009348a4fb9d8c6be39ba73ffd22ca3"),
)
LFW_PATCHES = PackagedFile(
    "lfw-subset",
    "scikit-image's 200 face and non-face patches",
    "scikit-image",
    "skimage/data/lfw_subset.npy",
    (1000080, "9560ec2f5edfac01973f63a8a99d00053fecd11e21877e18038fbe500f8e872c"),
)
PACKAGED_FILES = (MTCNN_ONET, LFW_PATCHES)


def check_packaged(file: PackagedFile) -> SeedReport:
    """Check that `file` is installed and whole; raise `DatasetError` naming it if not."""
    path = distribution_file(file.distribution, file.relative_path)
    if path is None:
        raise DatasetError(
            f"{file.what} come with the {file.distribution} package, which is not installed",
            hint=file.install,
        )
    if not path.is_file():
        raise DatasetError(
            f"is missing from the installed {file.distribution}",
            path=path,
            hint="re" + file.install,
        )
    check_file(path, file.expected, file.what, "re" + file.install)
    return SeedReport(file.name, path.parent, (), (path.name,))
