"""Which engine decodes a parquet file's pages for hygge's reader, and polars' side of it.

pyarrow's parquet reader spends about twice the CPU of polars' on the same pages: 10.5 CPU-seconds against 5.2
(with the conversion to Arrow) for the 200-column benchmark table, 3.2 against 1.8 for 10M mixed rows; strings
most of all (6.4 against 2.7 for 50M short strings). On two cores that the reader and the writer share, those
seconds are the move's. So a big file is decoded by polars, one row group at a time, and handed on as Arrow
batches cast to exactly the types hygge planned with; pyarrow decodes everything else.

pyarrow stays the decoder where it does something polars does not:

- pages that carry checksums (hygge's own parts, files written with ``write_page_checksum``): pyarrow verifies
  them, polars would not, so a damaged page is an error instead of wrong values;
- types polars does not read as the same Arrow type (nested, dictionary, float16, seconds, fixed offsets...),
  and INT96 timestamps (whose unit pyarrow chooses);
- row groups above ROW_GROUP_BYTES decoded: polars decodes a row group at once (slices of one cost it the whole
  group again), so the memory held is a row group's, where pyarrow's is a page per column;
- files below SMALL_FILE_BYTES stored, under ``decoder: auto``: importing polars (0.09 s) costs more there than
  it saves.

When polars fails on a row group (a damaged page, text that is not UTF-8, a panic), pyarrow reads the file from
that row group on: it either reads the rows or says exactly what is wrong with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.core import lazy
from hygge.errors import first_line
from hygge.formats.parquet_footer import pages_carry_checksums
from hygge.storage.blob import FilePath, local

SMALL_FILE_BYTES = 64 * 2**20
ROW_GROUP_BYTES = 256 * 2**20


def _exact(kind: pa.DataType) -> bool:
    """Types polars reads and writes as the same parquet types Arrow uses (checked by tests, value for value)."""
    t = pa.types
    if t.is_integer(kind) or (t.is_floating(kind) and not t.is_float16(kind)) or t.is_boolean(kind):
        return True
    if t.is_date32(kind):
        return True
    if t.is_string(kind) or t.is_large_string(kind) or t.is_binary(kind) or t.is_large_binary(kind):
        return True
    if t.is_timestamp(kind):
        # polars has no seconds, and knows time zones by IANA name only (a fixed offset like -05:30 makes it panic)
        return kind.unit != "s" and (kind.tz is None or _named_zone(kind.tz))
    return t.is_decimal128(kind)


@cache
def _named_zone(name: str) -> bool:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)  # reads one file (listing every zone costs 30 ms)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def polars_can_encode(schema: pa.Schema) -> bool:
    """Whether polars writes every column of ``schema`` as parquet that reads back with exactly its type."""
    return all(_exact(field.type) for field in schema)


def stored_bytes(group: pq.RowGroupMetaData) -> int:
    return sum(group.column(i).total_compressed_size for i in range(group.num_columns))



def polars_decodes(setting: str, path: FilePath, meta: pq.FileMetaData, file_schema: pa.Schema,
                   schema: pa.Schema, row_groups: list[int]) -> bool:
    """Whether polars decodes these ``row_groups`` of the file for a move planned with ``schema``."""
    if setting == "pyarrow" or not row_groups or local(path) is None:
        return False  # polars reads local files only here: objects on a bucket go to pyarrow
    groups = [meta.row_group(i) for i in row_groups]
    if setting == "auto" and sum(stored_bytes(g) for g in groups) < SMALL_FILE_BYTES:
        return False
    if max(g.total_byte_size for g in groups) > ROW_GROUP_BYTES:
        return False
    if any(meta.schema.column(i).physical_type == "INT96" for i in range(meta.num_columns)):
        return False
    names = set(file_schema.names)
    if not all(name in names for name in schema.names):
        return False
    if not (polars_can_encode(schema) and polars_can_encode(pa.schema([file_schema.field(n) for n in schema.names]))):
        return False
    return not pages_carry_checksums(path, meta)


def polars_row_groups(path: Path, meta: pq.FileMetaData, schema: pa.Schema, row_groups: list[int],
                      done: list[int]) -> Iterator[pa.Table]:
    """The ``row_groups`` of the file, each decoded by polars and cast to ``schema``, in order; the index of each
    row group given is appended to ``done``. Raises PolarsDecodeFailed for the first row group polars cannot
    decode, before any of its rows are given."""
    pl = lazy.polars()
    starts = [0]
    for i in range(meta.num_row_groups):
        starts.append(starts[-1] + meta.row_group(i).num_rows)
    # No globbing and no hive columns: the path is a file hygge listed, read as it is.
    frame = pl.scan_parquet(str(path), glob=False, hive_partitioning=False).select(schema.names)
    for index in row_groups:
        try:
            decoded = frame.slice(starts[index], starts[index + 1] - starts[index]).collect()
            table = decoded.to_arrow().cast(schema)
        except (Exception, pl.exceptions.PanicException) as exc:  # a polars panic is a BaseException
            raise PolarsDecodeFailed(index, first_line(exc)[:300]) from exc
        del decoded
        yield table
        done.append(index)


class PolarsDecodeFailed(Exception):
    """Polars could not decode a row group; pyarrow reads the file from there on."""

    def __init__(self, row_group: int, reason: str):
        super().__init__(reason)
        self.row_group = row_group
        self.reason = reason
