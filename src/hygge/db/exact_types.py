"""The exact Arrow types of a table's columns, where the engine's own column types would lose them.

DuckDB and MySQL cannot say from their column types alone that a column was, say, ``large_string`` or a
timestamp in ``Europe/Oslo``. hygge keeps those types in one place per schema: the table ``_hygge_types``,
one row per table it wrote, holding the Arrow schema of the columns that need it (serialized, base64).
It is written in the move's transaction, with the data and the journal.

Older hygge kept each such column's type in that column's comment (``hygge-arrow:...``). A table without a
row is read through those comments still, and the next run that writes it writes its row; from then on the
row alone is read (the comments are left as they are: on MySQL, changing one rewrites the column).
"""

from __future__ import annotations

import base64
from typing import Any

import pyarrow as pa

from hygge.db.dialect import Dialect

TYPES = "_hygge_types"
PREFIX = "hygge-arrow:"  # the per-column comments of older hygge


def encode_schema(fields: list[pa.Field]) -> str:
    return base64.b64encode(pa.schema(fields).serialize().to_pybytes()).decode()


def decode_schema(text: str) -> list[pa.Field] | None:
    try:
        return list(pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text))))
    except Exception:  # noqa: BLE001 - a damaged row reads as the engine's own types, never fails the read
        return None


def decode_comment(comment: str | None) -> pa.Field | None:
    """The exact type older hygge wrote into a column's comment, if that is what the comment holds."""
    if not comment or not comment.startswith(PREFIX):
        return None
    fields = decode_schema(comment[len(PREFIX):])
    return fields[0] if fields else None


class ExactTypes:
    """The ``_hygge_types`` table of one schema."""

    def __init__(self, dialect: Dialect, schema: str | None):
        self.d = dialect
        self.schema = schema
        self.ref = dialect.table_ref(schema, TYPES)

    def ensure(self, conn: Any) -> None:
        """Create the table (call under the schema's setup lock)."""
        if not self.d.table_exists(conn, self.schema, TYPES):
            self.d.execute(conn, f"CREATE TABLE {self.ref} (table_name VARCHAR(255) PRIMARY KEY, "
                                 f"arrow_schema {self.d.long_text})")

    def read(self, conn: Any, table: str) -> dict[str, pa.Field] | None:
        """The exact types of ``table``'s columns that need one; None when no row was written for it."""
        if not self.d.table_exists(conn, self.schema, TYPES):
            return None
        rows = self.d.query(conn, self.d.sql(f"SELECT arrow_schema FROM {self.ref} WHERE table_name = ?"), (table,))
        fields = decode_schema(str(rows[0][0])) if rows else None
        return {f.name: f for f in fields} if fields is not None else None

    def write(self, conn: Any, table: str, fields: list[pa.Field]) -> None:
        """``table``'s exact types are now ``fields`` (those of its columns that need one), in the open transaction."""
        d = self.d
        d.execute(conn, d.sql(f"DELETE FROM {self.ref} WHERE table_name = ?"), (table,))
        d.execute(conn, d.sql(f"INSERT INTO {self.ref} (table_name, arrow_schema) VALUES (?, ?)"),
                  (table, encode_schema(fields)))


def exact_fields(kept: dict[str, pa.Field] | None, comments: dict[str, str | None]) -> dict[str, pa.Field]:
    """The exact types to read a table by: its row when it has one, else the comments older hygge wrote."""
    if kept is not None:
        return kept
    found = {name: decode_comment(text) for name, text in comments.items()}
    return {name: f for name, f in found.items() if f is not None and f.name == name}


def published_types(d: Dialect, now: pa.Schema | None, rows: pa.Schema, changed: set[str]) -> list[pa.Field]:
    """The exact types of a target once a run is published: those of the run's rows when the run makes the table
    anew (``now`` None), else the table's as read now with the columns the run added or widened (``changed``)
    as the rows have them. Only columns whose type needs it."""
    order = rows.names if now is None else now.names
    kept = {} if now is None else {f.name: f for f in now if d.needs_exact(f.type)}
    for field in rows:
        if now is None or field.name in changed:
            kept.pop(field.name, None)
            if d.needs_exact(field.type):
                kept[field.name] = field
    return [kept[n] for n in order if n in kept]
