"""Rows flagged deleted (``delete_column`` true) in a full load of an entity with keys.

A merge removes their keys (db/merge.py, stores/file_landing.py, lake/merge.py). The first run of an incremental
entity with keys is a full load that replaces the target: there the flagged rows are dropped from the stream, so
a key deleted at the source is not published as a live row that no later run would remove (its key may never
come again). A `full_drop` asked for (`--full-drop`) stays a raw load of every row, as with repeated keys.
"""

from __future__ import annotations

import pyarrow as pa

from hygge.core.plan import MovePlan


class Deletes:
    """Drops the flagged rows of each batch and counts them, for the move's reconciliation."""

    def __init__(self, column: str):
        self.column = column
        self.dropped = 0

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        import pyarrow.compute as pc

        flags = batch.column(batch.schema.get_field_index(self.column))
        if not pc.any(flags).as_py():
            return batch
        kept = batch.filter(pc.invert(pc.fill_null(flags, False)))
        self.dropped += batch.num_rows - kept.num_rows
        return kept


def deletes_for(plan: MovePlan) -> Deletes | None:
    """The filter a move's rows pass through before the store, where its load drops deleted rows."""
    return Deletes(plan.delete_column) if plan.drops_deleted and plan.delete_column else None
