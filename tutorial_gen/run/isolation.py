"""Isolation: what a notebook installs or writes stays in its run.

Each kernel runs in an overlay environment made in its run folder: a virtual environment whose
interpreter is this one and which sees this environment's packages (a `.pth` line), but installs
into itself. `%pip` (the kernel's own interpreter), `!pip`, `!python` and `python -m pip` (the
overlay's `bin` first on PATH) all install there, so the machine's Python and the tool's own
environment are never touched. HOME is the run's own too, with the shared dataset caches linked
into it, so tutorials still find the data `tutorial-gen datasets` provisioned.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

# Caches under HOME that runs share read-mostly: datasets and models provisioned once, for every
# run (the Keras datasets and models, the Hugging Face Hub's models).
SHARED_HOME = (".keras/datasets", ".keras/models", ".cache/huggingface/hub")

_PIP = """#!{python}
import sys
from pip._internal.cli.main import main
sys.exit(main())
"""


def _site_packages(prefix: Path) -> Path:
    relative = Path(sysconfig.get_path("purelib")).relative_to(sys.prefix)
    return prefix / relative


def make_overlay(folder: Path, under: Path | None = None) -> Path:
    """An overlay environment in `folder` over this interpreter's environment, or over the
    environment `under` (of the same Python); its root."""
    env = folder / "env"
    bin_dir = env / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    python_of = (
        (under / "bin" / "python")
        if under
        else Path(getattr(sys, "_base_executable", sys.executable))
    )
    base = python_of.resolve()
    (env / "pyvenv.cfg").write_text(
        f"home = {base.parent}\ninclude-system-site-packages = false\n"
        f"version = {sys.version_info.major}.{sys.version_info.minor}."
        f"{sys.version_info.micro}\n",
        encoding="utf-8",
    )
    python = bin_dir / "python"
    for name in ("python", "python3", f"python3.{sys.version_info.minor}"):
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(base)
    for name in ("pip", "pip3"):
        script = bin_dir / name
        script.write_text(_PIP.format(python=python), encoding="utf-8")
        script.chmod(0o755)
    packages = _site_packages(env)
    packages.mkdir(parents=True, exist_ok=True)
    shared = (
        [_site_packages(under)]
        if under
        else [*site.getsitepackages(), sysconfig.get_path("purelib")]
    )
    seen = [p for p in map(str, shared) if Path(p).is_dir()]
    (packages / "_tutorial_gen_base.pth").write_text(
        "".join(f"{path}\n" for path in dict.fromkeys(seen)), encoding="utf-8"
    )
    return env


def run_home(folder: Path) -> Path:
    """The run's HOME, with the shared caches linked in from the real one."""
    home = folder / "home"
    home.mkdir(exist_ok=True)
    real = Path(os.path.expanduser("~"))
    for relative in SHARED_HOME:
        source, target = real / relative, home / relative
        if source.is_dir() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source, target_is_directory=True)
    return home


def isolated_environment(
    folder: Path, cache: Path, under: Path | None = None
) -> tuple[Path, dict[str, str]]:
    """The overlay's interpreter for a kernel run in `folder` (over `under`, an environment of
    this Python, if given), and the variables it runs with."""
    env = make_overlay(folder, under)
    path = os.pathsep.join([str(env / "bin"), os.environ.get("PATH", os.defpath)])
    cache.mkdir(parents=True, exist_ok=True)
    variables = {
        "PATH": path,
        "VIRTUAL_ENV": str(env),
        "HOME": str(run_home(folder)),
        "PYTHONNOUSERSITE": "1",  # nothing from ~/.local, nothing into it
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "MPLCONFIGDIR": str(cache / "matplotlib"),  # its font cache, built once for all runs
        "PIP_CACHE_DIR": str(cache / "pip"),  # downloads kept for the next run's install
    }
    return env / "bin" / "python", variables
