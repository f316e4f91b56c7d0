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
from hygge.state.fsops import remove_tree
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
        remove_tree(folder)  # what an earlier attempt of this partition left
        folder.mkdir(parents=True)
        self.count = 0
        self.files: list[tuple[str, int, int]] = []
        self.series = PartSeries(store, folder, schema, self._next_part, self._add_part)

    def _next_part(self) -> int:
        self.count += 1
        return self.count - 1

    def _add_part(self, name: str, rows: int, size: int) -> None:
        self.files.append((name, rows, size))
        self.bytes += size

    def write_stream(self, batches: Iterator[pa.RecordBatch]) -> None:
        for batch in batches:
            self.series.write(batch)
            self.rows += batch.num_rows

    def finish(self) -> Any:
        self.series.close()
        return self.files
