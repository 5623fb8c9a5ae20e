"""Stack environments: a runtime with one tested TensorFlow release, as Colab's is.

`compat` runs each notebook in the environment of each declared stack. Like a Colab runtime, it
holds TensorFlow (and the numpy that goes with it), ipykernel and pip, and nothing of tfmot,
tf-keras or LiteRT: the notebook's own install cell adds what goes with that release, so every
run on a stack also proves that path of the cell. Environments are made with uv where it is
installed (seconds from its cache; pip takes a minute) and kept, keyed by their pins, under
`<build>/stacks/`.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..build.requirements import KEPT_WITH_TENSORFLOW
from ..errors import ExecutionError
from ..fileio import write_atomic
from ..model import Project, Stack
from .cleanenv import kernel_pin, write_kernel_spec


def preinstalled(stack: Stack, project: Project) -> list[str]:
    """What a stack's runtime holds before a notebook runs: its TensorFlow, numpy where the stack
    pins it, ipykernel."""
    pins = [f"{name}=={stack.pins[name]}" for name in KEPT_WITH_TENSORFLOW if name in stack.pins]
    return [*pins, kernel_pin(project)]


def stack_key(stack: Stack, project: Project) -> str:
    """The environment's key: the interpreter and what it holds."""
    text = json.dumps([platform.python_version(), preinstalled(stack, project)])
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def uv_binary() -> str | None:
    """The uv executable: the one installed with this package, else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _commands(env: Path, requirements: list[str]) -> list[list[str]]:
    python = str(env / "bin" / "python")
    uv = uv_binary()
    if uv:  # --seed: pip too, which the notebook's install cell runs
        return [
            [uv, "venv", "--quiet", "--seed", "--python", sys.executable, str(env)],
            [uv, "pip", "install", "--quiet", "--python", python, *requirements],
        ]
    return [
        [sys.executable, "-m", "venv", "--clear", str(env)],
        [python, "-m", "pip", "install", "--quiet", *requirements],
    ]


def stack_environment(stack: Stack, project: Project, root: Path) -> tuple[Path, float]:
    """The stack's environment under `root/stacks` (made if it is not there yet), and the
    seconds making it took (0 when it was reused). An install that fails is an ExecutionError
    saying what the installer said."""
    env = root / "stacks" / f"{stack.name}-{stack_key(stack, project)}"
    if (env / ".ready").is_file():
        return env, 0.0
    started = time.monotonic()
    if env.exists():  # a half-made environment, from an interrupted run
        shutil.rmtree(env)
    requirements = preinstalled(stack, project)
    for command in _commands(env, requirements):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            said = (result.stderr or result.stdout).strip().splitlines()
            raise ExecutionError(
                f"stack {stack.name} cannot be installed: {' '.join(requirements)}: "
                + " ".join(said[-3:])[-400:],
                path=project.root / "pyproject.toml",
                hint=f"fix the pins of [tool.tutorial_gen.stacks.{stack.name}]",
            )
    write_kernel_spec(env, f"tutorial-gen-stack-{env.name}", f"stack {stack.name}")
    write_atomic(env / ".ready", json.dumps(requirements))
    return env, time.monotonic() - started


def stack_kernel(stack: Stack, project: Project, root: Path) -> tuple[str, Path, Path]:
    """A kernel in the stack's environment: (kernelspec name, the jupyter dir that holds it, the
    environment). Each run's kernel gets an overlay over it, so that what a notebook installs
    stays in its run and the next notebook meets the environment as it was made."""
    env, _ = stack_environment(stack, project, root)
    return f"tutorial-gen-stack-{env.name}", env / "share" / "jupyter", env
