"""Merge (upsert by keys) into an Iceberg table as ONE overwrite snapshot, copy-on-write.

pyiceberg's ``Table.upsert`` takes the whole change set as one ``pa.Table``, refuses duplicate keys and
commits a delete and an append snapshot. hygge merges the rows it staged as data files:

1. the incoming rows' keys, watermark and delete flag are read back (only those columns); per key the
   latest watermark wins (nulls lose), then the newest arrival (file, then row, in arrival order);
2. where every row wins and none deletes, the staged files are the rows to insert as they are;
   otherwise each staged file is rewritten with its winning rows only;
3. every data file of the table that may hold one of the keys (pruned by the files' key ranges) has its
   key columns read; a file holding matched keys is rewritten without those rows, file by file.

The commit then deletes the rewritten table files and adds the new ones in one snapshot. Step 3 is
planned against the snapshot the commit is made on, so a retried commit plans it again.
Memory: the keys of the incoming rows, and one file's batch at a time.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from hygge.core.arrowtypes import extension_name
from hygge.errors import WriteError
from hygge.lake.iceberg_files import DataFileWriter, task_batches

if TYPE_CHECKING:
    from pyiceberg.io import FileIO
    from pyiceberg.manifest import DataFile
    from pyiceberg.schema import Schema
    from pyiceberg.table.metadata import TableMetadata

_FILE, _ROW, _HAS = "__hygge_file", "__hygge_row", "__hygge_has_watermark"


@dataclass
class Incoming:
    """The staged rows after step 1 and 2: what to insert, and every key the rows name."""

    inserts: list[DataFile]
    keys: pa.Table  # distinct keys, deletes included: the target rows they replace or remove
    rows: int  # rows to insert
    discard: list[str] = field(default_factory=list)  # staged files replaced by their winners


@dataclass
class Rewrite:
    deleted: list[DataFile]
    added: list[DataFile]
    removed_rows: int


def _task(data_file: DataFile) -> Any:
    from pyiceberg.table import FileScanTask

    return FileScanTask(data_file)


def _joinable(table: pa.Table) -> pa.Table:
    """Key columns as types Arrow's hash join takes (extension types by their storage)."""
    columns = [c.cast(c.type.storage_type) if extension_name(c.type) else c for c in table.columns]
    return pa.table(columns, names=table.column_names)


def _counting(start: int, count: int) -> pa.Array:
    """start, start + 1, ... (count values), without a Python loop."""
    import pyarrow.compute as pc

    return pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), count)), start - 1)


def _positions(metadata: TableMetadata, io: FileIO, tasks: list[Any], projected: Schema) -> pa.Table:
    """The projected columns of the tasks' rows, with each row's file number and position in its file."""
    parts = []
    for number, task in enumerate(tasks):
        start = 0
        for batch in task_batches(metadata, io, task, projected):
            table = pa.Table.from_batches([batch])
            table = table.append_column(_FILE, pa.repeat(pa.scalar(number, pa.int32()), batch.num_rows))
            parts.append(table.append_column(_ROW, _counting(start, batch.num_rows)))
            start += batch.num_rows
    return pa.concat_tables(parts) if parts else pa.table({})


def _last_of_each_key(table: pa.Table, keys: list[str]) -> pa.Array:
    """Mask of the last row of each run of equal keys, in a table sorted by its keys."""
    import pyarrow.compute as pc

    n = table.num_rows
    if n == 0:
        return pa.array([], pa.bool_())
    changes = [pc.not_equal(table.column(k).slice(0, n - 1), table.column(k).slice(1)) for k in keys]
    differs = functools.reduce(pc.or_, changes) if changes else pa.array([False] * (n - 1))
    return pa.concat_arrays([pc.fill_null(differs, True).combine_chunks(), pa.array([True])])


