"""What every Home provides: discovery, a readable Source per entity, and checks for `hygge debug`."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa

from hygge.core.config import Strict
from hygge.core.plan import MovePlan
from hygge.core.rowfilter import ReadState
from hygge.storage.blob import FilePath

if TYPE_CHECKING:
    import pyarrow.parquet as pq

__all__ = ["Check", "Home", "HomeConfig", "ReadState", "Source", "WholeParquet"]


class HomeConfig(Strict):
    type: str


@dataclass
class Check:
    """One line of `hygge debug`: what was checked, whether it passed, and how to fix it."""

    name: str
    ok: bool
    detail: str = ""
    hint: str | None = None


@dataclass
class WholeParquet:
    """A Source's rows as they are: whole parquet files, each as the move opened it (core/passthrough.py).

    A Landing may take them without hygge decoding and encoding every batch (copy them, let polars or its
    engine read them); it must check what it publishes against ``rows_of`` and ``changed``."""

    files: list[FilePath]
    schema: pa.Schema  # the entity's schema, unified across the files
    footer: Callable[[FilePath], pq.FileMetaData]
    rows_of: Callable[[FilePath], int | None]  # the file's rows per its footer, when the move opened it
    changed: Callable[[FilePath], bool]  # whether the file's size or time changed since the move opened it
    show: Callable[[FilePath], str]  # the file's name as the person wrote it, for messages

    @property
    def rows(self) -> int:
        return sum(self.rows_of(path) or 0 for path in self.files)


class Source(ABC):
    """One entity ready to be read: its schema is known before the first batch."""

    description: str = ""
    estimated_rows: int | None = None
    # False where the estimate comes from statistics (a database's), not from a count (parquet footers, lake logs)
    rows_exact: bool = True
    warnings: list[str]

    def __new__(cls, *args: Any, **kwargs: Any) -> Source:
        self = super().__new__(cls)
        self.warnings = []
        return self

    @property
    @abstractmethod
    def schema(self) -> pa.Schema: ...

    @abstractmethod
    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield batches of about the configured byte size; never the whole entity at once."""

    def new_state(self) -> dict[str, Any]:
        """State to commit with the data after a complete read (e.g. the files loaded)."""
        return {}

    def parts(self) -> list[Source]:
        """The source as independent pieces another process can read (they pickle); [self] if it cannot split."""
        return [self]

    # The watermark's highest value before a read made of several statements began, where the read is not bounded by
    # it (db/sqlhome.py): the watermark a run commits is no later than this.
    high_water: pa.Scalar | None = None

    def unsplit(self) -> None:
        """The pieces ``parts()`` made are not read after all (the store takes one writer): the whole source is."""

    def whole_parquet(self) -> WholeParquet | None:
        """The rows as whole parquet files, when that is exactly what they are (no row filtered out)."""
        return None

    def taken_whole(self, files: list[FilePath]) -> None:
        """A Landing took these files of ``whole_parquet()`` without reading them through this source."""

    def nothing_new(self) -> bool:
        """Whether this read found nothing because every file was loaded by an earlier run (not an empty source)."""
        return False

    def changed_since_loaded(self, loaded: dict[str, dict[str, Any]]) -> list[str]:
        """Files of this read that an earlier run loaded as another version: their rows are loaded again."""
        return []

    def close(self) -> None:
        """Release handles; may be called from another thread to interrupt a read."""


class Home(ABC):
    type_name: ClassVar[str]
    Config: ClassVar[type[HomeConfig]]
    # File homes remember the files a committed run loaded, so incremental runs need no watermark.
    tracks_files: ClassVar[bool] = False

    def __init__(self, config: HomeConfig, *, root: Path, connections: dict[str, dict[str, Any]] | None = None):
        self.config = config
        self.root = root
        self.connections = connections or {}

    @abstractmethod
    def discover(self) -> list[tuple[str, str]]:
        """Entities found for ``entities: "*"`` as (name, source) pairs."""

    @abstractmethod
    def open(self, plan: MovePlan, state: ReadState | None = None) -> Source:
        """A Source for one entity; raise ReadError when it does not exist."""

    def describe(self) -> str:
        return self.type_name

    def sessions(self) -> threading.BoundedSemaphore | None:
        """The session limit of this connection, shared by every move in the process."""
        return None

    def connection_key(self) -> str | None:
        """Moves sharing a key share the connection's session limit."""
        return None

    def check(self) -> list[Check]:
        return []
