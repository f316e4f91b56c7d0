"""Dates and times written in a format of their own (`formats: {order_date: "%d/%m/%Y"}` on the csv Home).

Arrow's CSV reader takes timestamp formats for all columns at once and guesses which applies; a column's own
format is applied here instead, to the column read as text, so `01/02/2013` is the first of February in one
column and may be the second of January in another. A value the format does not match stops the move, naming
the file, the row, the column, the value and the format: it never becomes a null.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from hygge.core.arrowtypes import type_name
from hygge.errors import ReadError
from hygge.storage.blob import FilePath

# strptime directives that carry a time of day: without any, a format names a day and gives a date32.
_TIME = re.compile(r"%[HIMSpTRrXcsz]")


def formatted_type(fmt: str, declared: pa.DataType | None = None) -> pa.DataType:
    """The type a column of this format is read as: the declared one (`columns:`), else date32 for a format of
    days, timestamp[s] for one with a time (strptime has no fractions), in UTC when it reads a zone (%z)."""
    if declared is not None:
        return declared
    if not _TIME.search(fmt):
        return pa.date32()
    return pa.timestamp("s", tz="UTC" if "%z" in fmt else None)


def check_format(name: str, fmt: str, declared: pa.DataType | None) -> str | None:
    """What is wrong with one `formats:` entry, or None."""
    if "%" not in fmt:
        return f"{name}: '{fmt}' has no strptime directive such as %d, %m, %Y, %H, %M"
    if declared is not None and not (pa.types.is_date(declared) or pa.types.is_timestamp(declared)):
        return f"{name}: `columns` makes it {type_name(declared)}; a format reads a date or a timestamp"
    return None


def parse_formatted(text: pa.Array, name: str, fmt: str, target: pa.DataType, path: FilePath,
                    first_row: int) -> pa.Array:
    """``text`` parsed with ``fmt`` into ``target``; ``first_row`` is the data row of ``text[0]`` in the file
    (1 is the first row after the header)."""
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    failed = pc.and_(pc.is_valid(text), pc.is_null(parsed))
    if pc.any(failed).as_py():
        index = pc.index(failed, True).as_py()
        raise ReadError(
            f"column {name} has a value that does not match its format {fmt}",
            path=str(path),
            expected=f"values written as {fmt} (`formats:` on the home)",
            found=f"'{text[index].as_py()}' in data row {first_row + index:,}",
            hint=f"fix the value in the file, or change `formats: {{{name}: ...}}` to the way it is written "
                 f"(strptime directives: %d day, %m month, %Y year, %H:%M:%S time, %z zone)",
        )
    # A wall time cast into a declared zone is taken as UTC, as Arrow's CSV reader takes one.
    return parsed.cast(target)
