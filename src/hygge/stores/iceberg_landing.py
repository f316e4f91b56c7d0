"""One move into an Iceberg table: rows become data files as they arrive, and one commit publishes them.

Nothing is visible before the commit: the data files are written into the table's folder under names of
this run, and only the catalog commit (lake/iceberg_commit.py) makes a snapshot reference them. An abort
deletes them; a killed run leaves them, and the next run's sweep (lake/iceberg_heal.py) deletes them.
Memory is one batch plus one row group being encoded: the rows are never gathered into one table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from hygge.core import faults
from hygge.core.drift import Drift
from hygge.core.plan import MovePlan
from hygge.errors import StateError, WriteError, did_you_mean
from hygge.lake import iceberg_merge
from hygge.lake.iceberg_commit import publish, total_rows
from hygge.lake.iceberg_files import DataFileWriter, delete
from hygge.lake.iceberg_heal import RunMark, sweep, sweep_metadata
from hygge.lake.iceberg_schema import after_run
from hygge.lake.iceberg_types import (
    ARROW_SCHEMA,
    encode,
    exact_schema,
    file_schema,
    read_schema,
    stored_schema,
    to_file,
    to_iceberg,
)
from hygge.state.journal import EntityState, RunRecord
from hygge.stores.base import CommitResult, Landing
from hygge.stores.iceberg import IcebergStore, load_table
from hygge.stores.key_spool import KeySpool, needs_key_check

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table, Transaction


class IcebergLanding(Landing):
    def __init__(self, store: IcebergStore, plan: MovePlan, record: RunRecord):
        self.store = store
        self.plan = plan
        self.record = record
        self.where = store.location(plan)
        self.ident = store.identifier(plan)
        self.catalog = store.catalog()
        self.table = load_table(self.catalog, self.ident)
        self.version = self.table.format_version if self.table is not None else 2
        self.mark: RunMark | None = None
        self.writer: DataFileWriter | None = None
        self.files: list[DataFile] = []
        self.scratch: list[str] = []  # merge rewrites: this run's files that are not among self.files
        self.outcome_unknown = False
        self.committed = False
        self._incoming: iceberg_merge.Incoming | None = None
        self.before = total_rows(self.table.metadata) if self.table is not None else 0
        if self.table is not None:
            self._refuse_partitioned(self.table)
        self.keys = KeySpool(plan) if needs_key_check(plan) else None

    # -- the table as it is ----------------------------------------------------------------------

    def reload(self) -> Table | None:
        return load_table(self.catalog, self.ident)

    def _refuse_partitioned(self, table: Table) -> None:
        if table.format_version > 2:
            raise WriteError(
                f"pyiceberg writes format version 2 tables only, and this one is version {table.format_version}; "
                "nothing was written", entity=self.plan.entity, path=self.where, expected="a v1 or v2 table",
                found=f"format version {table.format_version}", hint="write to a new table (hygge creates v2 tables)")
        if not table.spec().is_unpartitioned():
            raise WriteError(
                "hygge writes unpartitioned Iceberg tables, and this one is partitioned; nothing was written",
                entity=self.plan.entity, path=self.where, expected="an unpartitioned table",
                found=f"partitioned by {table.spec()}",
                hint="write to a new table, or load this one with an engine that writes partitioned tables")

    def target_schema(self) -> pa.Schema | None:
        if self.table is None:
            return None
        return exact_schema(read_schema(self.table.schema()), self.table.properties, self.version)

    def rows_before(self) -> int | None:
        return self.before

    # -- staging -------------------------------------------------------------------------------

    def begin(self, schema: pa.Schema, drift: Drift | None = None) -> None:
        self.exact = after_run(self.target_schema(), schema, self.plan.run_type, drift)
        self.stored, problems = stored_schema(self.exact, self.version)
        if problems:
            raise WriteError(
                "Iceberg cannot hold some columns faithfully; nothing was written",
                entity=self.plan.entity, path=self.where, expected="types an Iceberg table stores without loss",
                found="; ".join(problems),
                hint="convert them at the source, or drop them with `polish: drop: [...]`")
        if self.plan.run_type == "merge":
            self._check_merge_columns(schema)
        if self.table is None:
            self._ensure_namespace()
            tx: Transaction = self.create_transaction()
        else:
            from hygge.lake.iceberg_schema import evolve

            tx = self.table.transaction()
            evolve(tx, self.exact, self.stored, self.plan.run_type, self.version, self.plan.entity, self.where)
        metadata = tx.table_metadata
        self.schema: Schema = metadata.schema()
        self.io = tx._table.io
        self.locations = tx._table.location_provider()
        self._metadata = metadata
        self.file_arrow = file_schema(self.schema)
        bucket = self.store.spec.bucket
        self.mark = RunMark(metadata.location, self.record.run_id, bucket)
        sweep(metadata.location, self.reload, self.io, self.record.run_id, bucket)
        self.writer = self.writer_for("a")

    def _ensure_namespace(self) -> None:
        # Moves of one flow start together: two of them may both find the namespace missing and create it.
        try:
            self.catalog.create_namespace_if_not_exists(self.ident[0])
        except Exception:
            if not self.catalog.namespace_exists(self.ident[0]):
                raise

    def create_transaction(self) -> Transaction:
        properties = {"format-version": "2", **self.store.config.properties,
                      ARROW_SCHEMA: encode(self.exact)}
        return self.catalog.create_table_transaction(self.ident, schema=to_iceberg(self.stored, self.version),
                                                     properties=properties)

    def writer_for(self, tag: str) -> DataFileWriter:
        return DataFileWriter(self.io, self._metadata, self.schema, self.file_arrow,
                              prefix=f"hygge-{self.record.run_id}-{tag}", location=self.locations,
                              target_bytes=int(self.store.config.target_file_size))

    def _check_merge_columns(self, schema: pa.Schema) -> None:
        wanted = [*self.plan.keys, *(c for c in (self.plan.watermark, self.plan.delete_column) if c)]
        missing = [c for c in wanted if c not in schema.names]
        if missing:
            raise WriteError(
                "merge names columns the rows do not have", entity=self.plan.entity, path=self.where,
                expected=f"columns among {', '.join(schema.names)}", found=", ".join(missing),
                hint=did_you_mean(missing[0], schema.names) or "fix `keys`, `watermark` or `delete_column`")

    def write(self, batch: pa.RecordBatch) -> None:
        self.write_stream(iter([batch]))

    def write_stream(self, batches: Iterator[pa.RecordBatch]) -> None:
        assert self.writer is not None
        for batch in batches:
            if self.keys is not None:
                self.keys.write(batch)
            self.writer.write(to_file(batch, self.file_arrow, self.exact, self.plan.entity))
            self.rows_written += batch.num_rows
            self.bytes_written += batch.nbytes
            faults.point("write")

    def finish(self) -> None:
        assert self.writer is not None
        self.files = self.writer.close()
        if self.keys is not None:
            self.keys.refuse_repeats(self.where)  # abort deletes the files: no snapshot names them yet
        in_files = sum(f.record_count for f in self.files)
        if in_files != self.rows_written:
            raise StateError(
                "the data files hold another number of rows than were written; nothing was committed",
                entity=self.plan.entity, path=self.where, expected=f"{self.rows_written:,} rows",
                found=f"{in_files:,}", hint="run again; if it repeats, report it")

    def incoming(self) -> iceberg_merge.Incoming:
        """The merge's rows to insert and keys to match, worked out once for every commit attempt."""
        if self._incoming is None:
            self._incoming = iceberg_merge.incoming(
                self._metadata, self.io, self.files, self.schema, self.plan.keys, self.plan.watermark,
                self.plan.delete_column, self.writer_for, self.plan.entity, self.where)
            self.scratch += [f.file_path for f in self._incoming.inserts if f not in self.files]
        return self._incoming

    # -- publishing ----------------------------------------------------------------------------

    def commit(self, record: RunRecord, state: EntityState) -> CommitResult:
        table = publish(self, record, state)
        self.committed = True  # from here on, abort must not touch a file: the snapshot references them
        try:
            sweep_metadata(table, self.io, self.store.spec.bucket)  # what an attempt that lost the race left
            if self._incoming is not None and self._incoming.discard:
                self.discard(self._incoming.discard)  # staged rows that lost to later ones for their keys
        except OSError:
            pass  # only unreferenced files: the next run's sweep takes them
        return CommitResult(rows_in_target=total_rows(table.metadata),
                            bytes_written=self.writer.bytes if self.writer else 0,
                            files=[f.file_path for f in self.files], location=self.where)

    def expected_rows_after(self) -> int | None:
        # A full_drop leaves exactly its rows. After an append or a merge the table also holds what other
        # writers committed meanwhile, so only the data files' own counts (finish) are checked.
        return self.rows_written if self.plan.run_type == "full_drop" else None

    def discard(self, paths: list[str]) -> None:
        delete(self.io, paths)

    def abort(self) -> None:
        if self.outcome_unknown or self.committed:
            return  # the files may be referenced: the next run's sweep decides, from the table itself
        if self.writer is not None:
            self.writer.discard()
        self.discard([*self.scratch, *(f.file_path for f in self.files)])
        try:
            table = self.reload()
            if table is not None:
                sweep_metadata(table, self.io, self.store.spec.bucket)  # a refused commit wrote its metadata first
        except Exception:  # noqa: BLE001 - the move failed already; the next run sweeps again
            pass

    def close(self) -> None:
        if self.keys is not None:
            self.keys.close()
        if self.mark is not None:
            self.mark.release()
            self.mark = None
