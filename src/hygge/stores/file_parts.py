"""Partitions of a file entity staged by other processes (Dask workers), then adopted by the landing.

Each attempt of a partition writes part files into a folder of its own beside
the run's staging folder (on storage every worker shares); the landing renames
the files of the attempt whose result it got into the run's sequence of part
numbers and publishes them with everything else.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from hygge.core.split import PartSink
from hygge.stores.part_series import PartSeries


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
        # Each attempt of a partition writes a folder of its own: a rerun (Dask ran it again after a worker died)
        # never touches the output of another attempt, which the landing may be adopting at that moment.
        folder = folder.with_name(f"{folder.name}-{uuid.uuid4().hex[:8]}")
        folder.mkdir(parents=True)
        self.folder = folder
        self.files: list[tuple[str, int, int]] = []
        # Numbered from 0 in the partition's own folder; the landing renumbers them when it adopts them.
        self.series = PartSeries(store, folder, schema, itertools.count().__next__, self._add_part)

    def _add_part(self, name: str, rows: int, size: int) -> None:
        self.files.append((name, rows, size))
        self.bytes += size

    def write_stream(self, batches: Iterator[pa.RecordBatch]) -> None:
        for batch in batches:
            self.series.write(batch)
            self.rows += batch.num_rows

    def finish(self) -> Any:
        self.series.close()
        return self.folder.name, self.files
