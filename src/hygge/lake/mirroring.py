"""The Fabric Open Mirroring landing-zone format: names, the row marker, and the column types it takes.

Published format (Microsoft Fabric, "Open mirroring landing zone requirements and format"):

- one folder per table in the landing zone, optionally inside a ``<schema>.schema`` folder;
- ``_metadata.json`` in each table folder, with ``keyColumns``; once set they cannot change;
- data files named by a 20-digit sequence, ``00000000000000000001.parquet`` first, continuous numbers;
  the mirror deletes processed files but leaves the last one, for the next number;
- ``__rowMarker__`` the last column: 0 insert, 1 update, 2 delete, 4 upsert; optional (and not
  recommended) in the initial load, which the mirror reads as inserts;
- parquet uncompressed or with Snappy, GZIP or ZSTD; simple parquet types; complex types as JSON text;
- ``_partnerEvents.json`` at the mirrored database level (the landing zone's root), recommended.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from hygge.core.arrowtypes import as_type, extension_name, type_name, uuid_text

ROW_MARKER = "__rowMarker__"
INSERT, UPDATE, DELETE, UPSERT = 0, 1, 2, 4
SEQUENCE = re.compile(r"^\d{20}\.parquet$")
# Where the mirror moves the files it has processed (the last one stays in the table folder).
PROCESSED = ("_ProcessedFiles", "_FilesReadyToDelete")
KEY_METADATA = "_metadata.json"
PARTNER_EVENTS = "_partnerEvents.json"


class Refused(Exception):
    pass


def file_name(sequence: int) -> str:
    return f"{sequence:020d}.parquet"


def sequence_files(folder: Path) -> list[tuple[int, Path]]:
    """Every numbered data file of a table, in the folder or moved aside by the mirror, by number."""
    found = []
    for where in (folder, *(folder / p for p in PROCESSED)):
        if where.is_dir():
            found += [(int(p.name[:20]), p) for p in where.iterdir() if SEQUENCE.match(p.name)]
    return sorted(found)


def _nested(t: pa.DataType) -> bool:
    return pa.types.is_nested(t) and not pa.types.is_dictionary(t)


def landing_type(t: pa.DataType) -> pa.DataType:
    """The parquet column type the mirror takes for ``t`` (every value kept), or Refused saying why."""
    name = extension_name(t)
    if name in ("arrow.uuid", "arrow.json"):
        return pa.string()
    if name is not None:
        raise Refused(f"the extension type {name} has no Open Mirroring type")
    if pa.types.is_dictionary(t):
        return landing_type(t.value_type)
    if _nested(t):
        return pa.string()  # the format's rule: complex types as JSON text
    if pa.types.is_null(t):
        raise Refused("a column of nulls only has no type")
    if pa.types.is_unsigned_integer(t):
        return {8: pa.int16(), 16: pa.int32(), 32: pa.int64(), 64: pa.decimal128(20, 0)}[t.bit_width]
    if pa.types.is_floating(t):
        return pa.float32() if t.bit_width <= 32 else pa.float64()
    if pa.types.is_decimal(t):
        if t.precision > 38:
            raise Refused(f"decimal({t.precision},{t.scale}) has more than 38 digits")
        return pa.decimal128(t.precision, t.scale)
    if pa.types.is_timestamp(t):
        if t.unit == "ns":
            raise Refused("timestamp[ns] has nanoseconds; the mirrored Delta table keeps microseconds")
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if pa.types.is_time(t):
        if t.unit == "ns":
            raise Refused("time64[ns] has nanoseconds; the mirrored table keeps microseconds")
        return pa.time64("us")
    if pa.types.is_duration(t):
        return pa.int64()
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)
            or pa.types.is_fixed_size_binary(t)):
        return pa.binary()
    if pa.types.is_boolean(t) or pa.types.is_signed_integer(t):
        return t
    raise Refused(f"{type_name(t)} has no Open Mirroring type")


def landing_schema(schema: pa.Schema) -> tuple[pa.Schema, list[str]]:
    fields, problems = [], []
    for field in schema:
        try:
            fields.append(pa.field(field.name, landing_type(field.type)))
        except Refused as exc:
            problems.append(f"{field.name}: {exc}")
    return pa.schema(fields), problems


def json_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Lists, structs and maps as JSON text, null staying null (polars encodes, no Python per row)."""
    from hygge.core import lazy

    pl = lazy.polars()
    series = pl.from_arrow(column)
    assert isinstance(series, pl.Series)
    frame = pl.DataFrame({"v": series})
    if isinstance(series.dtype, pl.Struct):
        encoded = pl.col("v").struct.json_encode()
    else:  # wrapped in a struct to be encoded, then unwrapped: '{"v":' ... '}'
        encoded = pl.struct("v").struct.json_encode().str.slice(5).str.head(-1)
    text = frame.select(pl.when(pl.col("v").is_null()).then(None).otherwise(encoded).alias("v")).to_series()
    return text.to_arrow().cast(pa.string())


def to_landing(batch: pa.RecordBatch, source: pa.Schema, physical: pa.Schema) -> list[pa.Array]:
    """The batch's columns in the landing zone's types."""
    arrays = []
    for field, out in zip(source, physical, strict=True):
        column = batch.column(field.name)
        if pa.types.is_dictionary(field.type):
            column = column.cast(field.type.value_type)
        if extension_name(field.type) == "arrow.uuid":
            arrays.append(uuid_text(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column))
        elif _nested(column.type):
            arrays.append(json_text(column))
        else:
            arrays.append(as_type(column, out.type))
    return arrays
