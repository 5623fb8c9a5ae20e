"""The overview's results sections: one heading per task, its tables under it."""

from __future__ import annotations

from typing import Any


def group_by_task(tables: list[dict[str, Any]], tasks: list[str]) -> None:
    """Give each results table (in place) its heading level, its subtitle and, for the first of a
    task of several tables, the task's heading. A table alone in its task keeps its title as a
    `###` heading; the tables of a shared task get `####` headings, their titles without the
    task's name ("Object detection: MTCNN" reads "MTCNN" under "Object detection")."""
    for index, table in enumerate(tables):
        task = tasks[index]
        shared = tasks.count(task) > 1
        table["task_heading"] = task if shared and tasks.index(task) == index else None
        table["heading"] = "####" if shared else "###"
        title, prefix = str(table["title"]), f"{task}: "
        if shared and title.startswith(prefix):
            title = title[len(prefix)].upper() + title[len(prefix) + 1 :]
        table["subtitle"] = title
