"""The papermill engine runs use: papermill's nbclient engine, with fewer saves of the notebook.

papermill writes the whole executed notebook at the start and at the end of every cell, so that
the file on disk follows the run. For a tutorial of many short cells that is a few percent of its
run time. This engine writes it at most every `SAVE_EVERY` seconds while cells run, and always
when the run ends, however it ends (papermill's engine saves in a `finally`), which is when the
executed notebook is read.
"""

from __future__ import annotations

import time
from typing import Any

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

ENGINE_NAME = "tutorial-gen"
SAVE_EVERY = 10.0  # seconds between two saves of a running notebook


class _SparseSaves(NotebookExecutionManager):
    """An execution manager that skips a save when the last one is recent, except the final one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved_at = -SAVE_EVERY
        self._ending = False

    def save(self, **kwargs: Any) -> None:
        now = time.monotonic()
        if self._ending or now - self._saved_at >= SAVE_EVERY:
            super().save(**kwargs)
            self._saved_at = now

    def notebook_complete(self, **kwargs: Any) -> None:
        self._ending = True
        super().notebook_complete(**kwargs)


class SparseSavesEngine(NBClientEngine):
    """papermill's nbclient engine with `_SparseSaves` as its execution manager."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        manager = _SparseSaves(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        manager.notebook_start()
        try:
            cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
        finally:
            manager.cleanup_pbar()
            manager.notebook_complete()
        return manager.nb


papermill_engines.register(ENGINE_NAME, SparseSavesEngine)
