"""What every Store provides: a Landing per move, with the staging/commit/abort protocol."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from hygge.core.config import Strict
from hygge.core.drift import Drift
from hygge.core.plan import MovePlan
from hygge.homes.base import Check, WholeParquet
from hygge.state.journal import EntityState, RunRecord


class StoreConfig(Strict):
    type: str


@dataclass
class CommitResult:
    rows_in_target: int | None
    bytes_written: int = 0
    files: list[str] = field(default_factory=list)
    location: str = ""
    warnings: list[str] = field(default_factory=list)  # for the person: what the commit did beside the rows


class Landing(ABC):
    """One move's staged output. Nothing is visible in the target before ``commit``."""

    rows_written: int = 0
    bytes_written: int = 0
    # What the run says about what it found when it took the entity (a run interrupted before it, cleaned up).
    found: Sequence[str] = ()

    @abstractmethod
    def begin(self, schema: pa.Schema, drift: Drift | None = None) -> None:
        """Called once, before the first batch, with the schema of the rows to land.

        ``drift`` says how those rows differ from the existing target (new columns
        to add, columns to widen), already checked against the entity's policy.
        """

    def target_schema(self) -> pa.Schema | None:
        """The existing target's columns, or None when there is no target yet."""
        return None

    def part_targets(self, count: int) -> list[Any]:
        """Picklable places where other processes can stage partitions; see core/split.py."""
        from hygge.core.split import NotSplittable

        raise NotSplittable(type(self).__name__)

    def adopt(self, results: list[Any]) -> None:
        """Take the partitions staged elsewhere as if they had been written here."""
        raise NotImplementedError

    @abstractmethod
    def write(self, batch: pa.RecordBatch) -> None: ...

    def write_stream(self, batches: Iterator[pa.RecordBatch]) -> None:
        """Take every batch of the move; bulk loaders override this to use one load for all of them."""
        for batch in batches:
            self.write(batch)

    def take_whole(self, whole: WholeParquet, on_rows: Callable[[int], None]) -> tuple[bool, list[str]]:
        """Take the rows as whole parquet files, if this landing can land them exactly so (core/passthrough.py):
        whether it did (if not, the move reads the rows batch by batch) and what to tell the person about it.

        Called after ``begin`` and only when the move changes nothing about the rows; ``on_rows`` counts them.
        What it takes must be checked as the batch path checks it: rows against the footers, files unchanged
        since the move opened them, pages readable."""
        return False, []

    def finish(self) -> None:
        """Every row is in: finish what is still open, so the counts are final before the run is recorded."""

    @abstractmethod
    def commit(self, record: RunRecord, state: EntityState) -> CommitResult:
        """Publish the staged rows and the new state atomically."""

    @abstractmethod
    def abort(self) -> None:
        """Drop everything staged; the target stays exactly as it was."""

    def close(self) -> None:
        """Release locks and connections; always called, after commit or abort."""

    def notes(self) -> list[str]:
        """What the landing changed on the way that a person should hear of (a column it widened)."""
        return []

    def rows_before(self) -> int | None:
        """Rows in the target before this run, when the Store can tell cheaply."""
        return None

    def expected_rows_after(self) -> int | None:
        """Rows the target must hold after commit, for reconciliation; None when unknowable."""
        return None


class Store(ABC):
    type_name: ClassVar[str]
    Config: ClassVar[type[StoreConfig]]
    # Whether one machine gains from staging an entity's partitions side by side. Files do (each
    # partition encodes on its own core); a database does not: its staging tables cost a second
    # copy inside the server, so locally its partitions are read in parallel into one writer.
    local_parts: ClassVar[bool] = False

    def __init__(self, config: StoreConfig, *, root: Path, connections: dict[str, dict[str, Any]] | None = None):
        self.config = config
        self.root = root
        self.connections = connections or {}

    @abstractmethod
    def landing(self, plan: MovePlan, record: RunRecord) -> Landing:
        """Lock the entity, heal what an earlier run left, and open staging."""

    @abstractmethod
    def state(self, plan: MovePlan) -> EntityState | None:
        """The committed state of an entity (watermark, files, last run), if any."""

    @abstractmethod
    def location(self, plan: MovePlan) -> str:
        """Where the entity settles, for people: a folder or a table name."""

    def log_run(self, record: RunRecord, plan: MovePlan | None = None) -> None:
        """Keep a finished run (committed or failed) in the store's run history, beside the journal ``plan``'s
        state lives in; it replaces the run's ``running`` record, written when its landing opened."""

    def target_schema(self, plan: MovePlan) -> pa.Schema | None:
        """The columns of the entity's target as it stands, for dry runs; None when there is none."""
        return None

    def history(self, project: str = "", flow: str | None = None, entity: str | None = None) -> list[RunRecord]:
        """The runs ``project`` sees (its own, and those of no project), oldest first, each by its last record."""
        return []

    def forget(self, plan: MovePlan) -> bool:
        """Drop the entity's watermark and loaded-file state; the data stays."""
        return False

    def describe(self) -> str:
        return self.type_name

    def sessions(self) -> threading.BoundedSemaphore | None:
        """The session limit of this connection, shared by every move in the process."""
        return None

    def connection_key(self) -> str | None:
        return None

    def check(self) -> list[Check]:
        return []
