"""Polish `cast`: a column into a type named as in `columns:` (`decimal(12,2)`, `bool`, `timestamp[us, UTC]`).

Arrow's safe cast either gives every value in the new type or fails: a value it cannot take never becomes a null.
On failure the first value that does not cast is found by halving the batch (a few casts, no per-row Python) so
the error can show it.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hygge.core.arrowtypes import as_type, type_name
from hygge.errors import CastError, first_line

_OFFSET = r"(Z|[+-]\d\d(:?\d\d)?)$"


def _cast(column: pa.Array, target: pa.DataType) -> pa.Array:
    try:
        return as_type(column, target)
    except pa.ArrowInvalid:
        if not (pa.types.is_timestamp(target) and target.tz and pa.types.is_string(column.type)):
            raise
    # Text without an offset, into a zone: taken as UTC, as Arrow's CSV reader takes it; text with one keeps it.
    zoned = pc.match_substring_regex(column, _OFFSET)
    none = pa.scalar(None, column.type)
    try:
        with_zone = pc.if_else(zoned, column, none).cast(target)
        without = pc.if_else(zoned, none, column).cast(pa.timestamp(target.unit)).cast(target)
    except pa.ArrowInvalid:
        return as_type(column, target)  # the error of the cast asked for, not of the fallback
    return pc.if_else(zoned, with_zone, without)


def cast_column(column: pa.Array, name: str, target: pa.DataType, *, flow: str | None = None,
                entity: str | None = None) -> pa.Array:
    try:
        return _cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        if isinstance(exc, pa.ArrowNotImplementedError) or len(column) == 0:
            value, reason = None, first_line(exc)
        else:
            value, reason = _first_refused(column, target, first_line(exc))
        shown = "" if value is None else f"'{value}'" if isinstance(value, str) else repr(value)
        raise CastError(
            f"polish cast of column {name} to {type_name(target)} failed"
            + (f": {shown} is not a {type_name(target)}" if shown else ""),
            flow=flow, entity=entity,
            expected=f"values of {type_name(column.type)} that {type_name(target)} holds exactly",
            found=(f"{shown} ({reason})" if shown else reason),
            hint=f"fix the value at the source, or cast column {name} to a type that holds it "
                 "(a wider decimal, string); a value is never set to null to make a cast pass",
        ) from exc


def _first_refused(column: pa.Array, target: pa.DataType, reason: str) -> tuple[object, str]:
    """The first value of ``column`` that does not cast, and Arrow's reason for it."""
    while len(column) > 1:
        half = len(column) // 2
        head = column.slice(0, half)
        try:
            _cast(head, target)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            column, reason = head, first_line(exc)
            continue
        column = column.slice(half)
    try:
        _cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        reason = first_line(exc)
    return column[0].as_py(), reason
