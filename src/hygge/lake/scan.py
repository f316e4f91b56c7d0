"""Reading a Delta table's data files one by one, in byte-bounded batches, in the table's own types."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.errors import ReadError, first_line
from hygge.formats.base import within_budget
from hygge.formats.parquet import READ_BUFFER_BYTES, decoded_batch_rows
from hygge.lake.types import restore


def plain_schema(physical: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type) for f in physical])


def _partition_array(value: str | None, dtype: pa.DataType, rows: int) -> pa.Array:
    if value is None:
        return pa.nulls(rows, dtype)
    return pa.repeat(pa.scalar(value).cast(dtype), rows)


Opener = Callable[[str], tuple[Any, str]]  # a data file's relative path -> what parquet opens, and its name


def file_batches(folder: Path | Opener, path: str, partition_values: dict[str, str | None], physical: pa.Schema,
                 batch_bytes: int, extra: list[pa.Field] | None = None) -> Iterator[pa.RecordBatch]:
    """The rows of one data file (``path`` as the log spells it) with every column of the table: partition
    values filled in, columns the file predates as nulls. ``extra`` columns of the file come last (CDC files)."""
    shown = str(folder / unquote(path)) if isinstance(folder, Path) else unquote(path)
    schema = plain_schema(physical)
    fields = [*schema, *(extra or [])]
    try:
        local, shown = (folder / unquote(path), shown) if isinstance(folder, Path) else folder(unquote(path))
        handle = pq.ParquetFile(local, pre_buffer=False, buffer_size=READ_BUFFER_BYTES,
                                coerce_int96_timestamp_unit="us")
    except FileNotFoundError as exc:
        raise ReadError("a data file the table's log names is missing", path=shown,
                        expected="every file of the version being read",
                        found="no such file (removed by VACUUM, or by hand)",
                        hint="read a newer version of the table, or restore the file") from exc
    except (pa.ArrowException, OSError) as exc:
        raise ReadError("a data file of the table is not readable parquet", path=shown,
                        found=first_line(exc), hint="check the table with the engine that wrote it") from exc
    present = set(handle.schema_arrow.names)
    columns = [f.name for f in fields if f.name in present and f.name not in partition_values]
    try:
        for batch in handle.iter_batches(batch_size=decoded_batch_rows(handle, columns, batch_bytes),
                                         columns=columns, use_threads=True):
            rows = batch.num_rows
            arrays: list[Any] = []
            for f in fields:
                if f.name in partition_values:
                    arrays.append(_partition_array(partition_values[f.name], f.type, rows))
                elif f.name in present:
                    column = batch.column(f.name)
                    arrays.append(column if column.type == f.type else column.cast(f.type))
                else:
                    arrays.append(pa.nulls(rows, f.type))
            yield from within_budget(pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields)), batch_bytes)
    except (pa.ArrowException, OSError) as exc:
        raise ReadError("a data file of the table could not be decoded", path=shown, found=first_line(exc),
                        hint="check the table with the engine that wrote it") from exc


def restored(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """A batch in the table's types, in the Arrow types hygge wrote (lake/types.py); other columns stay."""
    arrays = [restore(batch.column(f.name), f.type) for f in target]
    return pa.RecordBatch.from_arrays(arrays, schema=target)
