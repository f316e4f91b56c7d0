"""PostgreSQL and Arrow: the column type for each Arrow type, the wire type COPY needs, and the way back."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hygge.core import lazy
from hygge.core.arrowtypes import type_name
from hygge.db.bounds import CHARS, STEP, Bound
from hygge.db.json_lists import parse_json
from hygge.errors import ReadError


def ext(t: pa.DataType) -> str | None:
    return getattr(t, "extension_name", None)


def pg_type(t: pa.DataType) -> tuple[str, pa.DataType]:
    """(column type, wire Arrow type) for an Arrow type; TypeError when PostgreSQL has no faithful column."""
    name = ext(t)
    if name == "arrow.uuid":
        return "uuid", pa.binary(16)
    if name == "arrow.json":
        return "jsonb", pa.binary()
    if pa.types.is_boolean(t):
        return "boolean", t
    if t in (pa.int8(), pa.int16(), pa.uint8()):
        return "smallint", pa.int16()
    if t in (pa.int32(), pa.uint16()):
        return "integer", pa.int32()
    if t in (pa.int64(), pa.uint32()):
        return "bigint", pa.int64()
    if t == pa.uint64():
        return "numeric(20,0)", pa.decimal128(20, 0)
    if t in (pa.float16(), pa.float32()):
        return "real", pa.float32()
    if t == pa.float64():
        return "double precision", t
    if pa.types.is_decimal(t):
        return f"numeric({t.precision},{t.scale})", t
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text", pa.string()
    if pa.types.is_dictionary(t) and (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)):
        return "text", pa.string()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "bytea", pa.binary()
    if pa.types.is_date(t):
        return "date", pa.date32()
    if pa.types.is_time(t):
        return "time", pa.time64("us")
    if pa.types.is_timestamp(t):
        return ("timestamptz", pa.timestamp("us", tz="UTC")) if t.tz else ("timestamp", pa.timestamp("us"))
    if pa.types.is_duration(t):
        return "interval", pa.duration("us")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner, wire = pg_type(t.value_type)
        if "[]" in inner or inner in ("jsonb", "uuid"):
            raise TypeError(str(t))
        return f"{inner}[]", pa.list_(wire)
    raise TypeError(str(t))


def pg_refusal(t: pa.DataType) -> str:
    """Why PostgreSQL cannot hold an Arrow type that pg_type refuses, in words a person can act on."""
    if pa.types.is_struct(t):
        return "PostgreSQL has no struct column (a composite type would have to be made for it)"
    if pa.types.is_map(t):
        return "PostgreSQL has no map column"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = t.value_type
        if pa.types.is_nested(inner):
            return "lists of lists or structs: the driver writes arrays of one dimension of scalars only"
        return f"arrays of {type_name(inner)} cannot be written by the driver"
    if pa.types.is_fixed_size_binary(t):
        return "fixed-size binary has no PostgreSQL twin (cast it to binary, which becomes bytea)"
    if pa.types.is_dictionary(t):
        return f"dictionaries of {type_name(t.value_type)} (only dictionaries of strings become text)"
    return f"PostgreSQL has no column type that holds {type_name(t)} faithfully"


# Catalog type → (Arrow type, SELECT expression template); None: decided by typmod or element.
_READ: dict[str, tuple[pa.DataType, str]] = {
    "int2": (pa.int16(), "{c}"), "int4": (pa.int32(), "{c}"), "int8": (pa.int64(), "{c}"),
    "float4": (pa.float32(), "{c}"), "float8": (pa.float64(), "{c}"), "bool": (pa.bool_(), "{c}"),
    "text": (pa.string(), "{c}"), "varchar": (pa.string(), "{c}"), "bpchar": (pa.string(), "{c}"),
    "name": (pa.string(), "{c}::text"), "citext": (pa.string(), "{c}::text"),
    "bytea": (pa.binary(), "{c}"), "date": (pa.date32(), "{c}"), "time": (pa.time64("us"), "{c}"),
    "timestamp": (pa.timestamp("us"), "{c}"), "timestamptz": (pa.timestamp("us", tz="UTC"), "{c}"),
    "interval": (pa.duration("us"), "(EXTRACT(EPOCH FROM {c}) * 1000000)::bigint"),
    "uuid": (pa.uuid(), "{c}"), "json": (pa.json_(), "{c}"), "jsonb": (pa.json_(), "{c}"),
    "money": (pa.decimal128(20, 2), "{c}::numeric(20,2)"), "oid": (pa.int64(), "{c}::bigint"),
}


def literal(value: Any) -> str:
    """A SQL literal for a watermark or partition bound (no bind parameters: they stop streaming)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, Decimal)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        kind = "timestamptz" if value.tzinfo else "timestamp"
        return f"'{value.isoformat(sep=' ')}'::{kind}"
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'::date"
    return "'" + str(value).replace("'", "''") + "'"


