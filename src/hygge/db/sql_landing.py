"""The commit protocol shared by the database Stores.

One move is one transaction on one session:

- ``full_drop`` loads into a staging table ``_hygge_stage_<target>`` and, at
  commit, swaps it for the target (or, with ``full_drop_mode: truncate``,
  empties the target and copies the rows in, keeping its indexes, grants and
  dependent views);
- ``append`` loads straight into the target (created if missing);
- the entity's state and run record are written to the journal tables;

and then everything commits at once. A failure, a lost connection or a
killed process rolls it all back: readers never see a partial load, and the
journal never runs ahead of the data. Engines whose DDL cannot take part in a
transaction (MySQL) override the steps that need it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyarrow as pa

from hygge.core import faults
from hygge.core.config import SchemaPolicy
from hygge.core.drift import Drift
from hygge.core.plan import MovePlan
from hygge.core.room import ran_out
from hygge.db.dialect import UnsupportedType
from hygge.db.exact_types import ExactTypes, published_types
from hygge.db.fitting import Fitting
from hygge.db.keys import collision, keep_key, refuse_duplicates
from hygge.db.merge import SEQ, merge, with_arrival_order
from hygge.db.sql_parts import SqlPartTarget
from hygge.db.sqlstore import SqlStore, part_prefix, staging_name
from hygge.errors import HyggeError, ReadError, StateError, WriteError, did_you_mean
from hygge.state.journal import EntityState, RunRecord
from hygge.stores.base import CommitResult, Landing


def old_name(table: str) -> str:
    """The name a swap gives the table it replaces, until it drops it."""
    return f"_hygge_old_{table}"[:60]


class SqlLanding(Landing):
    def __init__(self, store: SqlStore, plan: MovePlan, record: RunRecord):
        self.store = store
        self.plan = plan
        self.record = record
        self.d = store.dialect()
        self.schema, self.table = store.split(plan)
        self.target = self.d.table_ref(self.schema, self.table)
        self.staging: str | None = None
        self.journal = store.journal(self.d, self.schema)
        self.stack = ExitStack()
        self.before = 0
        self.drop_after: list[str] = []
        self.key_notes: list[str] = []
        self.finished = ""  # the run whose rename this one finished (_finish_pending_rename)
        self.changed: set[str] = set()  # columns this run added to the target or widened
        try:
            self.conn = self.d.connect()
            self.stack.callback(self.d.close, self.conn)
            self.stack.enter_context(self.d.entity_lock(self.conn, f"{store.spec.key}|{self.target}", plan.lock_wait))
            self._prepare()
        except BaseException:
            self.stack.close()
            raise

    def _prepare(self) -> None:
        d, conn = self.d, self.conn
        try:
            # Schema and journal tables are shared by every move into this schema: create them in a
            # short transaction of their own, one move at a time, before the move's own transaction.
            d.begin(conn)
            d.setup_lock(conn, self.schema)
            healed = self._ensure_tables()
            # Recorded as running once it holds the table, in this short transaction: never in the data's.
            self.found = self.journal.start(conn, self.record, healed)
            if self.finished:
                self.found.append(f"{self.finished} was killed after committing its rows and state, before the "
                                  "rename that publishes them (MySQL commits DDL by itself): the rename is done now")
            d.commit(conn)
            d.begin(conn)
            self.exists = d.table_exists(conn, self.schema, self.table)
        except HyggeError:
            raise
        except Exception as exc:
            raise d.explain(exc, "preparing the target", self.target) from exc

    def _ensure_tables(self) -> str:
        """Create the schema and journal; finish or drop what a killed run left. Says what that was."""
        if self.store.config.create_schema and self.schema:
            self.d.ensure_schema(self.conn, self.schema)
        self.journal.ensure(self.conn)
        if self.d.keeps_types:
            ExactTypes(self.d, self.schema).ensure(self.conn)
        finished = self._finish_pending_rename()
        # Staging and partition tables of a run that was killed, and the replaced table a swap that could not
        # be one transaction (MySQL) had not dropped yet: we hold the lock, so they are ours to drop.
        leftovers = (staging_name(self.table), old_name(self.table))
        dropped = []
        for name in self.d.list_tables(self.conn, self.schema):
            if name in leftovers or name.startswith(part_prefix(self.table)):
                self.d.execute(self.conn, f"DROP TABLE {self.d.table_ref(self.schema, name)}")
                dropped.append(name)
        if finished:
            return finished + (f", and dropped the table(s) it left, {', '.join(dropped)}" if dropped else "")
        if dropped:
            return f"dropped the table(s) it left, {', '.join(dropped)}"
        return "found nothing of it to undo: its transaction rolled back when its session ended"

    def _finish_pending_rename(self) -> str:
        """A run killed after committing its rows (staged) and state, before the rename that publishes them (MySQL):
        the rename is done now, under the entity's lock, before the leftovers are dropped or anything is read."""
        d, conn = self.d, self.conn
        staged = self.journal.pending(conn, self.record.project, self.plan.key)
        if staged is None:
            return ""
        state = self.journal.read(conn, self.record.project, self.plan.key)
        done = ""
        if d.table_exists(conn, self.schema, staged):
            staging = d.table_ref(self.schema, staged)
            old = d.table_ref(self.schema, old_name(self.table))
            d.execute(conn, f"DROP TABLE IF EXISTS {old}")
            if d.table_exists(conn, self.schema, self.table):
                d.publish_swap(conn, self.target, staging, self.table, old)
            else:
                d.rename(conn, staging, self.target, self.table)
            done = "finished the publish it had begun (its rows and state were committed, their rename not yet)"
            run_id = (state.last_run or {}).get("run_id") if state else None
            self.finished = f"run {run_id}" if run_id else "a run"
        self.journal.published(conn, self.record.project, self.plan.key)
        return done

    def target_schema(self) -> pa.Schema | None:
        if not self.exists:
            return None
        schema = self.d.table_schema(self.conn, self.schema, self.table)
        return pa.schema([f for f in schema if f.name != SEQ])

    def begin(self, schema: pa.Schema, drift: Drift | None = None) -> None:
        self._refuse_unsupported(schema)
        self.arrow_schema = schema
        try:
            if self.plan.run_type in ("full_drop", "merge"):
                self.write_table = staging_name(self.table)
                self.staging = self.d.table_ref(self.schema, self.write_table)
                staged = schema
                if self.plan.run_type == "merge":
                    self._check_merge_columns(schema)
                    staged = schema.append(pa.field(SEQ, pa.int64()))
                    if self.exists:
                        self._evolve(drift)
                        self._check_compatible(schema)
                        self.before = self.d.count_rows(self.conn, self.target)
                self.d.create_table(self.conn, self.staging, staged)
            else:
                self.write_table = self.table
                if not self.exists and self.key_on and not self.d.transactional_ddl:
                    # Keyed before its rows reach the target: adding the key later would commit them (MySQL).
                    self.write_table = staging_name(self.table)
                    self.staging = self.d.table_ref(self.schema, self.write_table)
                    self.d.create_table(self.conn, self.staging, schema)
                elif not self.exists:
                    self.d.create_table(self.conn, self.target, schema)
                else:
                    self._evolve(drift)
                    self._check_compatible(schema)
                    self.before = self.d.count_rows(self.conn, self.target)
            if self.key_on and self.exists and not self._replaces():
                # Before any row is loaded and before the bounds are read: MySQL may change the key columns' types.
                self._key(self.table, shown_as=self.target)
            self.fit = self._fitting()
            if self.fit.may_widen and not self.d.transactional_ddl and self.write_table == self.table:
                # Widening commits at once on such engines (MySQL): the rows wait in a staging table until the
                # target has been widened, at commit, or the rows loaded before the widening would commit with it.
                self.write_table = staging_name(self.table)
                self.staging = self.d.table_ref(self.schema, self.write_table)
                self.d.create_table(self.conn, self.staging, schema)
            if self.write_table != self.fit.table:
                self.fit.also(self.conn, self.write_table)
            self.write_ref = self.d.table_ref(self.schema, self.write_table)
        except HyggeError:
            raise
        except Exception as exc:
            raise self.d.explain(exc, "creating the table", self.target) from exc

    def _refuse_unsupported(self, schema: pa.Schema) -> None:
        problems = []
        for field in schema:
            try:
                self.d.column_type(field)
            except UnsupportedType as exc:
                problems.append(str(exc))
        if problems:
            raise WriteError(
                f"{self.d.name} cannot hold {len(problems)} column(s) faithfully; nothing was written",
                entity=self.plan.entity,
                path=self.target,
                expected=f"types {self.d.name} can store without loss",
                found="; ".join(problems),
                hint="convert them at the source, drop them with `polish: drop: [...]`, or pick another store",
            )

    def _fitting(self) -> Fitting:
        """The bounds the rows must fit: the existing target's, where the rows end up in it, else the new table's."""
        truncating = self.plan.run_type == "full_drop" and self.store.config.full_drop_mode == "truncate"
        into_target = self.exists and (self.plan.run_type != "full_drop" or truncating)
        policy = SchemaPolicy.model_validate(self.plan.schema_policy)
        return Fitting(self.d, self.conn, self.schema, self.table if into_target else self.write_table,
                       widen=into_target and policy.type_changes == "widen", entity=self.plan.entity,
                       where=self.target)

    def _evolve(self, drift: Drift | None) -> None:
        """Add new columns and widen changed ones, inside the move's transaction."""
        if drift is None:
            return
        names = set(self.arrow_schema.names)
        for field in drift.new:
            if field.name in names:  # not ignored by the policy
                self.d.add_column(self.conn, self.schema, self.table, field)
                self.changed.add(field.name)
        for name, _, new in drift.widened:
            self.d.widen_column(self.conn, self.schema, self.table, pa.field(name, new))
            self.changed.add(name)

    def _check_merge_columns(self, schema: pa.Schema) -> None:
        wanted = [*self.plan.keys, *(c for c in (self.plan.watermark, self.plan.delete_column) if c)]
        missing = [c for c in wanted if c not in schema.names]
        if missing:
            raise WriteError(
                "merge names columns the rows do not have",
                entity=self.plan.entity, path=self.target,
                expected=f"columns among {', '.join(schema.names)}", found=", ".join(missing),
                hint=did_you_mean(missing[0], schema.names) or "fix `keys`, `watermark` or `delete_column`",
            )

    def _check_compatible(self, schema: pa.Schema) -> None:
        existing = self.d.table_schema(self.conn, self.schema, self.table)
        missing = [n for n in schema.names if n not in existing.names]
        if missing:
            raise WriteError(
                "the target table lacks columns the source has",
                entity=self.plan.entity,
                path=self.target,
                expected=f"columns {', '.join(schema.names)}",
                found=f"no column(s) {', '.join(missing)}",
                hint="run once with --full-drop to recreate the table, or drop those columns with polish",
            )

    def write(self, batch: pa.RecordBatch) -> None:
        self.write_stream(iter([batch]))

    def write_stream(self, batches: Iterator[pa.RecordBatch]) -> None:
        failure: list[BaseException] = []
        merging = self.plan.run_type == "merge"
        rows = iter(batches)
        # A batch that needs the target widened before it can go in: the load stops before it, the column is
        # widened in the same transaction, and a new load starts with it.
        held: list[pa.RecordBatch] = []
        direct = self.write_table == self.fit.table

        def counted() -> Iterator[pa.RecordBatch]:
            # Errors raised by the home arrive inside the driver; keep the original to re-raise it.
            try:
                while True:
                    waited = bool(held)
                    batch = held.pop() if held else next(rows, None)
                    if batch is None:
                        return
                    if self.fit.check(batch) and direct:
                        if waited:
                            raise StateError("widening the target did not make room for the rows",
                                             entity=self.plan.entity, path=self.target,
                                             hint="widen the column yourself (ALTER TABLE), and report this")
                        held.append(batch)
                        return
                    start = self.rows_written
                    self.rows_written += batch.num_rows
                    self.bytes_written += batch.nbytes
                    if merging:  # arrival order, to break ties between duplicate keys
                        batch = with_arrival_order(batch, start)
                    yield self.d.to_engine(batch)
                    faults.point("write")
            except BaseException as exc:
                failure.append(exc)
                raise

        staged = self.arrow_schema.append(pa.field(SEQ, pa.int64())) if merging else self.arrow_schema
        while True:
            try:
                self.d.ingest(self.conn, self.schema, self.write_table, staged, counted())
                if not held:
                    return
                self.fit.apply(self.conn)
            except BaseException as exc:
                if failure:
                    raise failure[0] from None
                met = collision(exc, self.plan.keys, self.plan.entity, self.target)
                if met is not None:
                    raise met from exc
                if isinstance(exc, HyggeError):
                    raise
                if isinstance(exc, Exception):
                    raise self.d.explain(exc, "loading rows", self.write_ref) from exc
                raise

    def load_files(self, files: list[Path], expected: int, on_rows: Callable[[int], None]) -> bool:
        """Let the engine read parquet files itself (core/passthrough.py); False when it cannot do so exactly.

        ``expected`` is the files' row count from their footers, read when the source was opened."""
        if self.fit.active:
            return False  # the rows must pass the target's bounds, batch by batch
        try:
            taken = self.d.load_parquet(self.conn, self.schema, self.write_table, self.arrow_schema.names, files)
        except HyggeError:
            raise
        except Exception as exc:
            if ran_out(exc) is not None or "could not write" in str(exc).lower():
                raise self.d.explain(exc, "loading parquet files", self.write_ref) from exc  # the target's side
            raise ReadError(
                f"{self.d.name} could not load this entity's parquet file(s) itself; nothing was committed",
                entity=self.plan.entity, path=", ".join(str(f) for f in files[:3]),
                expected="readable parquet files", found=str(exc).strip().splitlines()[0][:300],
                hint="re-export the file from its source, or set `native_parquet: false` on the store to read it "
                     "through hygge's own reader, which names the damaged file",
            ) from exc
        if taken is None:
            return False
        if taken != expected:
            raise StateError(
                f"{self.d.name} inserted another number of rows than the parquet footers hold; nothing was committed",
                entity=self.plan.entity, path=self.write_ref,
                expected=f"{expected:,} rows", found=f"{taken:,}",
                hint="check whether the files changed during the move, and run again",
            )
        self.rows_written += taken
        self.bytes_written += sum(path.stat().st_size for path in files)
        on_rows(taken)
        faults.point("write")
        return True

    def part_targets(self, count: int) -> list[Any]:
        if not self.d.remote_writers:
            from hygge.core.split import NotSplittable

            raise NotSplittable(self.d.name)
        merging = self.plan.run_type == "merge"
        return [SqlPartTarget(self.plan.store, self.plan.root, self.plan.connections, self.schema,
                              f"{part_prefix(self.table)}{i}", (i << 40) if merging else None)
                for i in range(count)]

    def adopt(self, results: list[Any]) -> None:
        d = self.d
        fields = self.arrow_schema.append(pa.field(SEQ, pa.int64())) if self.plan.run_type == "merge" else (
            self.arrow_schema)
        for result in results:
            part = d.table_ref(self.schema, result.outputs)
            d.insert_select(self.conn, self.schema, self.write_table, fields, part)
            self.drop_after.append(part)
            self.rows_written += result.rows_written
            self.bytes_written += result.bytes_written

    def rows_before(self) -> int | None:
        if not self.exists:
            return 0
        return self.d.count_rows(self.conn, self.target)

    def expected_rows_after(self) -> int | None:
        return None  # checked inside the transaction, before commit (see _reconcile)

    def commit(self, record: RunRecord, state: EntityState) -> CommitResult:
        d, conn = self.d, self.conn
        try:
            before = self.before
            added = self.rows_written
            self.fit.apply(conn)  # widenings the rows waiting in staging need, before they reach the target
            if d.keeps_types:  # before the publish: on MySQL its RENAME commits what came before
                self._keep_types()
            # Where DDL commits by itself (MySQL), a rename that publishes the rows comes after the state commits,
            # which names the staging table: a kill in between is finished by the next run (_finish_pending_rename).
            # Renamed first, a kill before the state's commit left the rows published and the state before them.
            deferred = not d.transactional_ddl and self.plan.run_type != "merge" and self._renames()
            if self.plan.run_type == "merge":
                matched, inserted = self._merge()
                added = inserted - matched
            else:
                self._publish(rename=not deferred)
            in_target = d.count_rows(conn, self.write_ref if deferred else self.target)
            expected = added + before
            if in_target != expected:
                raise StateError(
                    "the loaded rows do not reconcile; nothing was committed",
                    entity=self.plan.entity, path=self.target,
                    expected=f"{expected:,} rows in the target", found=f"{in_target:,}",
                    hint="run again; if it repeats, compare source and target and report it",
                )
            record.rows_in_target = in_target
            self.journal.write(conn, self.plan.key, record, state, pending=self.write_table if deferred else None)
            faults.point("state")
            d.commit(conn)
            if deferred:
                faults.point("rename")
                self._publish_staging()  # commits by itself; failing here, it is finished by the next run
                self.journal.published(conn, record.project, self.plan.key)
                d.commit(conn)
        except HyggeError:
            raise
        except Exception as exc:
            raise d.explain(exc, "committing", self.target) from exc
        self.committed = True
        # After the commit: on MySQL a DROP would commit the move's transaction early. A kill
        # before this point leaves staging tables, which the next run drops.
        for table in self.drop_after:
            try:
                d.execute(conn, f"DROP TABLE IF EXISTS {table}")
                d.commit(conn)
            except Exception:  # noqa: BLE001 - the next run's preparation drops it
                pass
        return CommitResult(rows_in_target=in_target, bytes_written=self.bytes_written,
                            location=self.store.location(self.plan))

    def _merge(self) -> tuple[int, int]:
        assert self.staging is not None
        if not self.exists:
            self.d.create_table(self.conn, self.target, self.arrow_schema)
            if self.plan.keys:
                self._key(self.table, measured=(self.staging,))
        counts = merge(self.d, self.conn, (self.schema, self.table), self.staging, self.arrow_schema, self.plan.keys,
                       self.plan.watermark, self.plan.delete_column, self.plan.entity)
        self.drop_after.append(self.staging)
        return counts

    def _keep_types(self) -> None:
        """Write the target's exact Arrow types, as they are once this run is published, to _hygge_types."""
        now = None if self._replaces() else self.d.table_schema(self.conn, self.schema, self.table)
        fields = published_types(self.d, now, self.arrow_schema, self.changed)
        ExactTypes(self.d, self.schema).write(self.conn, self.table, fields)

    @property
    def key_on(self) -> tuple[str, ...]:
        """The keys the target table is keyed on: those of a merge or an incremental load (MovePlan.key_tables).
        `keys:` on a full_drop or append (set for another run type, or a `--append` for once) may come with rows
        that repeat them, as they always could: such a table is not keyed by hygge."""
        return tuple(self.plan.keys) if self.plan.key_tables else ()

    def _replaces(self) -> bool:
        """Whether this run's rows become a new table: the target did not exist, or a swap replaces it."""
        return not self.exists or (self.plan.run_type == "full_drop" and self.store.config.full_drop_mode == "swap")

    def _key(self, table: str, measured: tuple[str, ...] = (), shown_as: str = "") -> None:
        note = keep_key(self.d, self.conn, self.schema, table, self.plan.keys, measured=measured, shown_as=shown_as)
        if note:
            self.key_notes.append(note)

    def _renames(self) -> bool:
        """Whether the staged rows are published by renaming their table (a new target, or a swap)."""
        copies = self.plan.run_type == "append" or self.store.config.full_drop_mode == "truncate"
        return self.staging is not None and (not self.exists or not copies)

    def _publish(self, rename: bool = True) -> None:
        """Publish the staged rows, if staged; a table they make new is keyed on ``keys`` first (MySQL: an ALTER
        would commit the published rows) or after (elsewhere: its index name is free once the old table is gone).
        Without ``rename`` a rename that would publish them is left for after the state's commit (commit())."""
        keyed = bool(self.key_on) and self._replaces()
        if self.key_on and (self.staging is not None or not self.exists):
            refuse_duplicates(self.d, self.conn, self.write_ref, self.key_on, self.plan.entity, self.target)
        if keyed and not self.d.transactional_ddl:
            self._key(self.write_table)
        if self.staging is not None and (rename or not self._renames()):
            self._publish_staging()
        if keyed and self.d.transactional_ddl:
            self._key(self.table)

    def _publish_staging(self) -> None:
        d, conn = self.d, self.conn
        assert self.staging is not None
        if not self.exists:
            d.rename(conn, self.staging, self.target, self.table)
        elif self.plan.run_type == "append" or self.store.config.full_drop_mode == "truncate":
            if self.plan.run_type == "full_drop":
                d.execute(conn, f"DELETE FROM {self.target}")
            d.insert_select(conn, self.schema, self.table, self.arrow_schema, self.staging)
            self.drop_after.append(self.staging)
        else:
            old = d.table_ref(self.schema, old_name(self.table))
            d.publish_swap(conn, self.target, self.staging, self.table, old)

    def notes(self) -> list[str]:
        return [*(self.fit.notes if hasattr(self, "fit") else []), *self.key_notes]

    def abort(self) -> None:
        try:
            self.d.rollback(self.conn)
        except Exception:  # noqa: BLE001 - a lost connection rolls back on the server anyway
            pass

    def close(self) -> None:
        self.stack.close()
