"""Split one table into key ranges that are read in parallel, each row in exactly one range.

Ranges are equal-width between the column's min and max: ``[b0, b1)``,
``[b1, b2)`` … ``[b(n-1), max]``, plus one partition for NULL keys. Skewed keys
make uneven partitions, never missing or doubled rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa

from hygge.db.dialect import Dialect
from hygge.errors import ReadError


def _bounds(low: Any, high: Any, n: int) -> list[Any]:
    if isinstance(low, bool) or not isinstance(low, (int, float, Decimal, dt.date, dt.datetime)):
        raise TypeError(type(low).__name__)
    if isinstance(low, (dt.datetime, dt.date)):
        span = high - low
        return [low + span * i / n if isinstance(low, dt.datetime) else low + dt.timedelta(days=span.days * i // n)
                for i in range(n)]
    if isinstance(low, int):
        return [low + (high - low) * i // n for i in range(n)]
    return [low + (high - low) * i / n for i in range(n)]


def partition_predicates(d: Dialect, conn: Any, base: str, column: str, dtype: pa.DataType, n: int,
                         where: str = "", params: tuple[Any, ...] = ()) -> list[tuple[str, tuple[Any, ...]]]:
    if not (pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
            or pa.types.is_date(dtype) or pa.types.is_timestamp(dtype)):
        raise ReadError(
            f"cannot split reads on column {column} of type {dtype}",
            expected="a numeric, date or timestamp column", found=str(dtype),
            hint="choose another `partition_on`, or remove it",
        )
    col = d.quote(column)
    filtered = f" WHERE {where}" if where else ""
    low, high = d.query(conn, f"SELECT MIN({col}), MAX({col}) FROM {base}{filtered}", params)[0]
    nulls = (f"{col} IS NULL", ())
    if low is None:
        return [nulls]
    edges = _bounds(low, high, n) if low != high else [low]
    # Equal neighbours (a narrow range split many ways) would make empty, harmless, wasteful ranges.
    edges = [e for i, e in enumerate(edges) if i == 0 or e != edges[i - 1]]
    out: list[tuple[str, tuple[Any, ...]]] = []
    for i, start in enumerate(edges):
        if i + 1 < len(edges):
            out.append((d.sql(f"{col} >= ? AND {col} < ?"), (start, edges[i + 1])))
        else:
            out.append((d.sql(f"{col} >= ?"), (start,)))
    out.append(nulls)
    return out