def to_wire(column: pa.Array, original: pa.DataType, wire: pa.DataType) -> pa.Array:
    name = ext(original)
    if name == "arrow.uuid":
        return column.storage.cast(wire)
    if name == "arrow.json":
        # jsonb's binary form: a version byte, then the JSON text.
        return pc.binary_join_element_wise(pa.scalar(b"\x01"), column.storage.cast(pa.binary()), pa.scalar(b""))
    if pa.types.is_dictionary(original):
        column = column.dictionary_decode()
    if column.type == wire:
        return column
    return column.cast(wire, safe=True)


def list_depth(t: pa.DataType) -> int:
    depth = 0
    while pa.types.is_list(t):
        depth, t = depth + 1, t.value_type
    return depth


def holds_nul(column: pa.Array) -> int:
    """How many text values (strings, JSON, and in lists) hold NUL, which PostgreSQL's text and jsonb refuse."""
    values = column
    while True:
        t = values.type
        if ext(t) == "arrow.json":
            values = values.storage
        elif pa.types.is_dictionary(t):
            values = values.dictionary_decode()
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            values = pc.list_flatten(values)
        else:
            break
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)) or not len(values):
        return 0
    if not pa.types.is_string_view(t) and not _bytes_hold_nul(values):
        return 0
    # Counted, for the message: polars searches text ten times faster than Arrow's match_substring (60 MB: 0.05 s
    # against 0.56 s).
    found = lazy.polars().from_arrow(values).str.contains("\x00", literal=True).sum()
    return int(found or 0)


_NUL = re.compile(b"\x00")


def _bytes_hold_nul(values: pa.Array) -> bool:
    """Whether the bytes of a string array's values hold NUL, searched in place in its data buffer: 10M rows of
    the benchmark's two text columns in 0.17 CPU-s, against 0.9-1.1 s for polars, which copies them into views
    first. Bytes under a null slot count too: a rare false alarm, which the exact count then clears."""
    data = values.buffers()[2]
    if data is None:
        return False
    width = pa.int64() if pa.types.is_large_string(values.type) else pa.int32()
    offsets = pa.Array.from_buffers(width, len(values) + 1, [None, values.buffers()[1]], offset=values.offset)
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    return _NUL.search(memoryview(data)[start:end]) is not None


def normal_type(field: pa.Field) -> pa.DataType:
    t = field.type
    if ext(t) == "arrow.opaque":
        meta = field.metadata or {}
        typmod = int(meta.get(b"POSTGRESQL:typmod", b"-1"))
        if getattr(t, "type_name", "") == "numeric" and typmod >= 4:
            precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
            return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
        return pa.string() if pa.types.is_string(t.storage_type) else pa.binary()
    if pa.types.is_interval(t):
        return pa.month_day_nano_interval()
    return t


