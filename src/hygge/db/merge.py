"""Upsert from a staging table, in SQL every engine speaks: delete the matched keys, insert the latest rows.

Duplicate keys inside one load are resolved by the watermark (the latest
wins) and then by arrival order (``_hygge_seq``, the row's position in the
load). Rows whose ``delete_column`` is true remove their key and are not
inserted. Everything runs inside the move's transaction.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from hygge.core.arrowtypes import type_name
from hygge.db.dialect import Dialect
from hygge.errors import WriteError

SEQ = "_hygge_seq"


def with_arrival_order(batch: pa.RecordBatch, start: int) -> pa.RecordBatch:
    """The batch with ``SEQ`` appended: each row's position in the load, from ``start``."""
    import pyarrow.compute as pc

    ones = pa.repeat(pa.scalar(1, pa.int64()), batch.num_rows)
    return batch.append_column(SEQ, pc.add(pc.cumulative_sum(ones), start - 1))


def null_keys(d: Dialect, conn: Any, staging: str, keys: tuple[str, ...]) -> dict[str, int]:
    sums = ", ".join(f"SUM(CASE WHEN {d.quote(k)} IS NULL THEN 1 ELSE 0 END)" for k in keys)
    row = d.query(conn, f"SELECT {sums} FROM {staging}")[0]
    return {k: int(v or 0) for k, v in zip(keys, row, strict=True) if v}


def latest(d: Dialect, staging: str, columns: list[str], keys: tuple[str, ...], watermark: str | None,
           delete_column: str | None) -> str:
    """SELECT of the one row per key that wins."""
    order = []
    if watermark:
        w = d.quote(watermark)
        order += [f"CASE WHEN {w} IS NULL THEN 1 ELSE 0 END", f"{w} DESC"]
    order.append(f"{d.quote(SEQ)} DESC")
    cols = ", ".join(d.quote(c) for c in columns)
    partition = ", ".join(d.quote(k) for k in keys)
    keep = "hygge_rn = 1"
    if delete_column:
        keep += f" AND NOT COALESCE({d.quote(delete_column)}, FALSE)"
    return (f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {partition} "
            f"ORDER BY {', '.join(order)}) AS hygge_rn FROM {staging}) hygge_ranked WHERE {keep}")


def merge(d: Dialect, conn: Any, into: tuple[str | None, str], staging: str, schema: pa.Schema,
          keys: tuple[str, ...], watermark: str | None, delete_column: str | None, entity: str) -> tuple[int, int]:
    """Apply the staged rows to the table ``into`` (schema, name); return (rows matched and replaced or deleted,
    rows inserted)."""
    target = d.table_ref(*into)
    why = d.splits(schema.field(watermark).type) if watermark in schema.names else None
    if why:  # the latest row of a key is chosen by the watermark in this engine's SQL
        raise WriteError(
            f"merge cannot order rows by watermark '{watermark}' here: {why}; nothing was committed",
            entity=entity, path=target, expected="an integer, date or timestamp watermark",
            found=type_name(schema.field(watermark).type),
            hint="choose an integer, date or timestamp watermark for this entity, or a store that keeps decimals "
                 "as numbers (PostgreSQL, MySQL, DuckDB up to 38 digits, parquet)")
    nulls = null_keys(d, conn, staging, keys)
    if nulls:
        found = ", ".join(f"{n:,} row(s) with {k} null" for k, n in nulls.items())
        raise WriteError(
            "merge keys must identify every row, but some are null; nothing was committed",
            entity=entity, path=target, expected=f"non-null values in {', '.join(keys)}", found=found,
            hint="fix those rows at the source, or choose `keys` that are never null",
        )
    d.index_keys(conn, staging, keys, schema)
    matched = int(d.query(conn, f"SELECT COUNT(*) FROM {target} WHERE {d.matching(target, staging, keys)}")[0][0])
    columns = schema.names
    chosen = latest(d, staging, columns, keys, watermark, delete_column)
    inserted = int(d.query(conn, f"SELECT COUNT(*) FROM ({chosen}) hygge_new")[0][0])
    d.delete_matching(conn, target, staging, keys)
    d.insert_select(conn, *into, schema, f"({chosen}) hygge_new")
    return matched, inserted
