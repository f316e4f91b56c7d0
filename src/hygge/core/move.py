"""One entity's run: read, polish, land, commit (or abort), with counts that must reconcile."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa

from hygge.core import faults
from hygge.core.config import SchemaPolicy
from hygge.core.drift import Drift, check, compare, conform, conformed_schema
from hygge.core.part_counts import PartCounts
from hygge.core.passthrough import unchanged
from hygge.core.pipe import Pipe, pump
from hygge.core.plan import MovePlan
from hygge.core.planner import open_home, open_store
from hygge.core.polish import Polisher
from hygge.core.results import MoveResult
from hygge.core.schema_changes import column_changes
from hygge.core.split import ClusterSubmit, NotSplittable, Submit, merged_state, stage_partitions
from hygge.errors import Cancelled, ConfigError, ConfigProblem, HyggeError, ReadError, StateError, StateMoved
from hygge.homes.base import Home, ReadState, Source
from hygge.progress.events import Emit, Event, ignore
from hygge.progress.tally import Tally, Ticker
from hygge.state import watermark
from hygge.state.journal import EntityState, RunRecord, new_run_id, utc_now
from hygge.stores.base import Landing, Store

TRANSIENT_OS_ERRORS = (ConnectionError, TimeoutError)


def as_hygge_error(exc: BaseException, plan: MovePlan) -> HyggeError:
    """Every failure leaves a Move as a HyggeError that names the flow and entity."""
    if isinstance(exc, HyggeError):
        return exc.located(flow=plan.flow, entity=plan.entity)
    if isinstance(exc, KeyboardInterrupt):
        return Cancelled(f"stopped by {exc or 'Ctrl-C'} while moving; what it staged was rolled back",
                         flow=plan.flow, entity=plan.entity)
    if isinstance(exc, TRANSIENT_OS_ERRORS):
        return HyggeError(f"connection problem: {exc}", flow=plan.flow, entity=plan.entity, transient=True,
                          hint="hygge retried it; check the network and the server, then run again")
    if isinstance(exc, MemoryError):
        return HyggeError("ran out of memory", flow=plan.flow, entity=plan.entity,
                          hint="lower `options: batch_bytes` and `queue_bytes`, or run fewer moves at once")
    return HyggeError(
        f"unexpected {type(exc).__name__}: {exc}",
        flow=plan.flow,
        entity=plan.entity,
        hint="run again with --verbose to see the traceback, and report it if it persists",
    )


class Move:
    def __init__(self, plan: MovePlan, emit: Emit = ignore, cancel: threading.Event | None = None,
                 submit: Submit | None = None):
        self.plan = plan
        self.submit = submit
        self.part_state: dict[str, Any] | None = None
        self.emit = emit
        self.cancel = cancel or threading.Event()
        self.started = utc_now()
        self.record = RunRecord(
            run_id=new_run_id(self.started),
            flow=plan.flow,
            entity=plan.entity,
            run_type=plan.run_type,
            started_at=self.started.isoformat(),
            project=plan.project,
        )
        self.result = MoveResult(flow=plan.flow, entity=plan.entity, run_type=plan.run_type, run_id=self.record.run_id)
        self.rows_read = 0
        self.tally = Tally()  # what the bar shows: rows and bytes read so far, from every reading thread
        self.total_rows: int | None = None
        self.max_seen: pa.Scalar | None = None
        self.mode = plan.run_type
        self.drift: Drift | None = None
        self.reloaded: list[str] = []
        self.store: Store | None = None
        self.held: list[threading.BoundedSemaphore] = []

    def _event(self, kind: str, **kwargs: Any) -> None:
        self.emit(Event(kind, self.plan.flow, self.plan.entity, **kwargs))

    def _progress(self, rows: int, nbytes: int) -> None:
        self._event("progress", rows=rows, bytes=nbytes, total_rows=self.total_rows)

    def ticking(self) -> Ticker:
        return Ticker(self.tally, self._progress, name=f"hygge-tick-{self.plan.key}")

    def run(self) -> MoveResult:
        clock = time.perf_counter()
        source: Source | None = None
        landing: Landing | None = None
        try:
            home = open_home(self.plan.root, self.plan.home, self.plan.connections)
            self.store = open_store(self.plan.root, self.plan.store, self.plan.connections)
            self.held = self.take_sessions(home, self.store)
            self.result.location = self.store.location(self.plan)
            previous = self.store.state(self.plan)
            if self.plan.run_type == "incremental" and not self.plan.watermark and not home.tracks_files:
                raise ConfigError([ConfigProblem(
                    "run_type incremental needs a `watermark:` column for a database home",
                    key="watermark", expected="the column that grows with every change, e.g. updated_at",
                    hint="add `watermark: updated_at` to the entity or the flow's defaults")])
            state = self.read_state(previous)
            source = home.open(self.plan, state)
            self.result.source = source.description
            self.reloaded = self.files_loaded_again(source, previous)
            # A table's or a folder's estimate counts all its rows: of the rows after a watermark it says nothing.
            self.total_rows = None if state is not None and state.picks_rows() else source.estimated_rows
            self._event("start", total_rows=self.total_rows,
                        detail={"source": source.description, "target": self.result.location,
                                "run_type": self.plan.run_type})
            polisher = Polisher(self.plan.polish, source.schema, self.started, flow=self.plan.flow,
                                entity=self.plan.entity)
            check_delete_column(self.plan, polisher.schema)
            self.mode = landing_run_type(self.plan, previous)
            keyed = bool(self.plan.keys) and self.plan.run_type in ("merge", "incremental")
            landing = self.store.landing(replace(self.plan, run_type=self.mode, key_tables=keyed), self.record)
            self.result.warnings += landing.found
            self.check_state_unchanged(previous)
            schema, self.drift = self.drift_check(landing, polisher.schema)
            landing.begin(schema, self.drift)
            if not (self.copy_whole(source, landing, polisher) or self.transfer_parts(source, landing, schema)):
                self.transfer(source, polisher, landing)
            self.check_empty(landing)
            self.commit(landing, source, schema, previous)
        except BaseException as exc:
            self.fail(exc, landing)
            if not isinstance(exc, Exception):
                raise
        finally:
            try:
                self.log()  # before the landing lets go of the entity: its records are written by the lock's holder
            finally:
                if landing is not None:
                    landing.close()
                if source is not None:
                    source.close()
                for slot in self.held:
                    slot.release()
            self.result.seconds = time.perf_counter() - clock
            self._event("done", rows=self.result.rows_written, bytes=self.result.bytes_written,
                        detail={"result": self.result})
        return self.result

    def check_state_unchanged(self, previous: EntityState | None) -> None:
        """The state was read before the landing took the entity's lock: a run that committed in between (this one
        queued behind it with `lock_wait`) moved it, and reading from the old state would load its rows again."""
        assert self.store is not None
        if _last_run(self.store.state(self.plan)) != _last_run(previous):
            raise StateMoved(
                "the entity's state changed after this run read it (another run committed, or a publish a killed run "
                "had begun was finished); nothing was written", flow=self.plan.flow, entity=self.plan.entity,
                path=self.result.location, expected="the state this run planned from", found="a newer state",
                hint="hygge starts the move over from the state as it is now")

    def take_sessions(self, home: Home, store: Store) -> list[threading.BoundedSemaphore]:
        """One session per connection this move uses, taken in a fixed order so moves never deadlock."""
        wanted = {}
        for end in (home, store):
            key, slot = end.connection_key(), end.sessions()
            if key is not None and slot is not None:
                wanted[key] = slot
        held: list[threading.BoundedSemaphore] = []
        try:
            for key in sorted(wanted):
                while not wanted[key].acquire(timeout=0.2):
                    if self.cancel.is_set():
                        raise Cancelled("stopped while waiting for a free database session")
                held.append(wanted[key])
        except BaseException:
            for slot in held:
                slot.release()
            raise
        return held

    def read_state(self, previous: EntityState | None) -> ReadState | None:
        return read_state(self.plan, previous)

    def files_loaded_again(self, source: Source, previous: EntityState | None) -> list[str]:
        """Files an earlier run loaded that changed since: without keys, all their rows are added once more. (Not
        where a watermark without lookback reads only the rows after it: then none of those rows is read again.)"""
        if self.plan.keys or self.plan.run_type not in ("append", "incremental") or not previous:
            return []
        if self.plan.run_type == "incremental" and self.plan.watermark and not self.plan.lookback:
            return []
        return source.changed_since_loaded(previous.loaded_files or {})

    def transfer(self, source: Source, polisher: Polisher, landing: Landing) -> None:
        pipe = Pipe(self.plan.queue_bytes, self.cancel)

        column = self.plan.watermark if self.plan.watermark in source.schema.names else None

        def counted(batch: pa.RecordBatch) -> None:
            self.rows_read += batch.num_rows
            self.tally.add(batch.num_rows, batch.nbytes)
            if column is not None:
                self.max_seen = watermark.later(self.max_seen, watermark.column_max(batch, column))
            faults.point("read")

        reader = pump(source.batches, pipe, counted, name=f"hygge-read-{self.plan.key}")

        drift, policy = self.drift, SchemaPolicy.model_validate(self.plan.schema_policy)
        target = landing.target_schema() if drift is not None else None

        def polished() -> Iterator[pa.RecordBatch]:
            while (batch := pipe.get()) is not None:
                out = polisher(batch)
                if drift is not None and target is not None:
                    out = conform(out, target, drift, policy)
                yield out

        try:
            with self.ticking():
                landing.write_stream(polished())
        except BaseException:
            pipe.stop()
            source.close()
            raise
        finally:
            reader.join(timeout=5)

    def drift_check(self, landing: Landing, schema: pa.Schema) -> tuple[pa.Schema, Drift | None]:
        """Compare the rows with the target; refuse what the policy forbids; say how rows are reshaped."""
        target = landing.target_schema()
        if target is None:
            return schema, None
        found = compare(schema, target)
        policy = SchemaPolicy.model_validate(self.plan.schema_policy)
        if self.mode == "full_drop":
            # The target is replaced, columns included: its old shape binds nothing but the policy's "fail".
            # A lossless cast is dropped, not counted as widening: the rows keep their own type and the target
            # holds them as it did before (a store that can only hold timestamp[ms] stores timestamp[s] as that).
            found.widened += found.lossy
            found.narrowed, found.lossy = [], []
            if policy.missing_columns != "fail":
                found.missing = []
            if policy.new_columns == "add":
                found.new = []
        if not found.any:
            return schema, None
        check(found, policy, flow=self.plan.flow, entity=self.plan.entity, where=self.result.location)
        self.result.warnings += found.lines(policy)
        return conformed_schema(schema, found, policy), found

    def copy_whole(self, source: Source, landing: Landing, polisher: Polisher) -> bool:
        """Parquet files that need no change at all are taken whole by stores that can (core/passthrough.py)."""
        whole = unchanged(source, polisher, self.drift, self.mode)
        if whole is None:
            return False

        def taken(rows: int) -> None:
            self.rows_read += rows
            self.tally.add(rows, 0)  # whole files are not decoded: their rows are known, their Arrow size is not

        before = self.rows_read
        with self.ticking():
            done, notes = landing.take_whole(whole, taken)
        self.result.warnings += notes
        if not done:
            self.tally.add(before - self.rows_read, 0)
            self.rows_read = before  # what a landing gave back is read again, batch by batch
            return False
        source.taken_whole(whole.files)
        if isinstance(self.submit, ClusterSubmit):
            self.result.warnings.append("the files were taken whole by the machine running hygge go, not by the "
                                        "cluster: nothing about their rows needed a worker")
        return True

    def transfer_parts(self, source: Source, landing: Landing, schema: pa.Schema) -> bool:
        """With a cluster to submit to, stage a splittable source's partitions on its workers."""
        if self.submit is None:
            return False
        parts = source.parts()
        if len(parts) < 2:
            return False
        try:
            targets = landing.part_targets(len(parts))
        except NotSplittable as exc:
            source.unsplit()
            # e.g. an embedded database: one process must do all the writing. Said, so nobody expects the cluster.
            if isinstance(self.submit, ClusterSubmit):
                self.result.warnings.append(f"a {exc} store is written by one process: its {len(parts)} partitions "
                                            "were read on the machine running hygge go, not on the cluster")
            return False
        counts = PartCounts(self.tally)
        with counts.listening(self.submit, f"hygge-parts-{self.record.run_id}-{self.plan.key}") as counted, \
                self.ticking():
            results = stage_partitions(self.plan, parts, targets, schema, self.started, self.drift,
                                       landing.target_schema(), self.submit, counts.done, counted)
        landing.adopt(results)
        self.rows_read = sum(r.rows_read for r in results)
        state = merged_state(results)
        self.max_seen = state["max_watermark"]
        self.part_state = {"loaded_files": state["loaded_files"]}
        return True

    def check_empty(self, landing: Landing) -> None:
        if self.rows_read or self.plan.allow_empty or self.mode != "full_drop":
            return
        before = landing.rows_before()
        if before:
            raise ReadError(
                f"the source is empty; a full_drop would replace {before:,} rows in the target with nothing",
                flow=self.plan.flow,
                entity=self.plan.entity,
                expected="at least one row",
                found="0 rows",
                hint="check the source; if an empty result is right, set `allow_empty: true` on the entity",
            )

    def commit(self, landing: Landing, source: Source, schema: pa.Schema, previous: EntityState | None) -> None:
        record = self.record
        landing.finish()
        record.rows_read = self.rows_read
        record.rows_written = landing.rows_written
        record.bytes_written = landing.bytes_written  # the state below is committed with the data: record it now
        record.ended_at = utc_now().isoformat()
        record.status = "ok" if self.rows_read else "empty"
        record.watermark_before = previous.watermark if previous else None
        state = self.next_state(source, schema, previous)
        record.watermark_after = state.watermark
        record.schema_changes = column_changes(previous.columns if previous else None, state.columns)
        state.last_run = record.to_dict()
        committed = landing.commit(record, state)
        self.result.committed = True
        record.rows_in_target = committed.rows_in_target
        record.bytes_written = committed.bytes_written
        result = self.result
        result.rows_read, result.rows_written = self.rows_read, landing.rows_written
        result.rows_in_target, result.bytes_written = committed.rows_in_target, committed.bytes_written
        result.watermark = state.watermark
        result.status = record.status
        result.warnings += source.warnings + committed.warnings + landing.notes()
        if self.reloaded:
            result.warnings.append(reloaded_warning(self.reloaded))
        if not self.rows_read:
            result.warnings.append("no new files since the last run" if source.nothing_new()
                                   else "the source had no rows")
        self.reconcile(landing)

    def next_state(self, source: Source, schema: pa.Schema, previous: EntityState | None) -> EntityState:
        from hygge.core.arrowtypes import type_name

        if self.plan.window != (None, None):
            # A backfill reads one slice of the rows: what the next run reads from stays where it was. (Its
            # highest value would skip the rows between the watermark and the slice; its files, the rows of
            # those files outside it.)
            mark = previous.watermark if previous else None
            loaded = (previous.loaded_files if previous else None) or {}
        else:
            new = self.part_state if self.part_state is not None else source.new_state()
            seen = self.max_seen
            high = source.high_water
            if high is not None and high.is_valid and watermark.later(seen, high) is seen:
                seen = high  # rows changed behind a read of several statements carry later values: read again
            if self.mode != "full_drop" and previous is not None:
                seen = watermark.later(watermark.decode(previous.watermark), seen)
            mark = watermark.encode(seen) if self.plan.watermark else None
            loaded = new.get("loaded_files", {})
        return EntityState(
            watermark=mark,
            watermark_column=self.plan.watermark,
            loaded_files=loaded,
            columns=[{"name": f.name, "type": type_name(f.type)} for f in schema],
        )

    def reconcile(self, landing: Landing) -> None:
        result = self.result
        problems = []
        if result.rows_read != result.rows_written:
            problems.append(f"read {result.rows_read:,} rows but wrote {result.rows_written:,}")
        expected = landing.expected_rows_after()
        if expected is not None and result.rows_in_target is not None and result.rows_in_target != expected:
            problems.append(f"the target holds {result.rows_in_target:,} rows, expected {expected:,}")
        if problems:
            raise StateError(
                "row counts do not reconcile after the commit",
                flow=self.plan.flow,
                entity=self.plan.entity,
                expected="rows read = rows written = rows added to the target",
                found="; ".join(problems),
                hint="the data is committed; compare source and target, and report this",
            )

    def fail(self, exc: BaseException, landing: Landing | None) -> None:
        stopped = isinstance(exc, KeyboardInterrupt)  # Ctrl-C or SIGTERM, in this thread (the inline executor)
        if stopped and self.result.committed:
            return  # it came after the commit: the move is done, and says so
        if landing is not None:
            try:
                landing.abort()
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
        error = as_hygge_error(exc, self.plan)
        self.result.status = "cancelled" if isinstance(exc, Cancelled) or stopped else "failed"
        self.result.error = error
        self.result.rows_read = self.rows_read
        self.result.traceback = "".join(traceback.format_exception(exc))
        # A run that starts over (StateMoved) ended without doing anything: its record says so, not "failed".
        self.record.status = "restarted" if isinstance(exc, StateMoved) else self.result.status
        self.record.error = str(error)
        self.record.rows_read = self.rows_read
        self.record.ended_at = utc_now().isoformat()

    def log(self) -> None:
        if self.store is not None and self.record.status in ("failed", "cancelled", "ok", "empty", "restarted"):
            self.store.log_run(self.record, self.plan)


