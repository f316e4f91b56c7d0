"""Watermarks: the highest value of a column that a committed run has loaded.

Stored as JSON that keeps the exact Arrow type and value (``{"type":
"timestamp[us, UTC]", "value": 1717200000000000}``), so nanoseconds, time
zones and big integers survive the journal. ``lookback`` widens the next
read to catch late rows: a duration for dates and timestamps (``2h``,
``30m``, ``1d``, or seconds), a number for integers.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from hygge.core import durations
from hygge.core.arrowtypes import parse_type, type_name
from hygge.errors import ConfigError, ConfigProblem

# pyarrow.compute is imported where it is used: it takes 30-50 ms to import, and many moves never need it.


def supported(dtype: pa.DataType) -> bool:
    return pa.types.is_integer(dtype) or pa.types.is_timestamp(dtype) or pa.types.is_date(dtype) or (
        pa.types.is_decimal(dtype))


def encode(scalar: pa.Scalar | None) -> dict[str, Any] | None:
    if scalar is None or not scalar.is_valid:
        return None
    dtype = scalar.type
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        value: Any = scalar.cast(pa.int64() if pa.types.is_timestamp(dtype) or pa.types.is_date64(dtype)
                                 else pa.int32()).as_py()
    elif pa.types.is_decimal(dtype):
        value = str(scalar.as_py())
    else:
        value = scalar.as_py()
    return {"type": type_name(dtype), "value": value, "shown": display_scalar(scalar)}


def decode(data: Any) -> pa.Scalar | None:
    if not data:
        return None
    dtype = parse_type(data["type"])
    value = data["value"]
    if pa.types.is_timestamp(dtype) or pa.types.is_date64(dtype):
        return pa.scalar(value, pa.int64()).cast(dtype)
    if pa.types.is_date32(dtype):
        return pa.scalar(value, pa.int32()).cast(dtype)
    if pa.types.is_decimal(dtype):
        return pa.scalar(Decimal(value), dtype)
    return pa.scalar(value, dtype)


def display_scalar(scalar: pa.Scalar) -> str:
    import pyarrow.compute as pc
    if pa.types.is_timestamp(scalar.type):
        # Arrow's %S carries the fraction at the column's precision; trailing zeros say nothing.
        text = str(pc.strftime(scalar, format="%Y-%m-%dT%H:%M:%S").as_py())
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        zone = scalar.type.tz
        return text + ("Z" if zone in ("UTC", "Etc/UTC", "+00:00") else (f" {zone}" if zone else ""))
    return str(scalar.as_py())


def display(data: Any) -> str:
    if not data:
        return "-"
    if isinstance(data, dict):
        return str(data.get("shown") or data.get("value"))
    return str(data)


def parse_lookback(lookback: Any, dtype: pa.DataType, column: str) -> pa.Scalar | None:
    """The lookback as a value to subtract from the watermark."""
    if lookback in (None, 0, "0", ""):
        return None
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        seconds = durations.seconds(lookback if isinstance(lookback, (int, float)) else str(lookback))
        if seconds is None:
            raise ConfigError([ConfigProblem(
                f"lookback '{lookback}' is not a duration", key="lookback", expected=durations.EXAMPLES,
                found=str(lookback), hint="write it like `lookback: 2h`")])
        if pa.types.is_date(dtype):
            return pa.scalar(timedelta(days=int(seconds // 86400)), pa.duration("s"))
        return pa.scalar(timedelta(seconds=seconds), pa.duration("us"))
    if isinstance(lookback, (int, float)) or str(lookback).lstrip("-").isdigit():
        if int(lookback) < 0:  # it would skip rows after the watermark
            raise ConfigError([ConfigProblem(
                f"lookback {lookback} is negative", key="lookback", expected="0 or more", found=str(lookback),
                hint="a lookback re-reads rows before the watermark: give how far back, e.g. `lookback: 100`")])
        return pa.scalar(int(lookback), pa.int64())  # a count to subtract: it need not fit the column's type
    raise ConfigError([ConfigProblem(
        f"lookback '{lookback}' does not fit watermark column {column} ({type_name(dtype)})",
        key="lookback", expected="a whole number for an integer watermark", found=str(lookback))])


def lower_bound(previous: pa.Scalar, lookback: pa.Scalar | None) -> pa.Scalar | None:
    """The watermark minus the lookback; None (no lower bound) where that is below every value of the type (an
    unsigned watermark of 30 with a lookback of 100 wrapped round to 4,294,967,226: nothing was read again)."""
    import pyarrow.compute as pc
    if lookback is None:
        return previous
    try:
        if pa.types.is_date(previous.type):
            as_stamp = previous.cast(pa.timestamp("s"))
            return pc.subtract_checked(as_stamp, lookback).cast(previous.type)
        if pa.types.is_timestamp(previous.type):
            return pc.subtract_checked(previous, lookback.cast(pa.duration(previous.type.unit)))
        return pa.scalar(previous.as_py() - lookback.as_py(), previous.type)
    except (pa.ArrowInvalid, OverflowError):
        return None


def parse_bound(text: str | None, dtype: pa.DataType, column: str) -> pa.Scalar | None:
    """A --from/--to value in the watermark column's type."""
    if text is None:
        return None
    try:
        if pa.types.is_timestamp(dtype):
            naive = pa.scalar(text).cast(pa.timestamp(dtype.unit, tz="UTC" if dtype.tz else None))
            return naive.cast(dtype)
        if pa.types.is_date(dtype):
            return pa.scalar(text).cast(dtype)
        if pa.types.is_decimal(dtype):
            return pa.scalar(Decimal(text), dtype)
        return pa.scalar(int(text), dtype)
    except (ValueError, pa.ArrowException):
        raise ConfigError([ConfigProblem(
            f"'{text}' is not a value of watermark column {column} ({type_name(dtype)})",
            expected="an ISO date or timestamp, or a number, matching the column", found=text,
            hint="for example --from 2024-01-01 --to 2024-02-01")]) from None


def column_max(batch: pa.RecordBatch | pa.Table, column: str) -> pa.Scalar | None:
    import pyarrow.compute as pc
    values = batch.column(column)
    if values.null_count == len(values):
        return None
    return pc.max(values)


def later(a: pa.Scalar | None, b: pa.Scalar | None) -> pa.Scalar | None:
    import pyarrow.compute as pc
    if a is None or not a.is_valid:
        return b
    if b is None or not b.is_valid:
        return a
    return a if pc.greater_equal(a, b.cast(a.type)).as_py() else b
