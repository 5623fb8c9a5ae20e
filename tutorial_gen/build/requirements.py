"""What a notebook must install: the distributions its imports come from, and the install cell.

`distribution_of` is the one import -> distribution resolution; build pins what it finds, lint
checks notebooks (ours and others') against it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import sys
from pathlib import Path

from ..errors import ScriptError
from ..model import Project, canonical_name
from .script import imported_modules

# Import names whose distribution is not found by `packages_distributions()`, or is ambiguous;
# None for what every runtime has (IPython, google.colab).
IMPORT_DISTRIBUTIONS: dict[str, str | None] = {
    "tensorflow": "tensorflow",
    "tf_keras": "tf-keras",
    "IPython": None,
    "google": None,
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "yaml": "pyyaml",
}
# Distributions every Colab runtime (and our kernel) has; pinning them would only force restarts.
PREINSTALLED = frozenset({"ipython", "ipykernel"})


@functools.cache
def installed_modules() -> dict[str, list[str]]:
    """{top-level module: distributions providing it}; read once, it is slow (every RECORD file)."""
    return importlib.metadata.packages_distributions()


def distribution_of(module: str, pins: dict[str, str], *, guess: bool = False) -> str | None:
    """The canonical name of the distribution a top-level import comes from.

    None for the standard library, for what every runtime has, and for a module no installed
    distribution provides, unless `guess` (then the module's own name, as pip would spell it).
    A pinned distribution wins where several provide the module.
    """
    if module in sys.stdlib_module_names or module == "__future__":
        return None
    if module in IMPORT_DISTRIBUTIONS:
        found = IMPORT_DISTRIBUTIONS[module]
    else:
        candidates = [canonical_name(d) for d in installed_modules().get(module, [])]
        fallback = [canonical_name(module)] if guess else [None]
        found = ([d for d in candidates if d in pins] or candidates or fallback)[0]
    if found is None:
        return None
    found = canonical_name(found)
    return None if found in PREINSTALLED else found


def requirements_for(sources: list[str], project: Project, script: Path) -> dict[str, str]:
    """The pinned distributions a notebook's code imports: {distribution: version}."""
    required: dict[str, str] = {}
    for source in sources:
        for module in imported_modules(source):
            name = distribution_of(module, project.pins)
            if name is None:
                continue
            if name not in project.pins:
                raise ScriptError(
                    f"the notebook imports '{module}' (distribution {name}), which pyproject.toml "
                    "does not pin",
                    path=script,
                    hint=f"add '{name}==<version>' to [project] dependencies",
                )
            required[name] = project.pins[name]
    return dict(sorted(required.items()))


def setup_source(requirements: dict[str, str]) -> str:
    """The install cell: pip-install the pinned versions that are not already present."""
    pins = "\n".join(f'    "{name}": "{version}",' for name, version in requirements.items())
    return (
        "# Installs the versions this notebook was tested with; does nothing where they are present.\n"
        "import importlib.metadata\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        f"TESTED_VERSIONS = {{\n{pins}\n}}\n"
        "\n"
        "\n"
        "def installed_version(distribution):\n"
        "    try:\n"
        "        return importlib.metadata.version(distribution)\n"
        "    except importlib.metadata.PackageNotFoundError:\n"
        "        return None\n"
        "\n"
        "\n"
        "to_install = [\n"
        '    f"{name}=={version}"\n'
        "    for name, version in TESTED_VERSIONS.items()\n"
        "    if installed_version(name) != version\n"
        "]\n"
        "if to_install:\n"
        '    print("Installing", " ".join(to_install))\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *to_install], check=True)'
    )
