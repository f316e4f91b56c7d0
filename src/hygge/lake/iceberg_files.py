"""Data files of an Iceberg table: written batch by batch, read file by file, in bounded memory.

pyiceberg's own writers take a whole ``pa.Table`` per file and its scans read every file of a table at
once on a thread pool (``ArrowScan.to_record_batches`` materialises each file and maps over all of
them), so neither bounds memory. hygge writes its parquet files itself, with the field ids, codec and
statistics pyiceberg would give them, and reads one file at a time, batch by batch. The pyiceberg
internals it uses for that are named here and nowhere else (the version range in pyproject.toml pins
them).

Every file a run writes is named ``hygge-<run id>-...``: a file of a run that died before its commit
is recognisable by name, and removed by the next run (lake/iceberg_heal.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from pyiceberg.io import FileIO
    from pyiceberg.manifest import DataFile
    from pyiceberg.schema import Schema
    from pyiceberg.table import FileScanTask
    from pyiceberg.table.metadata import TableMetadata

RUN_FILE = re.compile(r"^hygge-(?P<run>\d{8}T\d{6}-[0-9a-f]{8})-")
# Batches are gathered to about this size (at most a quarter of a file) before they become a row group:
# 64 KiB batches would otherwise make row groups too small for readers to skip or decode well.
ROW_GROUP_BYTES = 16 * 2**20


def run_of(path: str) -> str | None:
    """The run id in the name of a file hygge wrote, or None for anyone else's file."""
    match = RUN_FILE.match(path.rsplit("/", 1)[-1])
    return match.group("run") if match else None


class DataFileWriter:
    """Parquet data files of one Iceberg schema, rolled over at ``target_bytes`` on disk."""

    def __init__(self, io: FileIO, metadata: TableMetadata, schema: Schema, arrow: pa.Schema, prefix: str,
                 location: Any, target_bytes: int):
        from pyiceberg.io.pyarrow import _get_parquet_writer_kwargs
        from pyiceberg.schema import sanitize_column_names

        self.io = io
        self.metadata = metadata
        self.schema = sanitize_column_names(schema)  # the names inside the files, as pyiceberg writes them
        self.arrow = arrow
        self.prefix = prefix
        self.location = location  # the table's LocationProvider: where data files go
        self.target_bytes = target_bytes
        self.kwargs = _get_parquet_writer_kwargs(metadata.properties)
        self.paths: list[str] = []
        self.done: list[DataFile] = []
        self.bytes = 0
        self.rows = 0
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0
        self._stream: Any = None
        self._writer: pq.ParquetWriter | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        """Take rows of the table's read types (names and field ids are the file schema's)."""
        if not batch.num_rows:
            return
        self.rows += batch.num_rows
        self._buffer.append(pa.RecordBatch.from_arrays(batch.columns, schema=self.arrow))
        self._buffered += batch.nbytes
        if self._buffered >= min(ROW_GROUP_BYTES, self.target_bytes // 4):
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            path = self.location.new_data_location(data_file_name=f"{self.prefix}-{len(self.paths):05d}.parquet")
            self.paths.append(path)
            self._stream = self.io.new_output(path).create(overwrite=False)
            self._writer = pq.ParquetWriter(self._stream, schema=self.arrow, store_decimal_as_integer=True,
                                            **self.kwargs)
        self._writer.write_table(pa.Table.from_batches(self._buffer, schema=self.arrow))
        self._buffer, self._buffered = [], 0
        if self._stream.tell() >= self.target_bytes:
            self._close_file()

    def _close_file(self) -> None:
        from pyiceberg.io.pyarrow import (
            compute_statistics_plan,
            data_file_statistics_from_parquet_metadata,
            parquet_path_to_id_mapping,
        )
        from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
        from pyiceberg.typedef import Record

        assert self._writer is not None
        self._writer.close()
        size = self._stream.tell()
        self._stream.close()
        statistics = data_file_statistics_from_parquet_metadata(
            parquet_metadata=self._writer.writer.metadata,
            stats_columns=compute_statistics_plan(self.schema, self.metadata.properties),
            parquet_column_mapping=parquet_path_to_id_mapping(self.schema),
        )
        data_file = DataFile.from_args(
            content=DataFileContent.DATA, file_path=self.paths[-1], file_format=FileFormat.PARQUET,
            partition=Record(), file_size_in_bytes=size, sort_order_id=None, equality_ids=None, key_metadata=None,
            **statistics.to_serialized_dict())
        data_file.spec_id = self.metadata.default_spec_id  # not a field of the file's record: set apart
        self.done.append(data_file)
        self.bytes += size
        self._writer, self._stream = None, None

    def close(self) -> list[DataFile]:
        """Finish the open file; the data files written, for the commit."""
        self._flush()
        if self._writer is not None:
            self._close_file()
        return self.done

    def discard(self) -> None:
        """Delete every file written: they were never committed, and nobody else knows them."""
        try:
            if self._writer is not None:
                self._writer.close()
                self._stream.close()
        except Exception:  # noqa: BLE001 - the file is deleted next
            pass
        self._writer = None
        delete(self.io, self.paths)
        self.paths, self.done = [], []


def delete(io: FileIO, paths: list[str]) -> None:
    for path in paths:
        try:
            io.delete(path)
        except FileNotFoundError:
            pass


def task_batches(metadata: TableMetadata, io: FileIO, task: FileScanTask, projected: Schema,
                 row_filter: Any = None) -> Iterator[pa.RecordBatch]:
    """One data file's rows (its delete files applied, projected onto ``projected``), batch by batch."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan, _read_all_delete_files

    scan = ArrowScan(table_metadata=metadata, io=io, projected_schema=projected,
                     row_filter=row_filter if row_filter is not None else AlwaysTrue())
    deletes = _read_all_delete_files(io, [task])
    yield from scan._record_batches_from_scan_tasks_and_deletes([task], deletes)


def bounded(batches: Iterator[pa.RecordBatch], max_bytes: int) -> Iterator[pa.RecordBatch]:
    """Batches of at most about ``max_bytes`` (a parquet row group can be far larger than a batch should be)."""
    for batch in batches:
        if batch.nbytes <= max_bytes or batch.num_rows < 2:
            yield batch
            continue
        step = max(1, batch.num_rows * max_bytes // batch.nbytes)
        for start in range(0, batch.num_rows, step):
            yield batch.slice(start, step)
