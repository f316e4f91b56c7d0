"""MySQL/MariaDB column bounds from information_schema, and the wider column types that lift them.

LOAD DATA LOCAL implies IGNORE: a value that does not fit its column is cut, rounded or
replaced, with only a warning. The load counts warnings as a last net (mysql_load.py); these
bounds let the landing name the column and a value first, and widen the column when the
schema policy says ``widen``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from hygge.db.bounds import CHARS, DECIMALS, OCTETS, RANGE, STEP, TRAILING, Bound

COLUMNS = """
    SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH,
           NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION"""

_TEXTS = [("tinytext", 255), ("text", 65_535), ("mediumtext", 16_777_215), ("longtext", 4_294_967_295)]
_BLOBS = [("tinyblob", 255), ("blob", 65_535), ("mediumblob", 16_777_215), ("longblob", 4_294_967_295)]
_VARCHAR_BYTES = 65_532  # a row's limit, less the two length bytes: the widest a VARCHAR can be on its own
_DAY = dt.timedelta(hours=838, minutes=59, seconds=59)


def bound(row: tuple[Any, ...], wide_timestamps: bool) -> Bound | None:
    """The bound of one information_schema.COLUMNS row; None for a column whose Arrow type says it all."""
    name, kind, column_type, chars, octets, precision, scale, fsp, charset = row
    kind, column_type = str(kind).lower(), str(column_type).lower()
    unsigned = "unsigned" in column_type
    utf8 = charset in ("utf8mb4", "utf8mb3", "utf8")
    per_char = f" {int(octets) // int(chars)}" if chars and octets else ""
    declared = column_type + (f" character set {charset}" if charset and charset != "utf8mb4" else "")
    args: dict[str, Any] = {"column": str(name), "declared": declared, "family": kind + per_char}
    if kind in ("char", "varchar"):
        args.update(chars=int(chars), widenable=frozenset({CHARS, TRAILING}) if kind == "char" else frozenset({CHARS}))
        if kind == "char":
            args["trailing_spaces"] = False
    elif kind in ("tinytext", "text", "mediumtext") and utf8:
        # Sized in bytes of the column's character set: UTF-8 lengths are those bytes only for UTF-8 columns.
        args.update(octets=int(octets), widenable=frozenset({OCTETS}))
    elif kind in ("tinyblob", "blob", "mediumblob", "binary", "varbinary"):
        args.update(octets=int(octets), widenable=frozenset({OCTETS}))
    elif kind == "mediumint":
        low, high = (0, 2**24 - 1) if unsigned else (-(2**23), 2**23 - 1)
        args.update(low=low, high=high, widenable=frozenset({RANGE}))
    elif kind == "year":
        args.update(low=1901, high=2155)
    elif kind == "bit" and int(precision) > 1:
        args.update(low=0, high=2 ** int(precision) - 1, widenable=frozenset({RANGE}))
    elif kind in ("float", "double") and scale is not None and "," in column_type:
        top = Decimal(10) ** (int(precision) - int(scale)) - Decimal(10) ** -int(scale)
        args.update(decimals=int(scale), low=0 if unsigned else -float(top), high=float(top),
                    widenable=frozenset({DECIMALS, RANGE}))
    elif kind in ("float", "double", "decimal") and unsigned:
        args.update(low=0, widenable=frozenset({RANGE}))
    elif kind == "date":
        args.update(low=dt.date(1, 1, 1), high=dt.date(9999, 12, 31))
    elif kind == "datetime":
        args.update(low=dt.datetime(1, 1, 1), high=dt.datetime(9999, 12, 31, 23, 59, 59, 999999))
    elif kind == "timestamp":
        last = dt.datetime(2106, 2, 7, 6, 28, 15, 999999) if wide_timestamps else dt.datetime(2038, 1, 19, 3, 14, 7,
                                                                                                999999)
        args.update(low=dt.datetime(1970, 1, 1, 0, 0, 1), high=last)
    elif kind == "time":
        args.update(low=-_DAY, high=_DAY)
    elif kind in ("enum", "set"):
        args.update(members=members(column_type), listed=kind == "set")
    digits = int(fsp or 0)
    if kind in ("datetime", "timestamp", "time") and (digits < 6 or kind == "time"):
        # TIME(6) too: staged durations reach it in SQL, where nanoseconds would be rounded (the text of
        # the load refuses them for DATETIME and TIMESTAMP, and TIME fed directly).
        args.update(step_us=10 ** (6 - digits), widenable=frozenset({STEP}) if digits < 6 else frozenset())
    if charset in ("utf8mb3", "utf8"):
        args["supplementary"] = False
    made = Bound(**args)
    return made if made.limited else None


def members(column_type: str) -> tuple[str, ...]:
    """The members of ``enum('a','it''s')`` or ``set(...)``, unquoted."""
    inner = column_type[column_type.index("(") + 1: column_type.rindex(")")]
    return tuple(m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", inner))


def widened_type(b: Bound, need: dict[str, Any]) -> str | None:
    """The narrowest column type holding what ``b`` holds and what the rows need; None when there is none."""
    kind, _, per_char = b.family.partition(" ")
    bytes_per_char = int(per_char or 1)
    unsigned = " unsigned" if "unsigned" in b.declared else ""
    if CHARS in need or TRAILING in need:
        chars = max(b.chars or 0, need.get(CHARS, 0))
        if kind == "char" and TRAILING not in need and chars <= 255:
            return f"char({chars})"
        if chars * bytes_per_char <= _VARCHAR_BYTES:
            return f"varchar({chars})"
        return _fitting(_TEXTS, chars * bytes_per_char)
    if OCTETS in need:
        size = max(b.octets or 0, need[OCTETS])
        if kind in ("binary", "varbinary"):
            return f"varbinary({size})" if size <= _VARCHAR_BYTES else _fitting(_BLOBS, size)
        return _fitting(_BLOBS if "blob" in kind else _TEXTS, size)
    if STEP in need and kind in ("datetime", "timestamp", "time"):
        return f"{kind}(6)"
    if kind == "mediumint" and RANGE in need:
        least, greatest = min(need[RANGE][0], b.low), max(need[RANGE][1], b.high)
        if unsigned and least >= 0:
            return "int unsigned" if greatest < 2**32 else "bigint unsigned"
        return "int" if least >= -(2**31) and greatest < 2**31 else "bigint"
    if kind == "bit" and RANGE in need:
        greatest = max(int(need[RANGE][1]), b.high)
        return f"bit({greatest.bit_length()})" if need[RANGE][0] >= 0 and greatest < 2**64 else None
    if kind in ("float", "double"):
        return kind + ("" if RANGE in need and need[RANGE][0] < 0 else unsigned)
    if kind == "decimal" and RANGE in need:
        return b.declared.replace(" unsigned", "").replace(" zerofill", "")
    return None


def _fitting(sizes: list[tuple[str, int]], wanted: int) -> str | None:
    return next((name for name, size in sizes if size >= wanted), None)


def modified(create_table: str, column: str, column_type: str, new_type: str) -> str | None:
    """The column's definition from SHOW CREATE TABLE with its type replaced, keeping NULL, DEFAULT, COMMENT and
    character set (MODIFY COLUMN forgets whatever it is not told); None when the definition is not found."""
    quoted = "`" + column.replace("`", "``") + "` "
    for line in create_table.splitlines():
        text = line.strip().rstrip(",")
        if text.startswith(quoted) and text[len(quoted):].lower().startswith(column_type.lower()):
            return quoted + new_type + text[len(quoted) + len(column_type):]
    return None
