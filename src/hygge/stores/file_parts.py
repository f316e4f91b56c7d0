"""Partitions of a file entity staged by other processes (Dask workers), then adopted by the landing.

Each partition writes part files into its own folder inside the run's staging
folder (on storage every worker shares); the landing renames them into the
run's sequence of part numbers and publishes them with everything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from hygge.core.split import PartSink
from hygge.formats.base import PartWriter, within_budget
from hygge.state.fsops import remove_tree


@dataclass
class FilePartTarget:
    store: dict[str, Any]
    root: str
    folder: str

    def open(self, schema: pa.Schema) -> FilePartSink:
        from hygge.core.planner import open_store

        return FilePartSink(open_store(self.root, self.store, {}), Path(self.folder), schema)


class FilePartSink(PartSink):
    def __init__(self, store: Any, folder: Path, schema: pa.Schema):
        self.store, self.folder, self.schema = store, folder, schema
        remove_tree(folder)  # what an earlier attempt of this partition left
        folder.mkdir(parents=True)
        self.writer: PartWriter | None = None
        self.count = 0
        self.files: list[tuple[str, int, int]] = []

    def _finish(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()
            size = writer.path.stat().st_size
            self.files.append((writer.path.name, writer.rows, size))
            self.bytes += size

    def write_stream(self, batches: Iterator[pa.RecordBatch]) -> None:
        for batch in batches:
            for piece in within_budget(batch, self.store.slice_bytes()):
                if self.writer is None:
                    self.writer = self.store.Writer(self.folder / self.store.part_name(self.count), self.schema,
                                                    self.store.config)
                    self.count += 1
                self.writer.write(piece)
                self.rows += piece.num_rows
                if self.writer.size() >= self.store.config.target_file_size:
                    self._finish()
                else:
                    self.writer.start_writeback()

    def finish(self) -> Any:
        self._finish()
        return self.files
