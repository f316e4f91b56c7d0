"""The reading side shared by the database Homes: tables or queries, discovery, partitioned reads."""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import Field

from hygge.core import faults
from hygge.core.arrowtypes import type_name
from hygge.core.pipe import fan_in
from hygge.core.plan import MovePlan
from hygge.db.connections import ConnectionSpec, SessionLimits, spec_for
from hygge.db.dialect import Dialect
from hygge.db.high_water import up_to_high_water
from hygge.db.partitions import extremes, partition_predicates
from hygge.db.physical import page_ranges
from hygge.db.sqltext import Sql
from hygge.errors import ConfigError, ConfigProblem, HyggeError, ReadError, did_you_mean
from hygge.homes.base import Check, Home, HomeConfig, ReadState, Source

# Readers of one table split by physical location: past a few, the one server's disk and cores are the limit.
PHYSICAL_READERS = 4


class SqlHomeConfig(HomeConfig):
    connection: str | dict[str, Any] | None = Field(None, description="a name from `connections:`, or a mapping")
    url: str | None = Field(None, description="a database URL, instead of `connection`")
    db_schema: str | None = Field(None, alias="schema", description="schema to read tables from")
    partition_on: str | None = Field(None, description="numeric, date or timestamp column to split reads on")
    partitions: int = Field(1, ge=1, le=256, description="parallel range queries per entity")


class SqlHome(Home):
    Engine: ClassVar[type[Dialect]]
    config: SqlHomeConfig

    def __init__(self, config: SqlHomeConfig, *, root: Path, connections: dict[str, dict[str, Any]] | None = None):
        super().__init__(config, root=root, connections=connections)
        self.spec: ConnectionSpec = spec_for(config, self.connections, self.Engine.name)

    def dialect(self) -> Dialect:
        return self.Engine(self.spec, self.root, reads_only=True)

    @property
    def schema(self) -> str | None:
        return self.config.db_schema or self.Engine.default_schema

    def connection_key(self) -> str | None:
        return self.spec.key

    def sessions(self) -> threading.BoundedSemaphore | None:
        return SessionLimits.of(self.spec)

    def discover(self) -> list[tuple[str, str]]:
        d = self.dialect()
        conn = d.connect()
        try:
            tables = d.list_tables(conn, self.schema)
        finally:
            d.close(conn)
        return [(t, t) for t in sorted(tables) if not t.startswith("_hygge_")]

    def split(self, source: str) -> tuple[str | None, str]:
        if "." in source and self.Engine.default_schema is not None:
            schema, table = source.split(".", 1)
            return schema, table
        return self.schema, source

    def open(self, plan: MovePlan, state: ReadState | None = None) -> Source:
        return SqlSource(self, plan, state)

    def describe(self) -> str:
        return f"{self.type_name} {self.spec.display()}"

    def check(self) -> list[Check]:
        from hygge.db.checks import check_connection

        return [check_connection(self.dialect(), f"home {self.type_name}")]


