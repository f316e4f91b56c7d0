"""Split one table into key ranges that are read in parallel, each row in exactly one range.

The ranges are cut at points ``c1 <= c2 <= ... <= ck`` spread evenly between the column's min and max:
``col < c1``, ``c1 <= col < c2``, …, ``col >= ck``, and ``col IS NULL``. The first and last ranges are open,
so the ranges cover every value the column can hold (rows that arrive after the min and max were read,
NaN, infinities), whatever the min and max were; neighbours share a cut point, one side ``<`` and the other
``>=``, so no row is in two. Skewed keys make uneven partitions, never missing or doubled rows. The cut
points are computed once, when the source is opened, and travel with the partitions (Dask workers).
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from typing import Any

import pyarrow as pa

from hygge.db.dialect import Dialect
from hygge.db.sqltext import Sql
from hygge.errors import ReadError


def _number(value: pa.Scalar) -> Any:
    """A value as a number to divide: temporal values by their integer count of units (nanoseconds exact)."""
    t = value.type
    if pa.types.is_timestamp(t) or pa.types.is_date64(t):
        return value.cast(pa.int64()).as_py()
    if pa.types.is_date32(t):
        return value.cast(pa.int32()).as_py()
    return value.as_py()


def _scalar(number: Any, t: pa.DataType) -> pa.Scalar:
    if pa.types.is_timestamp(t) or pa.types.is_date64(t):
        return pa.scalar(number, pa.int64()).cast(t)
    if pa.types.is_date32(t):
        return pa.scalar(number, pa.int32()).cast(t)
    return pa.scalar(number, t)


def cut_points(low: pa.Scalar, high: pa.Scalar, n: int) -> list[pa.Scalar]:
    """Up to n - 1 points strictly inside (low, high], in order, equal neighbours dropped (empty ranges)."""
    lo, hi = _number(low), _number(high)
    if isinstance(lo, float) and not (math.isfinite(lo) and math.isfinite(hi)):
        # NaN (PostgreSQL's max of a float column holding one) gives no order, infinity no width: one range each.
        lo, hi = (lo if math.isfinite(lo) else -1e308), (hi if math.isfinite(hi) else 1e308)
    if lo >= hi:
        return []
    if isinstance(lo, int):
        points: list[Any] = [lo + (hi - lo) * i // n for i in range(1, n)]
    elif isinstance(lo, Decimal):
        points = [(lo + (hi - lo) * i / n).quantize(Decimal(1).scaleb(-low.type.scale)) for i in range(1, n)]
    else:
        points = [lo + (hi - lo) * i / n for i in range(1, n)]
    return [_scalar(p, low.type) for p in sorted({p for p in points if lo < p <= hi})]


def partition_predicates(d: Dialect, conn: Any, base: str, column: str, dtype: pa.DataType, n: int,
                         where: Sql | None = None) -> list[Sql]:
    """The conditions of each partition; the caller ANDs ``where`` (the incremental filter) to each."""
    if not (pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
            or pa.types.is_date(dtype) or pa.types.is_timestamp(dtype)):
        raise ReadError(
            f"cannot split reads on column {column} of type {dtype}",
            expected="a numeric, date or timestamp column", found=str(dtype),
            hint="choose another `partition_on`, or remove it",
        )
    why = d.splits(dtype)
    if why:
        raise ReadError(f"cannot split reads on column {column}: {why}", expected="a column that sorts by value",
                        found=str(dtype), hint="choose an integer, date or timestamp `partition_on`, or remove it")
    col = d.quote(column)
    low, high = extremes(d, conn, base, column, dtype, where, ("MIN", "MAX"))
    nulls = Sql.text(f"{col} IS NULL")
    points: list[pa.Scalar] = []
    if low.is_valid:  # no value yet: one range takes rows that arrive meanwhile
        points = cut_points(low, high, n)
    if not points:
        return [Sql.text(f"{col} IS NOT NULL"), nulls]
    ranges = [Sql.text(f"{col} < ") + Sql.value(points[0])]
    ranges += [Sql.text(f"{col} >= ") + Sql.value(a) + f" AND {col} < " + Sql.value(b)
               for a, b in itertools.pairwise(points)]
    ranges.append(Sql.text(f"{col} >= ") + Sql.value(points[-1]))
    return [*ranges, nulls]



def extremes(d: Dialect, conn: Any, base: str, column: str, dtype: pa.DataType, where: Sql | None,
             aggregates: tuple[str, ...]) -> list[pa.Scalar]:
    """``MIN``/``MAX`` (as asked) of ``column`` over the rows of ``base`` that ``where`` keeps, in its own type; null
    scalars where there are no values."""
    col = d.quote(column)
    names = [f"a{i}" for i in range(len(aggregates))]
    picked = ", ".join(f"{fn}({col}) AS {d.quote(name)}" for fn, name in zip(aggregates, names, strict=True))
    statement = Sql.text(f"SELECT {picked} FROM {base}")
    if where:
        statement = statement + " WHERE " + where
    # Read like the rows themselves, so each engine's stored form (SQLite's text timestamps) decodes exactly.
    typed = pa.schema([(name, dtype) for name in names])
    text, values = d.render(statement)
    batches = [b for b in d.read(conn, text, typed, 1 << 20, values) if b.num_rows]
    if not batches:
        return [pa.scalar(None, dtype) for _ in names]
    return [batches[0].column(i)[0] for i in range(len(names))]
