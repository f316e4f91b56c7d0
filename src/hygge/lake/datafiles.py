"""Data files of a Delta table, written by hygge, committed later by one log entry.

A Landing writes its rows straight into the table's folder as parquet files whose names carry the run
(``part-00000-hygge-<run>-c000.snappy.parquet``, in ``col=value/`` folders when partitioned) and
collects for each one the add action the commit needs: path, size, partition values and statistics.
Until the commit names them, no Delta reader sees these files; a killed run leaves them unreferenced,
and the next run finds them by the run's name and deletes them (lake/heal.py).

Statistics are what Delta readers skip files by, so only exact ones are written: row and null counts,
and minimum and maximum of integer, date and short string columns (as data skipping uses them first;
a column without them is simply never skipped).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
STATS_COLUMNS = 32  # Delta's default `delta.dataSkippingNumIndexedCols`
STATS_STRING_CHARS = 32  # longer strings would bloat the log; their files are just never skipped on them
DICTIONARY_PAGE_BYTES = 64 * 2**10  # see stores/parquet.py: large dictionaries of unique values cost time
PARTITION_TYPES = "strings, integers, dates and booleans"


def partition_type_ok(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_integer(t) or pa.types.is_date32(t) or pa.types.is_boolean(t)


def partition_value(value: Any) -> str | None:
    """A partition value as Delta writes it in the log (its spec's serialization)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def partition_folder(columns: list[str], values: list[str | None]) -> str:
    """``col=value`` folders, escaped as delta-rs escapes them."""
    return "/".join(f"{quote(c, safe='')}={NULL_PARTITION if v is None else quote(v, safe='')}"
                    for c, v in zip(columns, values, strict=True))


def _stats_kind(t: pa.DataType) -> str | None:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_string(t):
        return "string"
    if pa.types.is_nested(t):
        return None
    return "nulls"


@dataclass
class _Stats:
    kinds: dict[str, str]
    rows: int = 0
    nulls: dict[str, int] = field(default_factory=dict)
    low: dict[str, Any] = field(default_factory=dict)
    high: dict[str, Any] = field(default_factory=dict)

    def add(self, batch: pa.RecordBatch) -> None:
        import pyarrow.compute as pc

        self.rows += batch.num_rows
        for name, kind in self.kinds.items():
            column = batch.column(name)
            self.nulls[name] = self.nulls.get(name, 0) + column.null_count
            if kind == "nulls" or column.null_count == len(column):
                continue
            bounds = pc.min_max(column)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            if name not in self.low or low < self.low[name]:
                self.low[name] = low
            if name not in self.high or high > self.high[name]:
                self.high[name] = high

    def to_json(self) -> str:
        def shown(value: Any) -> Any:
            return value.isoformat() if hasattr(value, "isoformat") else value

        keep = [n for n in self.low if not (self.kinds[n] == "string" and max(
            len(self.low[n]), len(self.high[n])) > STATS_STRING_CHARS)]
        return json.dumps({"numRecords": self.rows, "minValues": {n: shown(self.low[n]) for n in keep},
                           "maxValues": {n: shown(self.high[n]) for n in keep}, "nullCount": self.nulls},
                          ensure_ascii=False)


@dataclass
class DataFile:
    """One finished file, as its add action will name it."""

    path: str  # relative to the table, as on disk (delta-rs percent-encodes it for the log)
    local: Path
    size: int
    rows: int
    partition_values: dict[str, str | None]
    modification_time: int  # milliseconds
    stats: str


class _Open:
    def __init__(self, path: Path, schema: pa.Schema, options: dict[str, Any], stats: _Stats):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.sink = pa.OSFile(str(path), "wb")
        self.writer = pq.ParquetWriter(self.sink, schema, **options)
        self.stats = stats

    def close(self) -> None:
        self.writer.close()
        self.sink.close()


class DataFiles:
    """Parquet files for one run in a table's folder, rotated at ``target_file_size``, one set per partition."""

    def __init__(self, folder: Path, schema: pa.Schema, partition_by: list[str], run_tag: str,
                 target_file_size: int, compression: str, compression_level: int | None, durable: bool):
        self.folder = folder
        self.partition_by = partition_by
        self.file_schema = pa.schema([f for f in schema if f.name not in partition_by])
        self.run_tag = run_tag
        self.target_file_size = target_file_size
        self.codec = compression
        self.options: dict[str, Any] = {
            "compression": compression, "compression_level": compression_level,
            "dictionary_pagesize_limit": DICTIONARY_PAGE_BYTES, "write_page_checksum": True}
        self.durable = durable
        self.kinds = {f.name: kind for f in list(self.file_schema)[:STATS_COLUMNS]
                      if (kind := _stats_kind(f.type)) is not None}
        self.open: dict[tuple[str | None, ...], _Open] = {}
        self.done: list[DataFile] = []
        self.number = 0

    def name(self) -> str:
        codec = "" if self.codec == "none" else f".{self.codec}"
        self.number += 1
        return f"part-{self.number - 1:05d}-{self.run_tag}-c000{codec}.parquet"

    def write(self, batch: pa.RecordBatch) -> None:
        for values, rows in self._split(batch):
            current = self.open.get(values)
            if current is None:
                relative = (partition_folder(self.partition_by, list(values)) + "/" if values else "") + self.name()
                current = _Open(self.folder / relative, self.file_schema, self.options, _Stats(self.kinds))
                self.open[values] = current
            current.writer.write_batch(rows)
            current.stats.add(rows)
            if current.sink.tell() >= self.target_file_size:
                self._finish(values)

    def _split(self, batch: pa.RecordBatch) -> Iterator[tuple[tuple[str | None, ...], pa.RecordBatch]]:
        """The batch's rows per partition (one take per partition, never per row), without partition columns."""
        data = [n for n in batch.schema.names if n not in self.partition_by]
        if not self.partition_by:
            yield (), batch
            return
        import pyarrow.compute as pc

        ones = pa.repeat(pa.scalar(1, pa.int64()), batch.num_rows)
        keys = pa.Table.from_batches([batch.select(self.partition_by)]).append_column(
            "_hygge_row", pc.subtract(pc.cumulative_sum(ones), 1))
        groups = keys.group_by(self.partition_by, use_threads=False).aggregate([("_hygge_row", "list")])
        rows = groups.column("_hygge_row_list")
        for i in range(groups.num_rows):
            values = tuple(partition_value(groups.column(c)[i].as_py()) for c in self.partition_by)
            yield values, batch.select(data).take(rows[i].values)

    def _finish(self, values: tuple[str | None, ...]) -> None:
        current = self.open.pop(values)
        current.close()
        if self.durable:
            fd = os.open(current.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        stat = current.path.stat()
        relative = current.path.relative_to(self.folder).as_posix()
        self.done.append(DataFile(
            path=relative, local=current.path, size=stat.st_size, rows=current.stats.rows,
            partition_values=dict(zip(self.partition_by, values, strict=True)),
            modification_time=stat.st_mtime_ns // 10**6, stats=current.stats.to_json()))

    def close(self) -> list[DataFile]:
        for values in list(self.open):
            self._finish(values)
        return self.done

    @property
    def bytes_written(self) -> int:
        return sum(f.size for f in self.done) + sum(o.sink.tell() for o in self.open.values())

    def abandon(self) -> None:
        for current in self.open.values():
            try:
                current.close()
            except (OSError, pa.ArrowException):
                pass
            self.done.append(DataFile("", current.path, 0, 0, {}, 0, ""))
        self.open.clear()
        for done in self.done:
            try:
                done.local.unlink()
            except OSError:
                pass  # the next run's healing removes it
        self.done = []