class SqlSource(Source):
    def __init__(self, home: SqlHome, plan: MovePlan, state: ReadState | None):
        self.home = home
        self.plan = plan
        self.state = state
        self.d = home.dialect()
        self.pages: int | None = None  # set where the table is read in ranges of its pages (db/physical.py)
        self.snapshot: str | None = None  # the exported snapshot a part reads in (parts())
        self._exporter: Any = None  # the session holding it open until the parts are staged (close())
        self._held = 0  # sessions parts() took for its parts' readers, given back by close()
        self.in_turn = False  # a part: its ranges one after another, on the one session it was given
        conn = self.d.connect()
        try:
            self._describe(conn)
            rows = state.filter_for(self._schema) if state is not None else None
            self.where = rows.sql(self.d.quote) if rows is not None and rows.active else Sql()
            self.predicates = self._partitions(conn)
            mark = plan.watermark if plan.watermark in self._schema.names else None
            moments = self.key is not None or (len(self.predicates) > 1 and not self.d.shares_snapshots)
            if mark is not None and (rows is not None or moments):
                self._check_orders(mark)
            if mark is not None and moments:
                # Read in several statements, at several moments: what changed behind the read must be the next
                # run's. Where the next run starts from the watermark this one commits (incremental, also a
                # `--full-drop` of an incremental entity), the read keeps to the watermark's highest value now;
                # a full load whose next run is one too reads every row, and commits no more than that value.
                dtype = self._schema.field(mark).type
                if rows is not None or (plan.configured_run_type or plan.run_type) == "incremental":
                    self.where = up_to_high_water(self.d, conn, self.base, mark, dtype, self.where,
                                                  keep_nulls=rows is None or not rows.active)
                else:
                    (self.high_water,) = extremes(self.d, conn, self.base, mark, dtype, self.where, ("MAX",))
        except HyggeError:
            raise
        except Exception as exc:
            raise self.d.explain(exc, "reading the source's columns", self.ref) from exc
        finally:
            self.d.close(conn)

    def _check_orders(self, column: str) -> None:
        """The watermark is compared in this engine's SQL: its stored values must sort as the values do (SQLite's
        text decimals put 100.00 before 99.00, so rows above a watermark of 99.00 were never read)."""
        dtype = self._schema.field(column).type
        why = self.d.splits(dtype)
        if why:
            raise ConfigError([ConfigProblem(
                f"watermark column '{column}' cannot be compared here: {why}", key="watermark",
                expected="an integer, date or timestamp column", found=f"{type_name(dtype)} in {self.ref}",
                hint="choose another watermark, or give a `query:` that casts it, e.g. "
                     f"`SELECT *, CAST({column} AS INTEGER) AS {column}_n FROM ...`")])

    def _describe(self, conn: Any) -> None:
        d, plan = self.d, self.plan
        if plan.query:
            self.ref = "query"
            self.key = None
            self.base = f"({plan.query}) AS hygge_q"
            self._schema = d.query_schema(conn, plan.query)
            self.description = "query"
            self.columns = "*"
            return
        schema, table = self.home.split(plan.source)
        self.ref = d.table_ref(schema, table)
        if not d.table_exists(conn, schema, table):
            names = d.list_tables(conn, schema)
            raise ReadError(
                "the source table does not exist",
                path=f"{self.home.spec.display()} {schema + '.' if schema else ''}{table}",
                expected="a table or view of that name",
                found="no such table",
                hint=did_you_mean(table, names) or (f"tables there: {', '.join(sorted(names)[:10])}"
                                                     if names else "check `schema` and the entity's `source`"),
            )
        exprs, self._schema = d.read_columns(conn, schema, table)
        self.key = d.chunk_key(conn, schema, table)
        self.base = self.ref
        self.columns = ", ".join(exprs)
        self.estimated_rows = d.estimate_rows(conn, schema, table)
        # Split by physical location unless the person chose how to split (`partition_on`, `partitions`), or keys
        # are set: rows with one key meet in arrival order (db/merge.py), which one stream keeps and ranges not.
        config = self.home.config
        if not plan.keys and not config.partition_on and "partitions" not in config.model_fields_set:
            self.pages = d.physical_pages(conn, schema, table)
        self.rows_exact = False  # the server's statistics, or a guess from the table's size
        self.description = f"table {schema + '.' if schema else ''}{table}"

    def _partitions(self, conn: Any) -> list[Sql]:
        config = self.home.config
        column = config.partition_on
        if not column or config.partitions < 2:
            return [Sql()]
        row_id = self.d.row_id
        if column not in self._schema.names and row_id and column.lower() == row_id and not self.plan.query:
            # SQLite's rowid: ranges of it are index seeks, so each partition reads only its own rows.
            try:
                self.d.query(conn, f"SELECT {row_id} FROM {self.base} LIMIT 0")
            except Exception as exc:
                raise ReadError(f"table {self.ref} has no {row_id} to split reads on (a WITHOUT ROWID table)",
                                path=self.ref, expected=f"a table with a {row_id}", found=str(exc).splitlines()[0],
                                hint=f"set partition_on to one of its columns: {', '.join(self._schema.names)}"
                                ) from exc
            return partition_predicates(self.d, conn, self.base, row_id, pa.int64(), config.partitions, self.where)
        if column not in self._schema.names:
            raise ReadError(
                f"partition_on names column '{column}', which the source does not have",
                path=self.ref, expected=f"one of {', '.join(self._schema.names)}", found=column,
                hint=did_you_mean(column, self._schema.names) or "fix `partition_on` on the home",
            )
        return partition_predicates(self.d, conn, self.base, column, self._schema.field(column).type,
                                    config.partitions, self.where)

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def parts(self) -> list[Source]:
        """One part per session free right now (the move's own among them, or holding the snapshot), each reading
        its share of the ranges in turn: parts never open more sessions than the connection's ``max_sessions``."""
        if len(self.predicates) < 2 or self.in_turn:
            return [self]
        shares = self.d.shares_snapshots
        slot = SessionLimits.of(self.home.spec)
        while self._held < len(self.predicates) - (0 if shares else 1) and slot.acquire(blocking=False):
            self._held += 1
        readers = self._held if shares else self._held + 1
        if readers < 2:
            self.unsplit()
            return [self]
        if shares:
            # Parts are read by writers of their own (threads, or a cluster's processes), each at its own moment;
            # in one snapshot a row whose key moves from one range to another is read once, as it was.
            self._exporter = self.d.connect()
            self.snapshot = self.d.export_snapshot(self._exporter)
            faults.point("snapshot")
        out: list[Source] = []
        for i in range(readers):
            part = copy.copy(self)
            part.predicates = self.predicates[i::readers]
            part.in_turn, part._exporter, part._held = True, None, 0  # the parent holds them; a part pickles
            out.append(part)
        return out

    def unsplit(self) -> None:
        self.close()

    def close(self) -> None:
        exporter, self._exporter, self.snapshot = self._exporter, None, None
        if exporter is not None:
            self.d.close(exporter)
        slot = SessionLimits.of(self.home.spec)
        while self._held:
            self._held -= 1
            slot.release()

    def sql(self, predicate: Sql) -> Sql:
        """One partition's statement: the incremental filter and the partition's range, both parenthesized."""
        conditions = [Sql.text("(") + p + ")" for p in (self.where, predicate) if p]
        statement = Sql.text(f"SELECT {self.columns} FROM {self.base}")
        return statement + " WHERE " + Sql.join(" AND ", conditions) if conditions else statement

    def _reader(self, predicate: Sql, snapshot: str | None = None) -> Callable[[], Iterator[pa.RecordBatch]]:
        def read() -> Iterator[pa.RecordBatch]:
            conn = self.d.connect()
            text, args = self.d.render(self.sql(predicate))
            try:
                if snapshot is not None:
                    self.d.join_snapshot(conn, snapshot)
                yield from self.d.read(conn, text, self._schema, self.plan.batch_bytes, args, key=self.key)
            except HyggeError as exc:
                exc.path = exc.path or self.ref
                raise
            except Exception as exc:
                raise self.d.explain(exc, "reading rows", self.ref) from exc
            finally:
                self.d.close(conn)

        return read

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.pages:
            yield from self._physical()
            return
        if len(self.predicates) == 1 or self.in_turn:
            for predicate in self.predicates:
                yield from self._reader(predicate, self.snapshot)()
            return
        if self.d.shares_snapshots:
            # Key ranges read at different moments would miss or repeat a row whose key moves between them.
            yield from self._in_one_snapshot(lambda readers: self.predicates, len(self.predicates))
            return
        # The move already holds one session of this connection; read more partitions at once
        # only on sessions that are free right now. Never waiting for one means never deadlocking.
        producers = [self._reader(p) for p in self.predicates]
        with self._sessions(len(producers) - 1) as extras:
            yield from fan_in(producers, 1 + extras, self.plan.queue_bytes, name=f"hygge-part-{self.plan.key}")

    def _physical(self) -> Iterator[pa.RecordBatch]:
        """The table in ranges of its pages, one reader per core (db/physical.py)."""
        assert self.pages is not None
        pages = self.pages
        want = min(os.cpu_count() or 1, PHYSICAL_READERS, self.home.spec.max_sessions - 1)
        yield from self._in_one_snapshot(lambda readers: page_ranges(pages, readers), want)

    def _in_one_snapshot(self, ranges: Callable[[int], list[Sql]], want: int) -> Iterator[pa.RecordBatch]:
        """The rows of ``ranges(readers)`` on up to ``want`` sessions free right now, all in the snapshot a further
        session (the move's own) exports and holds until they are done; with fewer than two free, one stream."""
        with self._sessions(want) as readers:
            if readers < 2:
                yield from self._reader(Sql())()  # the ranges together hold every row: one statement reads them
                return
            exporter = self.d.connect()
            try:
                snapshot = self.d.export_snapshot(exporter)
                faults.point("snapshot")
                producers = [self._reader(p, snapshot) for p in ranges(readers)]
                yield from fan_in(producers, readers, self.plan.queue_bytes, name=f"hygge-part-{self.plan.key}")
            finally:
                self.d.close(exporter)

    @contextmanager
    def _sessions(self, wanted: int) -> Iterator[int]:
        """Up to ``wanted`` more sessions of this connection, as many as are free right now (never waiting for
        one means never deadlocking); given back when the block ends."""
        slot = SessionLimits.of(self.home.spec)
        got = 0
        while got < wanted and slot.acquire(blocking=False):
            got += 1
        try:
            yield got
        finally:
            for _ in range(got):
                slot.release()
