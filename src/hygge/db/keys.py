"""The key a table hygge writes carries: a primary key, or a unique index, on the entity's ``keys``.

A DBA expects a merge target to be keyed, and each merge is then an index lookup rather than a scan of the
target. The key goes on after the rows are in (building an index once is faster than keeping it up to date
row by row, and MySQL sizes its key columns from the rows): a primary key when no key value is null, else a
unique index (a primary key cannot hold nulls). A table hygge created before it kept keys gains its key on
the next run when its rows allow it (no duplicate or null keys); otherwise the run goes on without one and
its notes say why and what to do.
"""

from __future__ import annotations

from typing import Any

from hygge.db.dialect import Dialect
from hygge.db.merge import null_keys
from hygge.errors import WriteError

SHOWN = 3  # duplicate keys named in an error or note
# How each engine says a row repeats a key the table holds: PostgreSQL, MySQL/MariaDB, SQLite, DuckDB.
COLLISIONS = ("duplicate key value violates unique constraint", "Duplicate entry", "UNIQUE constraint failed",
              "violates primary key constraint", "violates unique constraint")


def covered(unique: list[tuple[str, ...]], keys: tuple[str, ...]) -> bool:
    """Whether an existing primary key or unique index already makes ``keys`` unique (a unique subset does)."""
    return any(cols and set(cols) <= set(keys) for cols in unique)


def duplicates(d: Dialect, conn: Any, ref: str, keys: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """A few key values that more than one row of ``ref`` holds (nulls never collide in a unique index)."""
    cols = ", ".join(d.quote(k) for k in keys)
    present = " AND ".join(f"{d.quote(k)} IS NOT NULL" for k in keys)
    return d.query(conn, f"SELECT {cols}, COUNT(*) FROM {ref} WHERE {present} GROUP BY {cols} "
                         f"HAVING COUNT(*) > 1 LIMIT {SHOWN}")


def _shown(rows: list[tuple[Any, ...]], keys: tuple[str, ...]) -> str:
    return "; ".join(", ".join(f"{k}={v!r}" for k, v in zip(keys, row, strict=False)) + f" ({row[-1]} rows)"
                     for row in rows)


def refuse_duplicates(d: Dialect, conn: Any, ref: str, keys: tuple[str, ...], entity: str, where: str) -> None:
    """Stop a load whose own rows repeat a key: the table it becomes is keyed on them."""
    refuse_repeats(duplicates(d, conn, ref, keys), keys, entity, where)


def refuse_repeats(rows: list[tuple[Any, ...]], keys: tuple[str, ...], entity: str, where: str) -> None:
    """The error of a load whose rows repeat a key (``rows``: key values and their count, a few of them)."""
    if rows:
        raise WriteError(
            f"the rows repeat values of `keys` ({', '.join(keys)}), which identify a row; nothing was committed",
            entity=entity, path=where, expected=f"one row per value of {', '.join(keys)}",
            found=_shown(rows, keys),
            hint="fix those rows at the source, choose `keys` that identify a row, or use run_type merge, "
                 "which keeps the latest row of each key")


def keep_key(d: Dialect, conn: Any, schema: str | None, table: str, keys: tuple[str, ...], *,
             measured: tuple[str, ...] = (), shown_as: str = "") -> str | None:
    """Give ``table`` its key on ``keys`` unless it has one; a note for the run when the table existed without
    one (``shown_as`` names it), None otherwise. ``measured``: further tables whose rows the key columns must
    hold (MySQL sizes them)."""
    if covered(d.unique_keys(conn, schema, table), keys):
        return None
    ref = d.table_ref(schema, table)
    if shown_as:
        rows = duplicates(d, conn, ref, keys)
        if rows:
            return (f"{shown_as} has no key on {', '.join(keys)} and cannot be given one: key values repeat "
                    f"({_shown(rows, keys)}); merges scan it until the duplicates are removed, then the next "
                    "run adds the key")
    nullable = bool(null_keys(d, conn, ref, keys))
    kind = d.add_key(conn, schema, table, keys, primary=not nullable, measured=(ref, *measured))
    if shown_as:
        return f"{shown_as} had no key on {', '.join(keys)}: hygge added a {kind}, so merges look rows up by it"
    return None


def collision(exc: BaseException, keys: tuple[str, ...], entity: str, where: str) -> WriteError | None:
    """A load that met the target's key (rows whose key values the table already holds), said plainly."""
    # MySQL's LOAD DATA LOCAL skips such rows with a warning, which hygge's check turns into a WriteError.
    text = f"{exc} {getattr(exc, 'found', '') or ''}"
    if not keys or not any(phrase in text for phrase in COLLISIONS):
        return None
    return WriteError(
        f"rows repeat values of `keys` ({', '.join(keys)}) that the target already holds, and the target is keyed "
        "on them; nothing was committed", entity=entity, path=where,
        expected=f"new values of {', '.join(keys)}", found=text.strip()[:300],
        hint="use run_type merge (or incremental) to replace rows by their keys, or remove `keys` from an entity "
             "whose rows may repeat them (and recreate the table with --full-drop)")