def incoming(metadata: TableMetadata, io: FileIO, staged: list[DataFile], schema: Schema, keys: tuple[str, ...],
             watermark: str | None, delete_column: str | None, writer: Callable[[str], DataFileWriter],
             entity: str, where: str) -> Incoming:
    """Steps 1 and 2: one winning row per key among the staged rows."""
    import pyarrow.compute as pc

    wanted = [*keys, *(c for c in (watermark, delete_column) if c and c not in keys)]
    seen = _positions(metadata, io, [_task(f) for f in staged], schema.select(*wanted))
    if not seen.num_rows:
        return Incoming(staged, pa.table({k: [] for k in keys}), 0)
    nulls = {k: seen.column(k).null_count for k in keys if seen.column(k).null_count}
    if nulls:
        raise WriteError(
            "merge keys must identify every row, but some are null; nothing was committed",
            entity=entity, path=where, expected=f"non-null values in {', '.join(keys)}",
            found=", ".join(f"{n:,} row(s) with {k} null" for k, n in nulls.items()),
            hint="fix those rows at the source, or choose `keys` that are never null")
    joinable = _joinable(seen.select(list(keys)))
    for k in keys:
        seen = seen.set_column(seen.column_names.index(k), k, joinable.column(k))
    order = [(k, "ascending") for k in keys]
    if watermark:  # a null watermark loses to any value: rank by "has one" before the value itself
        seen = seen.append_column(_HAS, pc.is_valid(seen.column(watermark)))
        order += [(_HAS, "ascending"), (watermark, "ascending")]
    order += [(_FILE, "ascending"), (_ROW, "ascending")]
    ranked = seen.take(pc.sort_indices(seen, sort_keys=order))
    winners = ranked.filter(_last_of_each_key(ranked, list(keys)))
    distinct = winners.select(list(keys))
    if delete_column:
        winners = winners.filter(pc.invert(pc.fill_null(winners.column(delete_column), False)))
    if winners.num_rows == seen.num_rows:
        return Incoming(staged, distinct, winners.num_rows)
    out = writer("w")
    for number, data_file in enumerate(staged):
        keep = winners.filter(pc.equal(winners.column(_FILE), number)).column(_ROW).combine_chunks()
        if len(keep):
            _copy(metadata, io, _task(data_file), schema, pc.is_in(_counting(0, data_file.record_count), keep), out)
    inserts = out.close()
    return Incoming(inserts, distinct, winners.num_rows, discard=[f.file_path for f in staged])


def _key_range(keys: pa.Table) -> Any:
    """A filter that keeps the table files whose key ranges overlap the incoming keys (a superset)."""
    import pyarrow.compute as pc
    from pyiceberg.expressions import AlwaysTrue, GreaterThanOrEqual, LessThanOrEqual

    tests: list[Any] = []
    try:
        for name in keys.column_names:
            low, high = pc.min_max(keys.column(name)).values()
            if not (isinstance(low.as_py(), (int, str)) and isinstance(high.as_py(), (int, str))):
                continue  # ranges of other types are not worth the literal conversions
            tests += [GreaterThanOrEqual(term=name, value=low.as_py()), LessThanOrEqual(term=name, value=high.as_py())]
    except (ValueError, TypeError, pa.ArrowException):
        return AlwaysTrue()
    return functools.reduce(operator.and_, tests) if tests else AlwaysTrue()


def rewrite(metadata: TableMetadata, io: FileIO, schema: Schema, keys: pa.Table,
            writer: Callable[[str], DataFileWriter], tag: str) -> Rewrite:
    """Step 3, on the snapshot in ``metadata``: the table files that hold incoming keys, without those rows."""
    import pyarrow.compute as pc
    from pyiceberg.table import DataScan

    if not keys.num_rows or metadata.current_snapshot() is None:
        return Rewrite([], [], 0)
    names = keys.column_names
    tasks = DataScan(table_metadata=metadata, io=io, row_filter=_key_range(keys)).plan_files()
    deleted: list[DataFile] = []
    removed = 0
    out = writer(tag)
    for task in tasks:
        seen = _positions(metadata, io, [task], schema.select(*names))
        if not seen.num_rows:
            continue
        probe = _joinable(seen.select(names)).append_column(_ROW, seen.column(_ROW))
        matched = probe.join(keys, keys=names, join_type="left semi").column(_ROW).combine_chunks()
        if not len(matched):
            continue
        deleted.append(task.file)
        removed += len(matched)
        keep = pc.invert(pc.is_in(_counting(0, seen.num_rows), matched))
        del seen, probe
        _copy(metadata, io, task, schema, keep, out)
    return Rewrite(deleted, out.close(), removed)


def _copy(metadata: TableMetadata, io: FileIO, task: Any, schema: Schema, keep: pa.Array,
          out: DataFileWriter) -> None:
    """The rows of one file that ``keep`` (a mask over the whole file) keeps, batch by batch, into ``out``.

    A file in exactly the table's current file schema and without delete files is copied with pyarrow's own
    streaming reader (a few row groups in memory); anything else goes through pyiceberg's projection."""
    import pyarrow.parquet as pq

    start = 0
    if not task.delete_files:
        with io.new_input(task.file.file_path).open() as stream:
            parquet = pq.ParquetFile(stream)
            if parquet.schema_arrow.equals(out.arrow, check_metadata=True):
                for batch in parquet.iter_batches(batch_size=64 * 1024):
                    out.write(batch.filter(keep.slice(start, batch.num_rows)))
                    start += batch.num_rows
                return
    for batch in task_batches(metadata, io, task, schema):
        out.write(batch.filter(keep.slice(start, batch.num_rows)))
        start += batch.num_rows
