"""The two halves every file format provides: read a file in byte-bounded batches, write parts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from hygge.state.fsops import start_writeback
from hygge.storage.blob import FilePath

# How much a part file grows between two requests to the kernel to start writing it to disk.
WRITEBACK_BYTES = 64 * 2**20


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


def text_block(batch_bytes: int) -> int:
    """The block size for Arrow's streaming CSV and JSON readers, from the batch budget.

    Those readers parse about thirty blocks ahead on their thread pool, so a block the size of the whole budget
    held ~1 GB for a 32 MB budget (10M-row CSV). An eighth of the budget, at most 8 MB, keeps the read-ahead near
    a few budgets and measured as fast (4-16 MB blocks all within 5%).
    """
    return max(1 << 16, min(batch_bytes // 8, 8 << 20))


# Arrow counts block sizes in int32 bytes.
MAX_BLOCK = 1 << 30


def streamed(open_reader: Callable[[int], Any], batch_bytes: int,
             restart: Callable[[], None] | None = None) -> Iterator[pa.RecordBatch]:
    """The batches of an Arrow streaming CSV or JSON reader, ``open_reader(block_size)``, read in small blocks.

    A row longer than a block makes Arrow fail with "straddling object"; then the file is opened again with blocks
    eight times larger and the rows already given are skipped, so a rare long row costs a re-read, not a failure.
    ``restart`` undoes what the first attempt recorded on the side (rows set aside) before the file is read again.
    """
    block, given = text_block(batch_bytes), 0
    while True:
        reader, skip = open_reader(block), given
        try:
            for batch in iter(reader.read_next_batch, None):
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                if skip:
                    batch, skip = batch.slice(skip), 0
                given += batch.num_rows
                yield batch
            return  # the reader ended the loop by raising StopIteration
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or block >= MAX_BLOCK:
                raise
            block = min(block * 8, MAX_BLOCK)
            if restart is not None:
                restart()
        finally:
            reader.close()


class FormatReader(ABC):
    """Reads one file format. One instance serves all files of one entity."""

    extensions: ClassVar[tuple[str, ...]]

    def __init__(self, options: Any, batch_bytes: int):
        self.options = options
        self.batch_bytes = batch_bytes
        self.notes: list[str] = []  # things the person should hear about, e.g. rows set aside

    @abstractmethod
    def schema_of(self, path: FilePath) -> pa.Schema:
        """The file's schema, as cheaply as the format allows (footer, first block)."""

    @abstractmethod
    def batches(self, path: FilePath, schema: pa.Schema, pieces: list[int] | None = None) -> Iterator[pa.RecordBatch]:
        """The file's rows as batches conforming to ``schema``; only the given ``pieces`` where it has them."""

    def pieces(self, path: FilePath) -> list[tuple[list[int] | None, int]]:
        """Independently readable pieces of a file, as (pieces, bytes); the whole file by default."""
        return [(None, path.stat().st_size)]

    def unify(self, schemas: list[tuple[FilePath, pa.Schema]]) -> pa.Schema:
        """One schema for all files; the default requires them to agree exactly."""
        from hygge.formats.schemas import require_same

        return require_same(schemas)

    def estimate_rows(self, path: FilePath) -> int | None:
        return None

    def working_bytes(self, path: FilePath) -> int:
        """Memory the reader holds for this file beyond its batches (buffers, decoded pages); 0 if negligible."""
        return 0


class PartWriter(ABC):
    """Writes one part file; the landing rotates to a new part when this one is big enough."""

    def __init__(self, path: Path, schema: pa.Schema, options: Any):
        self.path = path
        self.schema = schema
        self.options = options
        self.rows = 0
        self.written_back = 0

    def start_writeback(self) -> None:
        """Each WRITEBACK_BYTES the file grows, have the kernel start writing it to disk (fsops.start_writeback):
        the disk works while the next rows are encoded, and the fsync at commit finds little left to do.
        Only for stores that fsync at commit (`durable`); the others leave the timing to the kernel."""
        if not getattr(self.options, "durable", False):
            return
        size = self.size()
        if size - self.written_back >= WRITEBACK_BYTES:
            start_writeback(self.path)
            self.written_back = size

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
