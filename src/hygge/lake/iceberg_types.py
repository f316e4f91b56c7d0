"""Arrow types in Iceberg tables: each column stored exactly, in the nearest lossless Iceberg type, or refused.

Iceberg has fewer types than Arrow. hygge stores a column whose Arrow type has no Iceberg twin in a type
that holds every one of its values (unsigned integers in wider signed ones or decimal(20,0), durations as
a count of their unit, JSON as string, zoned timestamps as UTC instants), and records the exact Arrow
schema in the table property ``hygge.arrow-schema``, so hygge's own Home reads the column back exactly
while every other engine reads the stored type. A type no Iceberg column can hold without loss is refused
before anything is written, naming the column (docs/types.md has the table).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from hygge.core.arrowtypes import as_type, extension_name, type_name

if TYPE_CHECKING:
    from pyiceberg.schema import Schema

ARROW_SCHEMA = "hygge.arrow-schema"


class Unsupported(ValueError):
    """A type no Iceberg column holds without loss; the message says why and what to do."""


def _stored(t: pa.DataType, version: int) -> pa.DataType:
    """An Arrow type pyiceberg maps to an Iceberg type that holds every value of ``t``."""
    ext = extension_name(t)
    if ext == "arrow.uuid":
        return t
    if ext == "arrow.json":
        return pa.large_string()
    if ext:
        raise Unsupported(f"Iceberg has no type for the Arrow extension type {ext}")
    if pa.types.is_null(t):
        if version >= 3:
            return t
        raise Unsupported("Iceberg v2 has no null type (v3 has; pyiceberg writes v2 tables only)")
    if pa.types.is_boolean(t) or t in (pa.int32(), pa.int64(), pa.float32(), pa.float64()):
        return t
    if t in (pa.int8(), pa.int16(), pa.uint8(), pa.uint16()):
        return pa.int32()
    if t == pa.uint32():
        return pa.int64()
    if t == pa.uint64():
        return pa.decimal128(20, 0)
    if t == pa.float16():
        return pa.float32()
    if pa.types.is_decimal(t):
        if t.precision > 38:
            raise Unsupported(f"Iceberg decimals hold at most 38 digits; this one has {t.precision}")
        return pa.decimal128(t.precision, t.scale)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.large_string()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.large_binary()
    if pa.types.is_fixed_size_binary(t):
        return t
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_time(t):
        if t.unit == "ns":
            raise Unsupported("Iceberg keeps times of day in microseconds; this column has nanoseconds")
        return pa.time64("us")
    if pa.types.is_timestamp(t):
        zone = "UTC" if t.tz else None
        if t.unit != "ns":
            return pa.timestamp("us", zone)
        if version >= 3:
            return pa.timestamp("ns", zone)
        # A nanosecond column whose values are whole microseconds (what csv and jsonl Homes infer) is kept
        # exactly; a value with nanoseconds fails the write, naming the column (to_file).
        return pa.timestamp("us", zone)
    if pa.types.is_duration(t):
        return pa.int64()
    if pa.types.is_dictionary(t):
        return _stored(t.value_type, version)
    if (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
            or pa.types.is_list_view(t) or pa.types.is_large_list_view(t)):
        item = t.value_field
        return pa.large_list(pa.field("element", _stored(item.type, version), item.nullable))
    if pa.types.is_map(t):
        return pa.map_(pa.field("key", _stored(t.key_type, version), False),
                       pa.field("value", _stored(t.item_type, version), t.item_field.nullable))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _stored(f.type, version), f.nullable) for f in t])
    raise Unsupported(f"Iceberg has no type for {type_name(t)}")


def stored_schema(schema: pa.Schema, version: int) -> tuple[pa.Schema, list[str]]:
    """The Arrow schema as Iceberg stores it, and one problem per column it cannot hold."""
    fields, problems = [], []
    for f in schema:
        try:
            fields.append(pa.field(f.name, _stored(f.type, version), f.nullable))
        except Unsupported as exc:
            problems.append(f"{f.name} ({type_name(f.type)}): {exc}")
    return pa.schema(fields), problems


def to_iceberg(stored: pa.Schema, version: int) -> Schema:
    """The Iceberg schema of a stored Arrow schema, with field ids as a new table would number them."""
    from pyiceberg.io.pyarrow import _pyarrow_to_schema_without_ids
    from pyiceberg.schema import assign_fresh_schema_ids

    return assign_fresh_schema_ids(_pyarrow_to_schema_without_ids(stored, format_version=version))  # type: ignore[arg-type]


def read_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema pyiceberg reads an Iceberg schema as (strings and lists as their large kinds)."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    return schema_to_pyarrow(schema, include_field_ids=False)


def file_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema of hygge's data files: field ids on every column, names as pyiceberg writes them."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow
    from pyiceberg.schema import sanitize_column_names

    return schema_to_pyarrow(sanitize_column_names(schema), include_field_ids=True)


def to_file(batch: pa.RecordBatch, schema: pa.Schema, exact: pa.Schema, entity: str) -> pa.RecordBatch:
    """A batch of rows in the table's order and stored types, for a data file of ``schema``.

    ``exact`` is the table's Arrow schema; a column of the rows that differs from it is a conversion the
    Move already allowed (drift), and its stored type is taken from ``exact``."""
    from hygge.errors import WriteError

    arrays = []
    for exact_field, target in zip(exact, schema, strict=True):
        name = exact_field.name
        column = batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows, exact_field.type)
        try:
            if column.type != exact_field.type:
                column = as_type(column, exact_field.type)
            arrays.append(as_type(as_type(column, _stored(exact_field.type, 3)), target.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise WriteError(
                f"column {name} cannot be stored in Iceberg without changing a value; nothing was committed",
                entity=entity, expected=f"values a {type_name(exact_field.type)} column stores exactly" + (
                    " (Iceberg v2 keeps timestamps in microseconds)" if pa.types.is_timestamp(exact_field.type)
                    else ""),
                found=str(exc).splitlines()[0][:200],
                hint="cast the column at the source, or drop it with `polish: drop: [...]`") from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def encode(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode()


def decode(text: str | None) -> pa.Schema | None:
    if not text:
        return None
    try:
        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))
    except (ValueError, pa.ArrowException):
        return None


def _same_storage(exact: pa.DataType, read: pa.DataType, version: int) -> bool:
    """Whether a column read as ``read`` is what hygge stored for ``exact`` (else someone changed it)."""
    from pyiceberg.io.pyarrow import _pyarrow_to_schema_without_ids, schema_to_pyarrow

    try:
        stored = pa.schema([pa.field("c", _stored(exact, version))])
        back = schema_to_pyarrow(_pyarrow_to_schema_without_ids(stored, format_version=version))  # type: ignore[arg-type]
    except (Unsupported, ValueError):
        return False
    return bool(back.field(0).type.equals(read))


def exact_schema(read: pa.Schema, properties: dict[str, Any], version: int) -> pa.Schema:
    """The Arrow schema hygge hands out for a table read as ``read``: each column's exact Arrow type where
    hygge stored it and the column still has that stored type; pyiceberg's own type for the rest."""
    recorded = decode(properties.get(ARROW_SCHEMA))
    if recorded is None:
        return read
    fields = []
    for f in read:
        index = recorded.get_field_index(f.name)
        exact = recorded.field(index) if index >= 0 else None
        if exact is not None and _same_storage(exact.type, f.type, version):
            fields.append(pa.field(f.name, exact.type, f.nullable))
        else:
            fields.append(f)
    return pa.schema(fields)


def restore(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A batch as pyiceberg read it, in the exact types of ``schema`` (see :func:`exact_schema`)."""
    if batch.schema.equals(schema):
        return batch
    arrays = [as_type(batch.column(i), f.type) for i, f in enumerate(schema)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
