"""The two halves every file format provides: read a file in byte-bounded batches, write parts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa


def within_budget(batch: pa.RecordBatch, budget: int) -> Iterator[pa.RecordBatch]:
    """Zero-copy slices of ``batch`` of about ``budget`` bytes each (row estimates can be off)."""
    size = batch.nbytes
    if size <= budget * 1.5 or batch.num_rows < 2:
        yield batch
        return
    pieces = -(-size // budget)
    step = -(-batch.num_rows // pieces)
    for start in range(0, batch.num_rows, step):
        yield batch.slice(start, step)


class FormatReader(ABC):
    """Reads one file format. One instance serves all files of one entity."""

    extensions: ClassVar[tuple[str, ...]]

    def __init__(self, options: Any, batch_bytes: int):
        self.options = options
        self.batch_bytes = batch_bytes
        self.notes: list[str] = []  # things the person should hear about, e.g. rows set aside

    @abstractmethod
    def schema_of(self, path: Path) -> pa.Schema:
        """The file's schema, as cheaply as the format allows (footer, first block)."""

    @abstractmethod
    def batches(self, path: Path, schema: pa.Schema, pieces: list[int] | None = None) -> Iterator[pa.RecordBatch]:
        """The file's rows as batches conforming to ``schema``; only the given ``pieces`` where it has them."""

    def pieces(self, path: Path) -> list[tuple[list[int] | None, int]]:
        """Independently readable pieces of a file, as (pieces, bytes); the whole file by default."""
        return [(None, path.stat().st_size)]

    def unify(self, schemas: list[tuple[Path, pa.Schema]]) -> pa.Schema:
        """One schema for all files; the default requires them to agree exactly."""
        from hygge.formats.schemas import require_same

        return require_same(schemas)

    def estimate_rows(self, path: Path) -> int | None:
        return None


class PartWriter(ABC):
    """Writes one part file; the landing rotates to a new part when this one is big enough."""

    def __init__(self, path: Path, schema: pa.Schema, options: Any):
        self.path = path
        self.schema = schema
        self.options = options
        self.rows = 0

    @abstractmethod
    def write(self, batch: pa.RecordBatch) -> None: ...

    @abstractmethod
    def size(self) -> int:
        """Bytes written to disk so far (approximately, before close)."""

    @abstractmethod
    def close(self) -> None: ...

    def abandon(self) -> None:
        """Close without caring about the result (abort path)."""
        try:
            self.close()
        except Exception:  # noqa: BLE001 - the file is thrown away anyway
            pass

    @classmethod
    def check_schema(cls, schema: pa.Schema) -> list[str]:
        """Column problems that make this format unable to hold the schema faithfully."""
        return []

    @classmethod
    def count_rows(cls, path: Path) -> int | None:
        """Rows in a written part, read back cheaply, or None when the format cannot say."""
        return None
