"""Arrow types as a Delta table holds them, and back.

Delta has fewer types than Arrow: no unsigned integers, no half floats, no time of day, no durations,
timestamps only in microseconds (naive: ``timestamp_ntz``; with a zone: UTC). hygge stores such a
column in the nearest Delta type that holds every value exactly, and records the Arrow type in the
column's metadata (``hygge.arrow``), so a hygge Home reads it back as it was; other engines see the
Delta type. What no Delta type can hold exactly (nanosecond timestamps, decimals above 38 digits,
columns of nulls only, intervals) is refused before anything is written, naming the column.

| Arrow | Delta | others read |
| --- | --- | --- |
| uint8 / uint16 / uint32 | short / integer / long | the wider signed integer |
| uint64 | decimal(20,0) | the decimal |
| float16 | float | float |
| time32 / time64 | string `HH:MM:SS[.fff…]` (fixed width per unit, so it sorts) | the text |
| duration(unit) | long, the count of the unit | the count |
| timestamp(s / ms) | timestamp_ntz / timestamp in microseconds | microseconds |
| timestamp with another zone than UTC | timestamp (the same instant) | UTC |
| large / view strings and binaries, fixed-size binary | string / binary | string / binary |
| date64 | date | date |
| decimal256 with at most 38 digits | decimal(p,s) | decimal |
| uuid / json | binary (16 bytes) / string | binary / text |
| dictionary | its value type | the values |
"""

from __future__ import annotations

import base64

import pyarrow as pa

from hygge.core.arrowtypes import as_type, extension_name, from_text, type_name
from hygge.errors import WriteError, first_line

ARROW_KEY = "hygge.arrow"  # the Arrow field as it was, serialized (exact), when the Delta type cannot say it
TYPE_KEY = "hygge.type"  # the same type by name, for people reading the table's schema
DELTA_DECIMAL_DIGITS = 38


class Unsupported(Exception):
    """A column no Delta type holds exactly; the message says why."""


def _scalar(t: pa.DataType, nested: bool) -> pa.DataType:
    if pa.types.is_null(t):
        raise Unsupported("a column of nulls only has no Delta type")
    if pa.types.is_boolean(t) or pa.types.is_signed_integer(t):
        return t
    if pa.types.is_unsigned_integer(t):
        return {8: pa.int16(), 16: pa.int32(), 32: pa.int64(), 64: pa.decimal128(20, 0)}[t.bit_width]
    if pa.types.is_floating(t):
        return pa.float32() if t.bit_width <= 32 else pa.float64()
    if pa.types.is_decimal(t):
        if t.precision > DELTA_DECIMAL_DIGITS:
            raise Unsupported(f"decimal({t.precision},{t.scale}) has more than the {DELTA_DECIMAL_DIGITS} digits "
                              "a Delta decimal holds")
        if t.scale < 0:
            raise Unsupported(f"decimal({t.precision},{t.scale}) has a negative scale, which Delta does not allow")
        return pa.decimal128(t.precision, t.scale)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)
            or pa.types.is_fixed_size_binary(t)):
        return pa.binary()
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_timestamp(t):
        # Nanosecond columns whose values are whole microseconds (what most readers infer for any timestamp text)
        # are kept exactly; a value with nanoseconds fails the write, naming the column (to_delta).
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if nested and (pa.types.is_time(t) or pa.types.is_duration(t)):
        raise Unsupported(f"{type_name(t)} inside a list, struct or map has no Delta type hygge can read back")
    if pa.types.is_time(t):
        return pa.string()
    if pa.types.is_duration(t):
        return pa.int64()
    raise Unsupported(f"{type_name(t)} has no Delta type")


def delta_type(t: pa.DataType, nested: bool = False) -> pa.DataType:
    """The Delta-compatible Arrow type that holds every value of ``t`` exactly; Unsupported otherwise."""
    name = extension_name(t)
    if name is not None:
        if nested:
            raise Unsupported(f"{name} inside a list, struct or map has no Delta type hygge can read back")
        if name == "arrow.uuid":
            return pa.binary()
        if name == "arrow.json":
            return pa.string()
        raise Unsupported(f"the extension type {name} has no Delta type")
    if pa.types.is_dictionary(t):
        return delta_type(t.value_type, nested)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_large_list_view(
            t) or pa.types.is_fixed_size_list(t):
        return pa.list_(pa.field("element", delta_type(t.value_type, True)))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, delta_type(f.type, True)) for f in t])
    if pa.types.is_map(t):
        return pa.map_(delta_type(t.key_type, True), delta_type(t.item_type, True))
    if pa.types.is_union(t) or pa.types.is_interval(t):
        raise Unsupported(f"{type_name(t)} has no Delta type")
    return _scalar(t, nested)


def _describe(field: pa.Field) -> dict[bytes, bytes]:
    """Field metadata that lets a hygge Home restore the Arrow type exactly."""
    plain = pa.field(field.name, field.type)
    return {ARROW_KEY.encode(): base64.b64encode(pa.schema([plain]).serialize().to_pybytes()),
            TYPE_KEY.encode(): type_name(field.type).encode()}


def delta_schema(schema: pa.Schema) -> tuple[pa.Schema, list[str]]:
    """The schema as the Delta table holds it (every column nullable), and the columns it cannot hold."""
    fields, problems = [], []
    for field in schema:
        try:
            physical = delta_type(field.type)
        except Unsupported as exc:
            problems.append(f"{field.name}: {exc}")
            continue
        metadata = None if physical == field.type else _describe(field)
        fields.append(pa.field(field.name, physical, nullable=True, metadata=metadata))
    return pa.schema(fields), problems


def to_delta(batch: pa.RecordBatch, physical: pa.Schema) -> pa.RecordBatch:
    """The batch in the table's types. Arrow's casts are exact by construction, or fail: a nanosecond value."""
    arrays, problems = [], []
    for f in physical:
        try:
            arrays.append(as_type(batch.column(f.name), f.type))
        except pa.ArrowInvalid as exc:
            problems.append(f"{f.name}: {first_line(exc)}")
    if problems:
        raise WriteError("some values cannot be held by the Delta table exactly; nothing was committed",
                         expected="timestamps in whole microseconds: Delta keeps microseconds, not nanoseconds",
                         found="; ".join(problems),
                         hint="round the column at the source (a `query:` or a polish cast), or write it elsewhere")
    return pa.RecordBatch.from_arrays(arrays, schema=physical)


def original_field(field: pa.Field) -> pa.Field:
    """The Arrow field a Delta column stands for: as recorded by hygge, or the Delta type itself."""
    recorded = (field.metadata or {}).get(ARROW_KEY.encode())
    if recorded is None:
        return pa.field(field.name, field.type)
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(recorded)))
    return pa.field(field.name, schema.field(0).type)


def hygge_schema(physical: pa.Schema) -> pa.Schema:
    """The table's columns in the types hygge wrote them with (what a Home hands on and drift compares)."""
    return pa.schema([original_field(f) for f in physical])


def restore(array: pa.Array | pa.ChunkedArray, dtype: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """A column as read from the table, in the type it was written with."""
    if array.type == dtype:
        return array
    if pa.types.is_time(dtype):
        return from_text(array, dtype)  # written as Arrow's own fixed-width text of the time
    return as_type(array, dtype)


def same_as_written(physical: pa.Schema) -> bool:
    """Whether every column reads back in its Delta type (nothing to restore)."""
    return all(ARROW_KEY.encode() not in (f.metadata or {}) for f in physical)
