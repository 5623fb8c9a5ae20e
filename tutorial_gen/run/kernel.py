"""The Jupyter kernel a notebook runs in: registered for this interpreter, its output captured,
its threads limited so that parallel runs do not oversubscribe the cores."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from ..errors import ExecutionError
from .isolation import isolated_environment
from .lifetime import CONNECTION, claim_folder, die_with_parent

KERNEL_NAME = "tutorial-gen"

# Leave the kernel's file descriptors alone: C-level output (TensorFlow's logs, a crash report)
# goes to the captured log file, where it survives the kernel dying, not into cell outputs.
KERNEL_ARGUMENTS = ["--IPKernelApp.capture_fd_output=False"]

# Variables that bound the threads of TensorFlow, oneDNN / OpenMP and BLAS inside one kernel.
THREAD_VARIABLES = (
    "TF_NUM_INTRAOP_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Make sure kernelspec `name` runs this interpreter; install it into sys.prefix if not."""
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
        if spec.argv and Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return name
    except NoSuchKernel:
        pass
    install(kernel_name=name, display_name=f"Python 3 ({name})", prefix=sys.prefix)
    return name


def thread_limits(threads: int | None) -> dict[str, str]:
    """Environment variables that keep one kernel within `threads` threads (none if unlimited)."""
    if not threads:
        return {}
    limits = {name: str(threads) for name in THREAD_VARIABLES}
    limits["TF_NUM_INTEROP_THREADS"] = "1" if threads == 1 else "2"
    return limits


class _CapturingKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel writes stdout and stderr to a file and gets extra env; it
    remembers the last client it made, so that its owner can close that client's channels."""

    capture_path: str | None = None
    extra_env: dict[str, str | None] = {}  # None unsets the variable
    isolated: tuple[str, dict[str, str]] | None = None  # (overlay interpreter, its variables)
    last_client: Any = None

    def client(self, **kwargs: Any) -> Any:
        self.last_client = super().client(**kwargs)
        return self.last_client

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        # faulthandler makes a crashing kernel print where it crashed into the captured output
        env = {**(kw.get("env") or os.environ), "PYTHONFAULTHANDLER": "1", **self.extra_env}
        kw["env"] = {k: v for k, v in env.items() if v is not None}  # None: unset
        if self.isolated:  # this interpreter, in the run's overlay environment
            kernel_cmd = [self.isolated[0], *kernel_cmd[1:]]
            kw["env"].update(self.isolated[1])
        kw.setdefault("preexec_fn", die_with_parent)  # a killed tool leaves no kernel behind
        if self.capture_path:
            handle = open(self.capture_path, "ab")  # noqa: SIM115 (the kernel process owns it)
            kw.setdefault("stdout", handle)
            kw.setdefault("stderr", handle)
        await super()._async_launch_kernel(kernel_cmd, **kw)


def kernel_manager_class(
    capture: Path, env: dict[str, str | None], isolated: tuple[str, dict[str, str]] | None = None
) -> type[AsyncKernelManager]:
    """A kernel manager class for one run: its kernel's output goes to `capture`, `env` is added,
    and with `isolated` the kernel runs in that overlay environment."""
    return type(
        "RunKernelManager",
        (_CapturingKernelManager,),
        {"capture_path": str(capture), "extra_env": dict(env), "isolated": isolated},
    )


def tail(path: Path, lines: int = 12) -> str:
    """What a kernel last wrote: its crash report when it crashed, else its last lines."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [
        line
        for line in text.splitlines()
        if line.strip() and "Kernel is running over TCP without encryption" not in line
    ]
    crash = [i for i, line in enumerate(kept) if line.startswith("Fatal Python error")]
    if crash:  # faulthandler's report: the error, then the crashing thread's innermost frames
        start = crash[-1]
        current = next(
            (i for i in range(start, len(kept)) if kept[i].startswith("Current thread")), None
        )
        frames = kept[current : current + lines] if current is not None else []
        return "\n".join([kept[start], *frames])
    return "\n".join(kept[-lines:])


class KernelLaunch:
    """A kernel started before its notebook is ready to run, so that it boots meanwhile.

    `folder` is the kernel's working directory; its output is captured in `folder/kernel.log`.
    Whoever holds the launch stops it: `stop()` kills the kernel at once and closes its client.
    """

    def __init__(
        self,
        name: str,
        folder: Path,
        env: dict[str, str | None],
        isolate: bool = True,
        under: Path | None = None,
    ) -> None:
        from jupyter_core.utils import run_sync

        self.folder = folder
        self.capture = folder / "kernel.log"
        claim_folder(folder)
        isolated = None
        if isolate:  # a clean environment is its own; this one's (or `under`'s) gets an overlay
            cache = folder.parent.parent.parent / ".cache"
            python, variables = isolated_environment(folder, cache, under)
            isolated = (str(python), variables)
        self.manager = kernel_manager_class(self.capture, env, isolated)(
            kernel_name=name, connection_file=str(folder / CONNECTION)
        )
        try:
            run_sync(self.manager.start_kernel)(
                # nbclient adds the history option when it starts a kernel itself
                extra_arguments=[*KERNEL_ARGUMENTS, "--HistoryManager.hist_file=:memory:"],
                cwd=str(folder),
            )
        except Exception as error:
            raise ExecutionError(
                f"could not start the Jupyter kernel '{name}': {type(error).__name__}: {error}",
                hint="run `make setup`, which registers the kernel",
            ) from error

    def stop(self) -> None:
        """Kill the kernel if it still runs and release its connection; safe to call twice."""
        from jupyter_core.utils import run_sync

        client, self.manager.last_client = self.manager.last_client, None
        if client is not None:
            client.stop_channels()
        if self.manager.has_kernel:
            run_sync(self.manager.shutdown_kernel)(now=True)

    def discard(self) -> None:
        """Stop a kernel no run took, and remove its folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
