"""The all-types table every Home and Store is tested with, and helpers to derive what an engine keeps.

Row 0 holds ordinary values, row 1 extremes and odd strings, row 2 nulls in
every column, row 3 empty values. Column names include a reserved word and
mixed case on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pyarrow as pa

LONG = "ÅÄÖ-" * 50_000  # 200,000 characters, 400,000 bytes in UTF-8

COLUMNS: list[tuple[str, pa.DataType, list[object]]] = [
    ("id", pa.int64(), [0, 1, 2, 3]),
    ("i8", pa.int8(), [1, -128, None, 0]),
    ("i16", pa.int16(), [2, 32767, None, 0]),
    ("i32", pa.int32(), [3, -2147483648, None, 0]),
    ("i64", pa.int64(), [4, 9223372036854775807, None, 0]),
    ("u8", pa.uint8(), [5, 255, None, 0]),
    ("u16", pa.uint16(), [6, 65535, None, 0]),
    ("u32", pa.uint32(), [7, 4294967295, None, 0]),
    ("u64", pa.uint64(), [8, 9223372036854775807, None, 0]),
    ("f32", pa.float32(), [1.5, 3.4028234663852886e38, None, 0.0]),
    ("f64", pa.float64(), [2.25, -1.7976931348623157e308, None, 0.0]),
    ("dec", pa.decimal128(12, 2), [Decimal("1234.56"), Decimal("-9999999999.99"), None, Decimal("0.00")]),
    ("dec_wide", pa.decimal128(38, 10), [Decimal("1.0000000001"), Decimal("-9999999999999999999999999999.9999999999"),
                                         None, Decimal("0E-10")]),
    ("flag", pa.bool_(), [True, False, None, False]),
    ("text", pa.string(), ["hygge ☕ Ωμέγα 東京", LONG, None, ""]),
    ("Mixed Case", pa.string(), ["Åsa", "tab\there\nnewline \"quote\" 'single' \\back", None, ""]),
    ("select", pa.string(), ["reserved", "😀 emoji and \u0001 control", None, ""]),
    ("blob", pa.binary(), [b"\x00\x01\xff", bytes(range(256)), None, b""]),
    ("day", pa.date32(), [date(2024, 2, 29), date(1, 1, 1), None, date(1970, 1, 1)]),
    ("clock", pa.time64("us"), [time(13, 45, 30, 123456), time(23, 59, 59, 999999), None, time(0, 0)]),
    ("ts", pa.timestamp("us"), [datetime(2024, 3, 31, 2, 30, 0, 123456), datetime(1900, 1, 1), None,
                                datetime(1970, 1, 1)]),
    ("ts_tz", pa.timestamp("us", tz="UTC"), [datetime(2024, 3, 31, 1, 0, 0, 1, tzinfo=timezone.utc),
                                             datetime(2262, 4, 11, tzinfo=timezone.utc), None,
                                             datetime(1970, 1, 1, tzinfo=timezone.utc)]),
    ("ts_ms", pa.timestamp("ms"), [datetime(2024, 1, 2, 3, 4, 5, 678000), datetime(2000, 1, 1), None,
                                   datetime(1970, 1, 1)]),
    ("span", pa.duration("us"), [timedelta(days=1, microseconds=5), timedelta(days=-3650), None, timedelta(0)]),
    ("uid", pa.uuid(), [UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").bytes, UUID(int=2**128 - 1).bytes, None,
                        UUID(int=0).bytes]),
    ("doc", pa.json_(), ['{"a": [1, 2], "b": "ü"}', '[true, null, 1.5]', None, "{}"]),
    ("ints", pa.list_(pa.int64()), [[1, 2, 3], [], None, [None]]),
    ("words", pa.list_(pa.string()), [["a", "b"], ["ü", ""], None, []]),
]

# Types that only some engines can hold at all, tested beside the main table.
NANOS = pa.table({"id": pa.array([0, 1], pa.int64()),
                  "ts_ns": pa.array([1_700_000_000_123_456_789, None], pa.timestamp("ns", tz="UTC"))})


def _array(values: list[object], dtype: pa.DataType) -> pa.Array:
    if getattr(dtype, "extension_name", None):
        return pa.array(values, type=dtype.storage_type).cast(dtype)
    return pa.array(values, type=dtype)


def all_types() -> pa.Table:
    return pa.table({name: _array(values, dtype) for name, dtype, values in COLUMNS})


Conversion = Callable[[pa.ChunkedArray], pa.ChunkedArray]


def expect(table: pa.Table, conversions: dict[str, Conversion | None]) -> pa.Table:
    """The table as an engine hands it back: None drops a column (the engine cannot hold it)."""
    out = table
    for name, conversion in conversions.items():
        if name not in out.column_names:
            continue
        if conversion is None:
            out = out.drop_columns([name])
        else:
            index = out.column_names.index(name)
            column = conversion(out.column(name))
            out = out.set_column(index, pa.field(name, column.type), column)
    return out


def cast(dtype: pa.DataType) -> Conversion:
    return lambda column: column.cast(dtype)
