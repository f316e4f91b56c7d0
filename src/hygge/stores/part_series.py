"""Batches written into a series of numbered part files, a new part begun past ``target_file_size``.

A move's own staging (file_landing.py) and a partition staged by a Dask
worker (file_parts.py) both write through this, so parts are cut, sliced and
handed to the disk the same way wherever they are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from hygge.formats.base import PartWriter, within_budget

# name, rows, bytes of a part once it is closed
OnPart = Callable[[str, int, int], None]


class PartSeries:
    def __init__(self, store: Any, folder: Path, schema: pa.Schema, number: Callable[[], int], on_part: OnPart):
        self.store, self.folder, self.schema = store, folder, schema
        self.number = number  # the next part number; the owner keeps the count (copies and adoptions use it too)
        self.on_part = on_part
        self.writer: PartWriter | None = None

    @contextmanager
    def _writing(self, path: Path) -> Iterator[None]:
        """Every byte of every part passes here, whoever stages it (a move, a partition, a merge): a full disk
        or a file size limit is said once, naming the part being written, instead of as an unexpected OSError."""
        from hygge.stores.files import explain_os_error

        try:
            yield
        except OSError as exc:
            raise explain_os_error(exc, path, "write staged data") from exc

    def write(self, batch: pa.RecordBatch, rotate: bool = True) -> None:
        # Slices, so a batch larger than a part file still rotates parts on time.
        for piece in within_budget(batch, self.store.slice_bytes()):
            if self.writer is None:
                self.open()
            assert self.writer is not None
            with self._writing(self.writer.path):
                self.writer.write(piece)
                if rotate and self.writer.size() >= self.store.config.target_file_size:
                    self.close()
                else:
                    self.writer.start_writeback()

    def open(self) -> None:
        """Begin a part now (a part with no rows still carries the schema)."""
        self.close()
        path = self.folder / self.store.part_name(self.number())
        with self._writing(path):
            self.writer = self.store.Writer(path, self.schema, self.store.config)

    def close(self) -> None:
        """Finish the open part, if any, and report it."""
        if self.writer is None:
            return
        writer, self.writer = self.writer, None
        with self._writing(writer.path):
            writer.close()
            self.on_part(writer.path.name, writer.rows, writer.path.stat().st_size)

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.abandon()
            self.writer = None
