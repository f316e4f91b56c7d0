"""Merge by keys into a Delta table: the run's rows, one per key, applied as one Delta MERGE.

The run's rows are staged in arrival order. When a key repeats, the row with the latest watermark
wins, then the later arrival (as in every hygge store); finding that needs all of the run's rows at
once, so only then are they reduced in memory by polars (the run's rows, never the table's). Rows
whose ``delete_column`` is true delete their key. delta-rs then streams the source through one MERGE
that rewrites only the files holding matched keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, WriterProperties

from hygge.core import lazy
from hygge.core.plan import MovePlan
from hygge.errors import WriteError, did_you_mean

SEQ = "_hygge_seq"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_columns(schema: pa.Schema, plan: MovePlan, where: str) -> None:
    wanted = [*plan.keys, *(c for c in (plan.watermark, plan.delete_column) if c)]
    missing = [c for c in wanted if c not in schema.names]
    if not plan.keys:
        raise WriteError("merge needs `keys`: the columns that identify a row", entity=plan.entity, path=where,
                         hint="add `keys: [id]` to the entity, or use run_type append")
    if missing:
        raise WriteError("merge names columns the rows do not have", entity=plan.entity, path=where,
                         expected=f"columns among {', '.join(schema.names)}", found=", ".join(missing),
                         hint=did_you_mean(missing[0], schema.names) or "fix `keys`, `watermark` or `delete_column`")


def one_row_per_key(staged: Path, plan: MovePlan, work: Path) -> tuple[Path, int]:
    """The staged rows with one row per key (the file itself when no key repeats), and how many rows that is."""
    pl = lazy.polars()
    keys = list(plan.keys)
    rows = pl.scan_parquet(staged)
    counts = rows.select([pl.len().alias(SEQ), *[pl.col(k).is_null().sum().alias(k) for k in keys],
                          pl.struct(keys).n_unique().alias("_hygge_keys")]).collect().row(0, named=True)
    bad = {k: counts[k] for k in keys if counts[k]}
    if bad:
        raise WriteError(
            "merge keys must identify every row, but some are null; nothing was committed",
            entity=plan.entity, expected=f"non-null values in {', '.join(keys)}",
            found=", ".join(f"{n:,} row(s) with {k} null" for k, n in bad.items()),
            hint="fix those rows at the source, or choose `keys` that are never null",
        )
    if counts["_hygge_keys"] == counts[SEQ]:
        return staged, int(counts[SEQ])
    order = ([plan.watermark] if plan.watermark else []) + [SEQ]
    chosen = (rows.with_row_index(SEQ).sort(order, nulls_last=False)
              .unique(subset=keys, keep="last").drop(SEQ))
    out = work / "one-row-per-key.parquet"
    chosen.sink_parquet(out)
    return out, int(counts["_hygge_keys"])


def source_batches(path: Path, schema: pa.Schema, batch_rows: int, drop_deleted: str | None = None,
                   ) -> Iterator[pa.RecordBatch]:
    """The merge source streamed from its file in the table's types; optionally without the rows to delete."""
    import pyarrow.compute as pc

    dataset = ds.dataset([str(path)], schema=schema, format="parquet")
    for batch in dataset.to_batches(batch_size=batch_rows, batch_readahead=1, fragment_readahead=1):
        if drop_deleted is not None:
            batch = batch.filter(pc.invert(pc.fill_null(batch.column(drop_deleted), False)))
        yield batch


def merge_into(table: DeltaTable, source: Path, schema: pa.Schema, plan: MovePlan, batch_rows: int,
               writer: WriterProperties, commit: CommitProperties) -> dict[str, Any]:
    """One Delta MERGE of the source into the table; delta-rs's metrics (rows inserted, updated, deleted)."""
    reader = pa.RecordBatchReader.from_batches(schema, source_batches(source, schema, batch_rows))
    on = " AND ".join(f"s.{quote(k)} = t.{quote(k)}" for k in plan.keys)
    merger = table.merge(reader, on, source_alias="s", target_alias="t", writer_properties=writer,
                         commit_properties=commit)
    if plan.delete_column:
        deleted = f"s.{quote(plan.delete_column)}"
        merger = (merger.when_matched_delete(f"{deleted} IS TRUE")
                  .when_matched_update_all(f"{deleted} IS NOT TRUE")
                  .when_not_matched_insert_all(f"{deleted} IS NOT TRUE"))
    else:
        merger = merger.when_matched_update_all().when_not_matched_insert_all()
    return merger.execute()
