"""Clean environments: prove that a notebook's install cell is complete.

A notebook's kernel normally runs in tutorial_gen's own environment, which holds far more than the
notebook installs. With `run --clean-env` the kernel runs in a fresh virtual environment holding
only ipykernel (which every Colab runtime has); the notebook's setup cell then installs everything
else for real with pip. A missing install shows up as an import error. Environments are cached by
their install line, so the price is paid once per set of pins.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from ..build import BuiltNotebook
from ..errors import ExecutionError
from ..model import Project


def kernel_pin(project: Project) -> str:
    version = project.pins.get("ipykernel")
    return f"ipykernel=={version}" if version else "ipykernel"


def clean_kernel(built: BuiltNotebook, project: Project, root: Path) -> tuple[str, Path]:
    """A kernel for `built` in a cached environment holding only ipykernel; (name, jupyter dir)."""
    install_line = json.dumps(sorted(built.requirements.items()))
    key = hashlib.sha256(
        f"{platform.python_version()} {kernel_pin(project)} {install_line}".encode()
    ).hexdigest()[:12]
    env = root / "envs" / key
    name = f"tutorial-gen-clean-{key}"
    jupyter = env / "share" / "jupyter"
    if (env / ".ready").is_file():
        return name, jupyter
    python = env / "bin" / "python"
    for command in (
        [sys.executable, "-m", "venv", "--clear", str(env)],
        [str(python), "-m", "pip", "install", "--quiet", kernel_pin(project)],
    ):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise ExecutionError(
                f"could not prepare a clean environment: {' '.join(command)}: "
                f"{(result.stderr or result.stdout).strip()[-500:]}",
                path=env,
            )
    write_kernel_spec(env, name, f"clean environment {key}")
    (env / ".ready").write_text(install_line, encoding="utf-8")
    return name, jupyter


def write_kernel_spec(env: Path, name: str, display: str) -> None:
    """Declare a kernel that runs in the environment `env`, under its `share/jupyter`."""
    spec = env / "share" / "jupyter" / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    python = env / "bin" / "python"
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": display, "language": "python"}),
        encoding="utf-8",
    )


def with_jupyter_path(extra: Path) -> dict[str, str]:
    """The environment variables that let Jupyter find kernels under `extra` first."""
    current = os.environ.get("JUPYTER_PATH")
    return {"JUPYTER_PATH": os.pathsep.join([str(extra), *([current] if current else [])])}