def _last_run(state: EntityState | None) -> Any:
    return (state.last_run or {}).get("run_id") if state is not None else None


def reloaded_warning(names: list[str]) -> str:
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (f"{shown} changed after an earlier run loaded {'it' if len(names) == 1 else 'them'}: every row of "
            f"{'that file' if len(names) == 1 else 'those files'} was loaded again, so the rows loaded before are "
            "in the target twice; to avoid duplicates set `keys:` (incremental and merge then update rows by "
            "them), or use run_type full_drop, or write each change to a new file")


def read_state(plan: MovePlan, previous: EntityState | None) -> ReadState | None:
    """Which rows to read: after the committed watermark (incremental), or inside a backfill window."""
    window = plan.window != (None, None)
    if plan.run_type != "incremental" and not window:
        return None
    if window and not plan.watermark:
        raise ConfigError([ConfigProblem(
            "--from/--to need the entity's `watermark:` column", key="watermark",
            hint="add `watermark: COLUMN` to the entity, then run the backfill again")])
    incremental = plan.run_type == "incremental" and not window
    return ReadState(
        column=plan.watermark,
        previous=previous.watermark if previous and incremental else None,
        lookback=plan.lookback,
        window=plan.window,
        loaded_files=previous.loaded_files if previous and incremental else None,
    )


