"""MySQL/MariaDB and Arrow: column types for Arrow types, and checked conversions of what ConnectorX returns."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hygge.core.arrowtypes import as_type, extension_name
from hygge.db.json_lists import parse_json


def my_type(t: pa.DataType) -> str:
    """The column type for an Arrow type; TypeError when MySQL has no lossless one."""
    name = extension_name(t)
    if name == "arrow.uuid":
        return "BINARY(16)"
    if name == "arrow.json":
        return "JSON"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        base = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}[t.bit_width]
        return base + (" UNSIGNED" if pa.types.is_unsigned_integer(t) else "")
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "FLOAT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_decimal(t):
        if t.precision > 65 or t.scale > 30 or t.scale < 0:
            raise TypeError("MySQL decimals hold at most 65 digits, 30 after the point")
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "LONGTEXT"
    if pa.types.is_dictionary(t):
        return my_type(t.value_type)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "LONGBLOB"
    if pa.types.is_fixed_size_binary(t):
        return f"BINARY({t.byte_width})" if t.byte_width <= 255 else "LONGBLOB"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_time(t):
        return "TIME(6)"
    if pa.types.is_timestamp(t):
        return "DATETIME(6)"  # TIMESTAMP stops in 2038; tz-aware values are stored as UTC
    if pa.types.is_duration(t):
        return "BIGINT"
    if pa.types.is_nested(t):
        return "JSON"
    raise TypeError(str(t))


def lost_type(t: pa.DataType) -> bool:
    """Types that read back differently without their exact Arrow type kept in _hygge_types."""
    return bool(extension_name(t)) or pa.types.is_timestamp(t) or pa.types.is_time(t) or (
        pa.types.is_duration(t) or pa.types.is_nested(t) or pa.types.is_float16(t) or pa.types.is_date64(t)
        or pa.types.is_fixed_size_binary(t) or pa.types.is_large_string(t) or pa.types.is_large_binary(t)
        or pa.types.is_decimal256(t))


_INTS = {"tinyint": pa.int8(), "smallint": pa.int16(), "mediumint": pa.int32(), "int": pa.int32(),
         "integer": pa.int32(), "bigint": pa.int64()}
_UINTS = {"tinyint": pa.uint8(), "smallint": pa.uint16(), "mediumint": pa.uint32(), "int": pa.uint32(),
          "integer": pa.uint32(), "bigint": pa.uint64()}
_OTHERS: dict[str, tuple[pa.DataType, str]] = {
    "float": (pa.float32(), "{c}"), "double": (pa.float64(), "{c}"), "real": (pa.float64(), "{c}"),
    "char": (pa.string(), "{c}"), "varchar": (pa.string(), "{c}"), "tinytext": (pa.string(), "{c}"),
    "text": (pa.string(), "{c}"), "mediumtext": (pa.string(), "{c}"), "longtext": (pa.string(), "{c}"),
    "enum": (pa.string(), "{c}"), "set": (pa.string(), "{c}"),
    "binary": (pa.binary(), "{c}"), "varbinary": (pa.binary(), "{c}"), "tinyblob": (pa.binary(), "{c}"),
    "blob": (pa.binary(), "{c}"), "mediumblob": (pa.binary(), "{c}"), "longblob": (pa.binary(), "{c}"),
    "date": (pa.date32(), "{c}"), "datetime": (pa.timestamp("us"), "{c}"),
    "timestamp": (pa.timestamp("us", tz="UTC"), "{c}"),
}


def conform(column: pa.Array, wanted: pa.DataType) -> pa.Array:
    """ConnectorX's column as the planned Arrow type: checked casts, JSON parsed into lists and structs."""
    if column.type == wanted:
        return column
    if pa.types.is_boolean(wanted) and pa.types.is_integer(column.type):
        bad = pc.sum(pc.and_(pc.not_equal(column, 0), pc.not_equal(column, 1))).as_py() or 0
        if bad:
            raise ValueError(f"{bad} value(s) other than 0 and 1 in a boolean column")
        return pc.not_equal(column, 0)
    if pa.types.is_duration(wanted) and pa.types.is_integer(column.type):
        return column.cast(pa.int64()).cast(pa.duration("us")).cast(wanted)
    if pa.types.is_timestamp(wanted) and pa.types.is_timestamp(column.type) and wanted.tz and not column.type.tz:
        return column.cast(pa.timestamp(column.type.unit, tz="UTC")).cast(wanted)
    if pa.types.is_nested(wanted):
        return parse_json(column, wanted)
    if pa.types.is_time(wanted) and pa.types.is_integer(column.type):
        return column.cast(pa.int64()).cast(pa.time64("us")).cast(wanted)
    return as_type(column, wanted)
