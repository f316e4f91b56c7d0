"""Arrow type names as people write them in YAML: ``int64``, ``decimal(12,2)``, ``timestamp[us, UTC]``."""

from __future__ import annotations

import functools
import re

import pyarrow as pa

from hygge.core import lazy

_SIMPLE: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    "boolean": pa.bool_(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "integer": pa.int64(),
    "int": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "float16": pa.float16(),
    "float32": pa.float32(),
    "float": pa.float64(),
    "float64": pa.float64(),
    "double": pa.float64(),
    "string": pa.string(),
    "str": pa.string(),
    "utf8": pa.string(),
    "text": pa.string(),
    "large_string": pa.large_string(),
    "binary": pa.binary(),
    "bytes": pa.binary(),
    "large_binary": pa.large_binary(),
    "date": pa.date32(),
    "date32": pa.date32(),
    "date64": pa.date64(),
    "time": pa.time64("us"),
    "timestamp": pa.timestamp("us"),
    "null": pa.null(),
}

_DECIMAL = re.compile(r"^decimal(?:128)?\(\s*(\d+)\s*,\s*(-?\d+)\s*\)$")
_DECIMAL256 = re.compile(r"^decimal256\(\s*(\d+)\s*,\s*(-?\d+)\s*\)$")
_TIMESTAMP = re.compile(r"^timestamp\[\s*(s|ms|us|ns)\s*(?:,\s*(?:tz=)?\s*([^\]]+?)\s*)?\]$")
_TIME = re.compile(r"^time(32|64)?\[\s*(s|ms|us|ns)\s*\]$")
_DURATION = re.compile(r"^duration\[\s*(s|ms|us|ns)\s*\]$")


def known_type_names() -> list[str]:
    patterns = ["decimal(P,S)", "timestamp[UNIT]", "timestamp[UNIT, ZONE]", "time64[UNIT]", "duration[UNIT]"]
    return [*sorted(_SIMPLE), *patterns]


def parse_type(text: str) -> pa.DataType:
    """Parse a type name; raise ValueError with the accepted forms when it is not one."""
    name = text.strip()
    lowered = name.lower()
    if lowered in _SIMPLE:
        return _SIMPLE[lowered]
    if lowered in ("date32[day]", "date64[ms]"):  # Arrow's own spelling
        return pa.date32() if lowered.startswith("date32") else pa.date64()
    if match := _DECIMAL.match(lowered):
        precision, scale = int(match.group(1)), int(match.group(2))
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if match := _DECIMAL256.match(lowered):
        return pa.decimal256(int(match.group(1)), int(match.group(2)))
    if match := _TIMESTAMP.match(name):
        return pa.timestamp(match.group(1), tz=match.group(2))
    if match := _TIME.match(lowered):
        unit = match.group(2)
        return pa.time32(unit) if unit in ("s", "ms") else pa.time64(unit)
    if match := _DURATION.match(lowered):
        return pa.duration(match.group(1))
    raise ValueError(f"unknown type '{text}'")


def type_name(dtype: pa.DataType) -> str:
    """The inverse of :func:`parse_type` for the types it knows; Arrow's own name otherwise."""
    if pa.types.is_timestamp(dtype):
        return f"timestamp[{dtype.unit}, {dtype.tz}]" if dtype.tz else f"timestamp[{dtype.unit}]"
    if pa.types.is_decimal(dtype):
        return f"decimal({dtype.precision},{dtype.scale})"
    if pa.types.is_floating(dtype):
        return f"float{dtype.bit_width}"  # Arrow says "float" and "double"; people mean different things
    if pa.types.is_date(dtype):
        return "date32" if pa.types.is_date32(dtype) else "date64"
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_list_view(dtype):
        return f"list<{type_name(dtype.value_type)}>"
    if pa.types.is_struct(dtype):
        return "struct<" + ", ".join(f"{f.name}: {type_name(f.type)}" for f in dtype) + ">"
    return str(dtype)


def validate_column_types(value: dict[str, str]) -> dict[str, str]:
    """For config validators: every value must be a type name we can parse."""
    for name, text in value.items():
        try:
            parse_type(text)
        except ValueError:
            raise ValueError(f"column {name}: unknown type '{text}' (known: {', '.join(known_type_names())})") from None
    return value


def extension_name(dtype: pa.DataType) -> str | None:
    """``arrow.uuid``, ``arrow.json`` and the like, or None for plain types."""
    return getattr(dtype, "extension_name", None)


_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


@functools.cache
def utc_as_naive_text(t: pa.DataType) -> bool:
    """Whether ``t`` is a zoned timestamp whose text is its naive text plus "Z" (a UTC zone).

    Arrow formats zoned timestamps about 30 times slower than naive ones (a zone lookup per value: 0.85 s
    against 0.03 s for a million); for UTC the answer is known, so hygge writes the same text the quick way.
    Probed, not assumed, so the bytes never differ.
    """
    if not pa.types.is_timestamp(t) or not t.tz:
        return False
    probe = pa.array([1_700_000_000_123_456_789 // _PER_UNIT[t.unit]], pa.int64())  # 2023-11-14, every digit set
    zoned = probe.cast(pa.timestamp(t.unit, t.tz)).cast(pa.string())[0].as_py()
    naive = probe.cast(pa.timestamp(t.unit)).cast(pa.string())[0].as_py()
    return bool(zoned == naive + "Z")


def utc_text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A UTC timestamp column as Arrow's own text for it (see utc_as_naive_text), formatted the quick way."""
    import pyarrow.compute as pc

    naive = column.cast(pa.timestamp(column.type.unit)).cast(pa.string())
    if pc.any(pc.starts_with(naive, "<")).as_py():
        return column.cast(pa.string())  # "<value out of range: ...>": only Arrow's zoned path writes those years
    return pc.binary_join_element_wise(naive, "Z", "")


def as_type(column: pa.Array | pa.ChunkedArray, dtype: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """Cast, going through the storage type when either side is an extension type."""
    if column.type == dtype:
        return column
    if (pa.types.is_string(dtype) or pa.types.is_large_string(dtype)) and utc_as_naive_text(column.type):
        return utc_text(column).cast(dtype)
    if extension_name(column.type):
        column = column.cast(column.type.storage_type)
    if extension_name(dtype):
        return column.cast(dtype.storage_type).cast(dtype)
    return column.cast(dtype)


def uuid_text(column: pa.Array) -> pa.Array:
    """UUIDs (16 bytes) as their canonical text, 8-4-4-4-12 lowercase hex digits."""
    pl = lazy.polars()

    raw = column.cast(column.type.storage_type) if extension_name(column.type) else column
    series = pl.from_arrow(raw.cast(pa.binary()))
    assert isinstance(series, pl.Series)
    hexed = series.bin.encode("hex")
    parts = [hexed.str.slice(start, length) for start, length in ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))]
    text = pl.select(pl.concat_str(parts, separator="-")).to_series()
    return text.to_arrow().cast(pa.string())


def from_text(column: pa.Array, dtype: pa.DataType) -> pa.Array:
    """Parse text into ``dtype``; Arrow cannot parse times itself, so a time is read as a moment on day one."""
    import pyarrow.compute as pc

    if pa.types.is_time(dtype):
        stamps = pc.binary_join_element_wise("1970-01-01 ", column, "").cast(pa.timestamp(dtype.unit))
        return stamps.cast(dtype)
    return as_type(column, dtype)
