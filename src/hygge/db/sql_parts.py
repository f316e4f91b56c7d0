"""Partitions staged by other processes (Dask workers) into staging tables of their own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from hygge.core.split import PartSink
from hygge.db.dialect import Dialect
from hygge.db.merge import SEQ, with_arrival_order


@dataclass
class SqlPartTarget:
    """A partition's own staging table, loaded and committed by the worker that reads the partition."""

    store: dict[str, Any]
    root: str
    connections: dict[str, dict[str, Any]]
    schema: str | None
    table: str
    seq_base: int | None

    def open(self, arrow_schema: pa.Schema) -> SqlPartSink:
        from hygge.core.planner import open_store

        store = open_store(self.root, self.store, self.connections)
        return SqlPartSink(store.dialect(), self, arrow_schema)


class SqlPartSink(PartSink):
    def __init__(self, d: Dialect, target: SqlPartTarget, arrow_schema: pa.Schema):
        self.d, self.target = d, target
        self.ref = d.table_ref(target.schema, target.table)
        self.arrow_schema = arrow_schema
        if target.seq_base is not None:
            self.arrow_schema = arrow_schema.append(pa.field(SEQ, pa.int64()))
        self.conn = d.connect()
        d.begin(self.conn)
        d.execute(self.conn, f"DROP TABLE IF EXISTS {self.ref}")  # an earlier attempt of this partition
        d.create_table(self.conn, self.ref, self.arrow_schema)
        d.commit(self.conn)
        d.begin(self.conn)

    def write_stream(self, batches: Iterator[pa.RecordBatch]) -> None:
        def counted() -> Iterator[pa.RecordBatch]:
            for batch in batches:
                start = self.rows
                self.rows += batch.num_rows
                self.bytes += batch.nbytes
                if self.target.seq_base is not None:
                    batch = with_arrival_order(batch, self.target.seq_base + start)
                yield self.d.to_engine(batch)

        try:
            self.d.ingest(self.conn, self.target.schema, self.target.table, self.arrow_schema, counted())
        except BaseException:
            self.d.rollback(self.conn)
            self.d.close(self.conn)
            raise

    def finish(self) -> Any:
        try:
            self.d.commit(self.conn)
        finally:
            self.d.close(self.conn)
        return self.target.table