def check_delete_column(plan: MovePlan, schema: pa.Schema) -> None:
    """``delete_column`` must be a boolean: engines read other types as true, false or an error each their own way
    (SQLite's text 'true' deleted nothing, exit 0)."""
    column = plan.delete_column
    if not column or column not in schema.names or pa.types.is_boolean(schema.field(column).type):
        return  # a column that is missing is named by the store's merge check, with the columns there are
    if not plan.keys or plan.run_type not in ("merge", "incremental"):
        return  # nothing reads it: only a merge deletes keys
    from hygge.core.arrowtypes import type_name

    found = type_name(schema.field(column).type)
    raise ConfigError([ConfigProblem(
        f"delete_column '{column}' is {found}, not a boolean", key="delete_column", expected="a boolean column",
        found=found, hint=f"cast it with polish, e.g. `polish: {{cast: {{{column}: bool}}}}`, or name a "
                          "boolean column (true deletes the row's key)")])


def landing_run_type(plan: MovePlan, previous: EntityState | None) -> str:
    """How the store takes this run's rows: replace, add, or upsert by keys."""
    if plan.window != (None, None):
        return "merge" if plan.keys else "append"  # a backfill adds one slice: it never replaces the target
    if plan.run_type != "incremental":
        return plan.run_type
    first = previous is None or (previous.watermark is None and not previous.loaded_files)
    if first and plan.window == (None, None):
        # The first run of an incremental entity is a full load; one with keys and a delete_column is a merge,
        # which applies the deletes and keeps the latest row of each key (a full load published flagged rows).
        return "merge" if plan.keys and plan.delete_column else "full_drop"
    return "merge" if plan.keys else "append"


def run_move(plan: MovePlan, emit: Emit = ignore, cancel: threading.Event | None = None,
             submit: Submit | None = None) -> MoveResult:
    return Move(plan, emit, cancel, submit).run()
