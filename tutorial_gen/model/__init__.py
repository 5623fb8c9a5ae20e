"""The typed core every stage shares: the project, its techniques, the results file, statuses.

This package imports nothing else of tutorial_gen; every stage may import it.
"""

from .compat import COMPAT_SCHEMA, CompatCell, CompatFile, CompatStatus, StackRun
from .project import (
    DEFAULT_CELL_TIMEOUT,
    SEED_PARAMETER,
    SEEDS_KEY,
    TUTORIAL_SEEDS,
    Claim,
    Notebook,
    Project,
    Stack,
    Technique,
    canonical_name,
)
from .request import RunRequest
from .results import (
    FILE_ROW_KEYS,
    NUMERIC_ROW_KEYS,
    ROW_KEYS,
    ROW_METRICS,
    SCHEMA,
    CellTiming,
    ClaimOutcome,
    Environment,
    NotebookEntry,
    ResultRow,
    ResultsFile,
    ResultsFormatError,
    merge_entries,
)
from .status import (
    CacheState,
    ClaimStatus,
    Marker,
    Profile,
    ProgressKind,
    Role,
    RunStatus,
    Tag,
)

__all__ = [
    "COMPAT_SCHEMA",
    "CompatCell",
    "CompatFile",
    "CompatStatus",
    "StackRun",
    "DEFAULT_CELL_TIMEOUT",
    "FILE_ROW_KEYS",
    "NUMERIC_ROW_KEYS",
    "ROW_KEYS",
    "ROW_METRICS",
    "SCHEMA",
    "SEEDS_KEY",
    "SEED_PARAMETER",
    "TUTORIAL_SEEDS",
    "CacheState",
    "CellTiming",
    "Claim",
    "ClaimOutcome",
    "ClaimStatus",
    "Environment",
    "Marker",
    "Notebook",
    "NotebookEntry",
    "Profile",
    "ProgressKind",
    "Project",
    "ResultRow",
    "ResultsFile",
    "ResultsFormatError",
    "Role",
    "RunRequest",
    "RunStatus",
    "Stack",
    "Tag",
    "Technique",
    "canonical_name",
    "merge_entries",
]