def normalize(batch: pa.RecordBatch, schema: pa.Schema | None) -> pa.RecordBatch:
    columns = []
    fields = []
    for index, field in enumerate(batch.schema):
        column = batch.column(index)
        wanted = schema.field(index).type if schema is not None else normal_type(field)
        if ext(column.type) == "arrow.opaque":
            column = column.storage
        if column.type != wanted:
            try:
                if ext(wanted) and not ext(column.type):
                    column = column.cast(wanted.storage_type).cast(wanted)
                elif pa.types.is_list(wanted) and pa.types.is_string(column.type):
                    column = parse_json(column, wanted)  # an array of more dimensions, as JSON (postgres_arrays.py)
                else:
                    column = column.cast(wanted)
            except pa.ArrowInvalid as exc:
                if pa.types.is_decimal(wanted):
                    hint = ("PostgreSQL numerics can be NaN, which no decimal holds: read the table through a query "
                            "that maps such values (e.g. NULLIF(column, 'NaN')), or fix them at the source")
                elif pa.types.is_list(wanted):
                    hint = (f"every value of an array column declared with {list_depth(wanted)} dimensions must have "
                            f"them: fix the values, or read the column with a `query:` as text ({field.name}::text)")
                else:
                    hint = "read the table through a query that converts this column, or fix the value at the source"
                raise ReadError(f"column {field.name} holds a value its type cannot carry into Arrow",
                                expected=f"{type_name(wanted)} values", found=str(exc).splitlines()[0],
                                hint=hint) from exc
        columns.append(column)
        fields.append(pa.field(field.name, wanted))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


# Bounds of columns (db/bounds.py): lengths of varchar(n)/char(n), fractions of times with a precision.
BOUND_COLUMNS = """
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), coalesce(bt.typname, t.typname),
           coalesce(et.typname, ''), CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
           t.typtype = 'd'
    FROM pg_attribute a
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
    LEFT JOIN pg_type et ON et.oid = coalesce(bt.typelem, t.typelem) AND coalesce(bt.typcategory, t.typcategory) = 'A'
    WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = $1 AND c.relname = $2)
      AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum"""

_TIMES = {"timestamp", "timestamptz", "time", "timetz"}
# Interval field masks (PostgreSQL's datetime.h): the lowest field kept decides the step.
_INTERVAL_STEPS = ((1 << 12, None), (1 << 11, 60_000_000), (1 << 10, 3_600_000_000), (1 << 3, 86_400_000_000))


def pg_bound(name: str, declared: str, typname: str, elem: str, typmod: int, domain: bool) -> Bound | None:
    """The bound of one column from the catalog; None where its Arrow type says everything."""
    base = elem or typname
    family = base + ("[]" if elem else "")
    if base in ("varchar", "bpchar") and typmod >= 4:
        # A domain's type is the domain's to change, not hygge's.
        return Bound(name, declared, chars=typmod - 4, family=family,
                     widenable=frozenset() if domain else frozenset({CHARS}))
    step: int | None = None
    if base in _TIMES and 0 <= typmod < 6:
        step = 10 ** (6 - typmod)
    elif base == "interval" and typmod >= 0:
        precision, fields = typmod & 0xFFFF, (typmod >> 16) & 0x7FFF
        step = 10 ** (6 - precision) if precision < 6 else None
        if fields != 0x7FFF:
            for mask, size in _INTERVAL_STEPS:
                if fields & mask:
                    step = size if size is not None else step
                    break
            else:
                step = 10**18  # YEAR and MONTH fields: every duration becomes zero
    if step is None or step <= 1:
        return None
    return Bound(name, declared, step_us=step, family=family, widenable=frozenset() if domain else frozenset({STEP}))


def pg_widened(b: Bound, need: dict[str, Any]) -> str | None:
    base, array = b.family.removesuffix("[]"), "[]" if b.family.endswith("[]") else ""
    if CHARS in need and base in ("varchar", "bpchar"):
        return ("varchar" if base == "varchar" else "char") + f"({need[CHARS]}){array}"
    if STEP in need and (base in _TIMES or base == "interval"):
        return base + array  # the full precision, and for intervals every field
    return None
