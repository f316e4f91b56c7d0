"""One move into a Delta table: data files staged unreferenced, then one commit with the state and run record.

- ``full_drop``: the new files replace every file of the table in one overwrite commit (schema included);
- ``append``: one commit adds the new files;
- ``merge``: the rows are staged in ``_hygge/staging/<run>/`` and applied by one Delta MERGE;

each commit carries the entity's state and the run record (lake/log.py) and lands right after the
version the run read, or not at all. New columns are added by a metadata-only commit just before the
data commit; a widened column needs its files rewritten, which an append does in its one overwrite
commit and a merge in a commit of its own before the MERGE (so a run that changes the table's schema
may add two versions; every other run adds exactly one, plus OPTIMIZE and VACUUM when asked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties
from deltalake import Field as DeltaField
from deltalake import Schema as DeltaSchema
from deltalake.transaction import create_table_with_add_actions

from hygge.core import faults
from hygge.core.drift import Drift, evolve_table
from hygge.core.plan import MovePlan
from hygge.errors import HyggeError, StateError, WriteError, first_line
from hygge.lake.datafiles import PARTITION_TYPES, DataFile, DataFiles, partition_type_ok
from hygge.lake.heal import Intent, now, run_tag, staging_dir
from hygge.lake.location import storage_options
from hygge.lake.log import Committed, app_id, commit_properties, write_cache
from hygge.lake.merge import check_columns, merge_into, one_row_per_key, source_batches
from hygge.lake.place import place_of
from hygge.lake.scan import file_batches, restored
from hygge.lake.table import (
    DELTA_ERRORS,
    add_action,
    committed_anyway,
    count_rows,
    guarded,
    open_table,
    physical_schema,
    refuse_unsupported,
    writer_properties,
)
from hygge.lake.types import ARROW_KEY, delta_schema, hygge_schema, to_delta
from hygge.state.journal import EntityState, RunRecord
from hygge.stores.base import CommitResult, Landing
from hygge.stores.files import explain_os_error
from hygge.stores.key_spool import KeySpool, needs_key_check

if TYPE_CHECKING:
    from hygge.stores.delta import DeltaStore


class DeltaLanding(Landing):
    def __init__(self, store: DeltaStore, plan: MovePlan, record: RunRecord):
        self.store, self.plan, self.record = store, plan, record
        self.location = store.table(plan)
        # On a bucket, files are written in a work folder of this run and uploaded before the commit names them.
        self.place = place_of(self.location, store.work_folder(plan, record.run_id))
        self.folder = self.place.work
        self.app = app_id(plan.flow, plan.entity)
        self.lock = self.place.lock(plan.entity, record.run_id, plan.lock_wait)
        try:
            # A first run killed before its first commit left data files and no log: what it left is healed before
            # the folder is judged, or the next run would take hygge's own leftovers for someone else's files.
            healed_first = [] if self.place.has_log() else self.place.heal(None, record.run_id)
            self.table = open_table(self.location, plan.entity)
            if self.table is not None:
                refuse_unsupported(self.table, self.location, plan.entity, reading=False)
            self.healed = healed_first + self.place.heal(self.table, record.run_id)
            from hygge.stores.delta_history import record_start

            self.found = record_start(self.place, record, self.healed)
            self.read_version = self.table.version() if self.table is not None else None
            committed = (self.table.transaction_version(self.app) or 0) if self.table is not None else 0
            seen = store.counters.get((plan.flow, plan.entity))
            if seen is not None and seen != committed:
                raise StateError(
                    "another run committed this entity after this one read its state; nothing was written",
                    entity=plan.entity, path=self.location.shown, expected=f"run {seen} as the last committed",
                    found=f"run {committed}", transient=True,
                    hint="hygge retries the move, which then starts from the state that run committed")
            self.counter = committed + 1
            self.before = count_rows(self.table, self.place.folder) if self.table is not None else 0
            self.existing = physical_schema(self.table) if self.table is not None else None
        except BaseException:
            self.lock.release()
            self.place.finished()
            raise
        self.files: DataFiles | None = None
        self.rewrite: DataFiles | None = None  # the table's files again, in widened types
        self.staged: pq.ParquetWriter | None = None
        self.written: list[DataFile] = []
        self.committed = False
        self.rows_after: int | None = None
        self.change: str | None = None
        self.merging = False  # delta-rs is writing files of its own: leave them to the next run's healing
        self.keys = KeySpool(plan) if needs_key_check(plan) else None

    # -- before the rows ------------------------------------------------------------------------------------

    def target_schema(self) -> pa.Schema | None:
        return hygge_schema(self.existing) if self.existing is not None else None

    def rows_before(self) -> int | None:
        return self.before

    def begin(self, schema: pa.Schema, drift: Drift | None = None) -> None:
        physical, problems = delta_schema(schema)
        if problems:
            raise WriteError(
                "a Delta table cannot hold some columns faithfully; nothing was written",
                entity=self.plan.entity, path=self.location.shown,
                expected="types Delta holds exactly (see docs/types.md)", found="; ".join(problems),
                hint="convert them at the source, drop them with `polish: drop: [...]`, or pick another store")
        self.physical = physical
        self.partition_by = self._partitioning(physical)
        self.table_schema = self._evolved(physical)
        merging = self.plan.run_type == "merge"
        if merging:
            check_columns(physical, self.plan, self.location.shown)
        self.place.record_intent(Intent(self.record.run_id, self.app, self.read_version, now()))
        if merging:
            work = staging_dir(self.folder, self.record.run_id)
            work.mkdir(parents=True, exist_ok=True)
            self.staged = pq.ParquetWriter(work / "rows.parquet", physical, compression="lz4")
        else:
            self.files = self._data_files(physical, run_tag(self.record.run_id))

    def _data_files(self, physical: pa.Schema, tag: str) -> DataFiles:
        config = self.store.config
        return DataFiles(self.folder, physical, self.partition_by, tag, int(config.target_file_size),
                         config.compression, config.compression_level, config.durable)

    def _partitioning(self, physical: pa.Schema) -> list[str]:
        configured = list(self.store.config.partition_by)
        keeps = self.table is not None and self.plan.run_type != "full_drop"
        existing = list(self.table.metadata().partition_columns) if self.table is not None else []
        self.repartition = self.table is not None and not keeps and bool(configured) and configured != existing
        if keeps:
            if configured and configured != existing:
                raise WriteError(
                    "the table is partitioned by other columns than the store's `partition_by`",
                    entity=self.plan.entity, path=self.location.shown,
                    expected=", ".join(configured) or "no partitions", found=", ".join(existing) or "no partitions",
                    hint="run once with --full-drop to rewrite the table with the new partitioning")
            return existing
        wrong = [c for c in configured if c not in physical.names or not partition_type_ok(physical.field(c).type)]
        if wrong or (configured and len(configured) >= len(physical)):
            raise WriteError(
                "`partition_by` names columns hygge cannot partition by", entity=self.plan.entity,
                path=self.location.shown, expected=f"columns of the rows ({PARTITION_TYPES}), and at least one "
                                                   "column left that is not a partition",
                found=", ".join(wrong) or ", ".join(configured), hint="fix `partition_by` on the store")
        return configured

    def _evolved(self, physical: pa.Schema) -> pa.Schema:
        """The table's schema after this run: existing columns in their order, changed ones as the rows have
        them, new ones at the end."""
        if self.existing is None or self.plan.run_type == "full_drop":
            return physical
        fields = []
        for field in self.existing:
            new = physical.field(field.name) if field.name in physical.names else field
            if new.type != field.type or _recorded(new) != _recorded(field):
                self.change = "rewrite"
            fields.append(new)
        added = [f for f in physical if f.name not in self.existing.names]
        if added and self.change is None:
            self.change = "add"
        return pa.schema(fields + added)

    # -- the rows --------------------------------------------------------------------------------------------

    def write(self, batch: pa.RecordBatch) -> None:
        if self.keys is not None:
            self.keys.write(batch)
        rows = to_delta(batch, self.physical)
        try:
            if self.files is not None:
                self.files.write(rows)
                self.bytes_written = self.files.bytes_written
            else:
                assert self.staged is not None
                self.staged.write_batch(rows)
                self.bytes_written += rows.nbytes
        except OSError as exc:
            raise explain_os_error(exc, self.folder, "write data files") from exc
        self.rows_written += batch.num_rows
        faults.point("write")

    def finish(self) -> None:
        if self.keys is not None:
            self.keys.refuse_repeats(self.location.shown)  # before a file is uploaded or named by a commit
        if self.files is not None:
            self.written = self.files.close()
            self.bytes_written = sum(f.size for f in self.written)
            self.place.publish(self.written)
        if self.staged is not None:
            self.staged.close()

    # -- the commit ------------------------------------------------------------------------------------------

    def expected_rows_after(self) -> int | None:
        return self.rows_after

    def commit(self, record: RunRecord, state: EntityState) -> CommitResult:
        self.finish()
        faults.point("before-publish")
        if self.plan.run_type == "merge":
            self._commit_merge(record, state)
        else:
            self._commit_files(record, state)
        self.committed = True
        faults.point("after-publish")
        table = open_table(self.location, self.plan.entity)
        assert table is not None
        in_target = count_rows(table, self.place.folder)
        self._after_commit(table, record, state)
        return CommitResult(rows_in_target=in_target, bytes_written=self.bytes_written,
                            files=[f.path for f in self.written], location=self.location.shown,
                            warnings=self.healed)

    def _commit(self, commit: Any) -> None:
        faults.point("state")
        guarded(commit, self.location, self.app, self.counter, self.plan.entity)

    def _create(self, adds: list[Any], props: CommitProperties, mode: str = "error") -> None:
        configuration = dict(self.store.config.properties) or None
        if mode == "overwrite" and self.table is not None:
            configuration = dict(self.table.metadata().configuration) or configuration
        self._commit(lambda: create_table_with_add_actions(
            self.location.uri, DeltaSchema.from_arrow(self.table_schema), adds, mode=mode,  # type: ignore[arg-type]
            partition_by=self.partition_by or None, configuration=configuration,
            storage_options=storage_options(self.location), commit_properties=props))

    def _commit_files(self, record: RunRecord, state: EntityState) -> None:
        adds: list[Any] = [add_action(f) for f in self.written]
        keeps = self.plan.run_type != "full_drop" and self.table is not None
        self.rows_after = self.rows_written + (self.before if keeps else 0)
        record.rows_in_target = self.rows_after
        props = commit_properties(self.app, self.counter, record, state)
        table, schema = self.table, DeltaSchema.from_arrow(self.table_schema)
        if table is None or self.repartition:
            self._create(adds, props, "overwrite" if table is not None else "error")
        elif not keeps:
            self._commit(lambda: table.create_write_transaction(adds, "overwrite", schema, self.partition_by,
                                                                commit_properties=props))
        elif self.change == "rewrite":
            adds = self._rewritten() + adds
            self._commit(lambda: table.create_write_transaction(adds, "overwrite", schema, self.partition_by,
                                                                commit_properties=props))
        else:
            if self.change == "add":
                self._add_columns()
            grown = self.table
            assert grown is not None
            self._commit(lambda: grown.create_write_transaction(adds, "append", schema, self.partition_by,
                                                                commit_properties=props))

    def _add_columns(self) -> None:
        """New columns (nullable; older files read them as nulls) in a metadata-only commit of their own."""
        assert self.table is not None and self.existing is not None
        added = [DeltaField.from_arrow(f) for f in self.table_schema if f.name not in self.existing.names]
        table = self.table
        guarded(lambda: table.alter.add_columns(added, commit_properties=CommitProperties(max_commit_retries=0)),
                self.location, self.app, self.counter, self.plan.entity)
        self._reload()

    def _reload(self) -> None:
        """The table after a schema commit of this run: the data commit follows that version."""
        self.table = open_table(self.location, self.plan.entity)

    def _rewritten(self) -> list[Any]:
        """Every file of the table in the widened types, as new files of this run (one file in memory at a time)."""
        assert self.table is not None and self.existing is not None
        old, new = hygge_schema(self.existing), hygge_schema(self.table_schema)
        files = self.rewrite = self._data_files(self.table_schema, run_tag(self.record.run_id) + "-rewrite")
        actions = pa.table(self.table.get_add_actions(flatten=True))
        parts = [c for c in actions.column_names if c.startswith("partition.")]
        for row in actions.select(["path", *parts]).to_pylist():
            values = {c[len("partition."):]: _text(row[c]) for c in parts}
            for batch in file_batches(self.place.open, row["path"], values, self.existing, self.plan.batch_bytes):
                table = evolve_table(pa.Table.from_batches([restored(batch, old)]), new)
                for piece in table.to_batches():
                    files.write(to_delta(piece, self.table_schema))
        rewritten = files.close()
        self.place.publish(rewritten)
        self.written += rewritten
        return [add_action(f) for f in rewritten]

    def _commit_merge(self, record: RunRecord, state: EntityState) -> None:
        work = staging_dir(self.folder, self.record.run_id)
        source, rows = one_row_per_key(work / "rows.parquet", self.plan, work)
        batch_rows = max(1024, self.plan.batch_bytes // max(1, len(self.physical) * 16))
        if self.table is None:
            self.files = self._data_files(self.physical, run_tag(self.record.run_id))
            for batch in source_batches(source, _plain(self.physical), batch_rows, self.plan.delete_column):
                self.files.write(batch)
            self.written = self.files.close()
            self.place.publish(self.written)
            self.rows_after = record.rows_in_target = sum(f.rows for f in self.written)
            self._create([add_action(f) for f in self.written],
                         commit_properties(self.app, self.counter, record, state))
            return
        if self.change == "add":
            self._add_columns()
        elif self.change == "rewrite":
            adds = self._rewritten()
            table, schema = self.table, DeltaSchema.from_arrow(self.table_schema)
            guarded(lambda: table.create_write_transaction(adds, "overwrite", schema, self.partition_by,
                                                           commit_properties=CommitProperties(max_commit_retries=0)),
                    self.location, self.app, self.counter, self.plan.entity)
            self.rewrite = None  # committed: those files are the table's now, whatever happens next
            self._reload()
        props = commit_properties(self.app, self.counter, record, state)
        if rows == 0:
            table, schema = self.table, DeltaSchema.from_arrow(self.table_schema)
            self.rows_after = self.before
            self._commit(lambda: table.create_write_transaction([], "append", schema, commit_properties=props))
            return
        self.place.record_intent(Intent(self.record.run_id, self.app, self.read_version, now(), now()))
        self.merging = True
        writer = writer_properties(self.store.config.compression, self.store.config.compression_level)
        metrics: dict[str, Any] = {}
        table = self.table

        def run_merge() -> None:
            metrics.update(merge_into(table, source, _plain(self.table_schema), self.plan, batch_rows, writer, props))
            if not committed_anyway(self.location, self.app, self.counter):
                # A MERGE that changes no row commits nothing in delta-rs; the run's state must still be committed.
                schema = DeltaSchema.from_arrow(self.table_schema)
                table.create_write_transaction([], "append", schema, commit_properties=props)

        self._commit(run_merge)
        if metrics:
            self.rows_after = (self.before + int(metrics["num_target_rows_inserted"])
                               - int(metrics["num_target_rows_deleted"]))

    def _after_commit(self, table: Any, record: RunRecord, state: EntityState) -> None:
        """Bookkeeping and the maintenance asked for; the run is committed, so nothing here may fail it."""
        try:
            if self.place.state_cache is not None:
                write_cache(self.place.state_cache, self.app, Committed(table.version(), self.counter, record, state))
            self.place.drop_intent(self.record.run_id)
        except (OSError, HyggeError):
            pass  # the next run's healing finds the commit and tidies up
        config = self.store.config
        try:
            if config.optimize:
                table.optimize.compact(target_size=int(config.target_file_size),
                                       writer_properties=writer_properties(config.compression,
                                                                           config.compression_level))
            if config.vacuum is not None:
                table.vacuum(retention_hours=config.vacuum.retention_hours, dry_run=False,
                             enforce_retention_duration=config.vacuum.enforce_retention_duration)
        except DELTA_ERRORS as exc:
            self.healed.append(f"the run is committed, but table maintenance failed: {first_line(exc)}")

    def abort(self) -> None:
        if self.committed:
            return  # a failure after the commit (counts that do not reconcile) must not touch committed files
        try:
            for files in (self.files, self.rewrite):
                if files is not None:
                    files.abandon()
            if self.staged is not None:
                self.staged.close()
            if not self.merging:
                self.place.drop_intent(self.record.run_id)
        except (OSError, pa.ArrowException, HyggeError):
            pass  # the intent stays; the next run's healing removes what is left

    def close(self) -> None:
        if self.keys is not None:
            self.keys.close()
        self.lock.release()
        self.place.finished()


def _recorded(field: pa.Field) -> bytes | None:
    return (field.metadata or {}).get(ARROW_KEY.encode())


def _plain(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type) for f in schema])


def _text(value: Any) -> str | None:
    from hygge.lake.datafiles import partition_value

    return partition_value(value)
