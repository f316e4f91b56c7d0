"""Key columns MySQL can index: LONGTEXT and LONGBLOB cannot be in a key, VARCHAR and VARBINARY can.

InnoDB limits a key to 3072 bytes and utf8mb4 takes up to 4 bytes a character. Text and binary key columns
become VARCHAR(N) / VARBINARY(N), N sized from the longest value the rows hold, with the room the key has
left shared out among them so later, longer values still fit; when the rows' values are too long for any
key, hygge refuses and names the columns.
"""

from __future__ import annotations

from typing import Any

from hygge.db import mysql_bounds
from hygge.errors import WriteError

KEY_BYTES = 3072  # InnoDB's limit on one index, with the DYNAMIC row format every supported server defaults to
CHAR_BYTES = 4  # utf8mb4
OTHER_BYTES = 32  # the most a key column of another type (DECIMAL(65), DATETIME(6), BIGINT) takes
LONG = {"longtext": "VARCHAR", "mediumtext": "VARCHAR", "text": "VARCHAR", "tinytext": "VARCHAR",
        "longblob": "VARBINARY", "mediumblob": "VARBINARY", "blob": "VARBINARY", "tinyblob": "VARBINARY"}


def key_columns(d: Any, conn: Any, schema: str | None, table: str, keys: tuple[str, ...],
                measured: tuple[str, ...]) -> list[str]:
    """MODIFY COLUMN clauses that make the table's text and blob key columns indexable."""
    rows = d.query(conn, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS "
                         "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (d.database(schema), table))
    types = {str(r[0]): (str(r[1]).lower(), str(r[2])) for r in rows}
    long = [k for k in keys if types.get(k, ("", ""))[0] in LONG]
    if not long:
        return []
    unit = {k: CHAR_BYTES if LONG[types[k][0]] == "VARCHAR" else 1 for k in long}
    longest = {k: _longest(d, conn, k, unit[k], measured) for k in long}
    room = KEY_BYTES - OTHER_BYTES * (len(keys) - len(long))
    need = sum(longest[k] * unit[k] for k in long)
    if need > room:
        ref = d.table_ref(schema, table)
        found = ", ".join(f"{k}: values up to {longest[k]:,} {'characters' if unit[k] > 1 else 'bytes'}"
                          for k in sorted(long, key=lambda k: -longest[k] * unit[k]))
        raise WriteError(
            "the values of `keys` are too long for a MySQL key; nothing was committed",
            path=ref, expected=f"key values that fit InnoDB's {KEY_BYTES:,}-byte index limit (utf8mb4 text: "
                               f"{CHAR_BYTES} bytes a character)", found=found,
            hint="choose `keys` of shorter columns (an id rather than a text), or hash the long column into one "
                 "with polish")
    spare = (room - need) // len(long)
    create = str(d.query(conn, f"SHOW CREATE TABLE {d.table_ref(schema, table)}")[0][1])
    clauses = []
    for k in long:
        size = max(1, longest[k] + spare // unit[k])
        definition = mysql_bounds.modified(create, k, types[k][1], f"{LONG[types[k][0]]}({size})")
        if definition is None:
            raise WriteError(f"cannot find the definition of key column {k} to make it indexable",
                             path=d.table_ref(schema, table), found=create[:300],
                             hint=f"give {k} a VARCHAR type yourself (ALTER TABLE ... MODIFY COLUMN)")
        clauses.append(f"MODIFY COLUMN {definition}")
    return clauses


def _longest(d: Any, conn: Any, key: str, unit: int, measured: tuple[str, ...]) -> int:
    length = "CHAR_LENGTH" if unit > 1 else "LENGTH"
    col = d.quote(key)
    found = [d.query(conn, f"SELECT COALESCE(MAX({length}({col})), 0) FROM {ref}")[0][0] for ref in measured]
    return max(int(v or 0) for v in found)
