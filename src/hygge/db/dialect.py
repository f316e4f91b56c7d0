"""What each database engine provides to the shared SQL Home and Store.

A Dialect knows one engine: how to connect, quote, map Arrow types to column
types and back, read in Arrow batches, and bulk-load Arrow batches. The
commit protocol, the journal tables and partitioned reads are shared
(sqlstore.py, sqlhome.py, journal.py) and written once.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from hygge.core.room import ROOM
from hygge.db.bounds import Bound
from hygge.db.connections import ConnectionSpec
from hygge.db.sqltext import Sql
from hygge.errors import Cancelled, HyggeConnectionError, HyggeError, WriteError, first_line


class Dialect(ABC):
    name: ClassVar[str]
    extra: ClassVar[str]
    default_schema: ClassVar[str | None] = None
    # Whether CREATE/DROP/ALTER TABLE take part in transactions (MySQL: no, they commit).
    transactional_ddl: ClassVar[bool] = True
    # Whether other processes may write while a move holds its transaction (servers: yes; files: no).
    remote_writers: ClassVar[bool] = True
    # A hidden, indexed row number a table can be split on without naming a column (SQLite's rowid), if any.
    row_id: ClassVar[str | None] = None
    # Whether one session's snapshot can be joined by others (export_snapshot, join_snapshot): then a read in
    # several ranges sees the table at one moment.
    shares_snapshots: ClassVar[bool] = False
    param: ClassVar[str] = "?"
    # Whether values are written into a statement's text instead of bound (drivers whose streaming reads take
    # no bound values, see Sql.render).
    inline_values: ClassVar[bool] = False
    # Whether some Arrow types do not survive the engine's column types, and are kept in _hygge_types then
    # (db/exact_types.py); the column type of its schema text.
    keeps_types: ClassVar[bool] = False
    # Whether a merge finds the target's staged keys by IN rather than a correlated EXISTS: engines whose
    # planners would run EXISTS once per target row (a scan), but walk the staged keys into the target's key
    # for IN (SQLite, MySQL). Merge keys are never null, so both mean the same.
    match_by_in: ClassVar[bool] = False
    long_text: ClassVar[str] = "TEXT"

    def __init__(self, spec: ConnectionSpec, root: Path, reads_only: bool = False):
        self.spec = spec
        self.root = root
        self.reads_only = reads_only  # a Home's: it must leave the database exactly as it found it

    # -- connections ---------------------------------------------------------------------------

    @abstractmethod
    def connect(self) -> Any:
        """A new driver connection with autocommit off; raise HyggeConnectionError in plain words."""

    def close(self, conn: Any) -> None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail too
            pass

    def transient(self, exc: BaseException) -> bool:
        """Whether a driver error is worth retrying (connection lost, timeout, deadlock)."""
        return isinstance(exc, (ConnectionError, TimeoutError))

    def explain(self, exc: BaseException, doing: str, table: str | None = None) -> HyggeError:
        """A driver error as a HyggeError saying what hygge was doing and what to do."""
        first = first_line(exc)
        kind = HyggeConnectionError if self.transient(exc) else HyggeError
        return kind(f"{self.name} failed while {doing}: {first}", path=table or self.spec.display(),
                    transient=self.transient(exc), hint="check the message above; run with --verbose for details")

    # -- SQL text ------------------------------------------------------------------------------

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def table_ref(self, schema: str | None, table: str) -> str:
        return f"{self.quote(schema)}.{self.quote(table)}" if schema else self.quote(table)

    def sql(self, text: str) -> str:
        """Turn hygge's ``?`` placeholders into the driver's."""
        if self.param == "?":
            return text
        parts = text.split("?")
        out = parts[0]
        for index, part in enumerate(parts[1:], start=1):
            out += (self.param.format(n=index)) + part
        return out

    def render(self, sql: Sql) -> tuple[str, tuple[Any, ...]]:
        """A statement put together from pieces (db/sqltext.py), as this driver takes it: text and values."""
        placeholder = None if self.inline_values else (lambda n: self.param.format(n=n))
        return sql.render(placeholder, self.literal, self.bound)

    def literal(self, value: pa.Scalar) -> str:
        """A value written as SQL text, for dialects with ``inline_values``."""
        raise NotImplementedError(f"{self.name} binds its values")

    def bound(self, value: pa.Scalar) -> tuple[str, Any]:
        """How a value of a column is bound: the text around its placeholder (``{}``) and what the driver takes,
        encoded as the column is stored."""
        return "{}", value.as_py()

    def splits(self, dtype: pa.DataType) -> str | None:
        """Why reads cannot be split on a column of this type here (its stored order is not its values'), if so."""
        return None

    @abstractmethod
    def execute(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> None: ...

    @abstractmethod
    def query(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...

    def begin(self, conn: Any, write: bool = True) -> None:
        """Start a transaction (drivers with autocommit off start one implicitly); ``write``: it will write."""

    def commit(self, conn: Any) -> None:
        conn.commit()

    def retry_read(self, exc: BaseException) -> bool:
        """Whether a short read of the journal met what the server asks to be retried in a new transaction."""
        return False

    def rollback(self, conn: Any) -> None:
        conn.rollback()

    # -- catalog -------------------------------------------------------------------------------

    @abstractmethod
    def list_tables(self, conn: Any, schema: str | None) -> list[str]: ...

    @abstractmethod
    def table_exists(self, conn: Any, schema: str | None, table: str) -> bool: ...

    @abstractmethod
    def table_schema(self, conn: Any, schema: str | None, table: str) -> pa.Schema:
        """The table's columns as Arrow types, as faithfully as the catalog allows."""

    def read_columns(self, conn: Any, schema: str | None, table: str) -> tuple[list[str], pa.Schema]:
        """The SELECT list that reads a table faithfully, and the Arrow schema it yields."""
        arrow = self.table_schema(conn, schema, table)
        return [self.quote(n) for n in arrow.names], arrow

    def estimate_rows(self, conn: Any, schema: str | None, table: str) -> int | None:
        return None

    def chunk_key(self, conn: Any, schema: str | None, table: str) -> str | None:
        """A column to page reads by, for engines whose streams do not bound memory themselves."""
        return None

    def physical_pages(self, conn: Any, schema: str | None, table: str) -> int | None:
        """The pages of a table that is read faster in ranges of its physical location, on sessions that share
        one snapshot (db/physical.py); None where the engine has no such ranges or the table is small."""
        return None

    def export_snapshot(self, conn: Any) -> str:
        """Open a transaction on ``conn`` whose snapshot other sessions may join; its name."""
        raise NotImplementedError(f"{self.name} shares no snapshots")

    def join_snapshot(self, conn: Any, snapshot: str) -> None:
        """Start a transaction on ``conn`` that sees exactly what ``export_snapshot`` saw."""
        raise NotImplementedError(f"{self.name} shares no snapshots")

    def publish_swap(self, conn: Any, target: str, staging: str, table: str, old: str) -> None:
        """Replace the target (``target``, named ``table``) by the staging table, in the open transaction."""
        self.execute(conn, f"DROP TABLE {target}")
        self.rename(conn, staging, target, table)

    def rename(self, conn: Any, source: str, target: str, table: str) -> None:
        """Give table ``source`` the name ``target`` (``table`` unqualified), in the same schema."""
        self.execute(conn, f"ALTER TABLE {source} RENAME TO {self.quote(table)}")

    def count_rows(self, conn: Any, ref: str) -> int:
        return int(self.query(conn, f"SELECT COUNT(*) FROM {ref}")[0][0])

    def ensure_schema(self, conn: Any, schema: str | None) -> None:
        if schema:
            self.execute(conn, f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}")

    # -- types ---------------------------------------------------------------------------------

    @abstractmethod
    def column_type(self, field: pa.Field) -> str:
        """The column type holding this Arrow field faithfully; raise UnsupportedType if none does."""

    def needs_exact(self, dtype: pa.DataType) -> bool:
        """Whether a column of this Arrow type reads back as another type without its entry in _hygge_types."""
        return False

    def create_table(self, conn: Any, ref: str, schema: pa.Schema) -> None:
        columns = ", ".join(f"{self.quote(f.name)} {self.column_type(f)}" for f in schema)
        self.execute(conn, f"CREATE TABLE {ref} ({columns})")

    def matching(self, target: str, staging: str, keys: tuple[str, ...]) -> str:
        """A WHERE condition on ``target`` rows whose keys appear in ``staging``."""
        if self.match_by_in:
            cols = ", ".join(self.quote(k) for k in keys)
            return f"({cols}) IN (SELECT {cols} FROM {staging})"
        on = " AND ".join(f"hygge_s.{self.quote(k)} = {target}.{self.quote(k)}" for k in keys)
        return f"EXISTS (SELECT 1 FROM {staging} hygge_s WHERE {on})"

    def index_keys(self, conn: Any, staging: str, keys: tuple[str, ...], schema: pa.Schema) -> None:
        """Index the staging table's keys where the engine joins by nested loops (SQLite, MySQL)."""

    def unique_keys(self, conn: Any, schema: str | None, table: str) -> list[tuple[str, ...]]:
        """The column sets of the table's primary key and unique indexes (db/keys.py)."""
        return []

    def add_key(self, conn: Any, schema: str | None, table: str, keys: tuple[str, ...], primary: bool,
                measured: tuple[str, ...]) -> str:
        """Key the table on ``keys`` (rows checked unique): a primary key, else a unique index; says which.
        ``measured``: tables whose rows the key columns must hold."""
        ref = self.table_ref(schema, table)
        cols = ", ".join(self.quote(k) for k in keys)
        if primary:
            self.execute(conn, f"ALTER TABLE {ref} ADD PRIMARY KEY ({cols})")
            return "primary key"
        self.execute(conn, f"CREATE UNIQUE INDEX {self.quote(key_index(table))} ON {ref} ({cols})")
        return "unique index"

    def delete_matching(self, conn: Any, target: str, staging: str, keys: tuple[str, ...]) -> None:
        self.execute(conn, self.delete_statement(target, staging, keys))

    def delete_statement(self, target: str, staging: str, keys: tuple[str, ...]) -> str:
        """The DELETE of a merge: the target's rows whose keys are staged, found through the target's key."""
        return f"DELETE FROM {target} WHERE {self.matching(target, staging, keys)}"

    def add_column(self, conn: Any, schema: str | None, table: str, field: pa.Field) -> None:
        ref = self.table_ref(schema, table)
        self.execute(conn, f"ALTER TABLE {ref} ADD COLUMN {self.quote(field.name)} {self.column_type(field)}")

    def widen_column(self, conn: Any, schema: str | None, table: str, field: pa.Field) -> None:
        ref = self.table_ref(schema, table)
        self.execute(conn, f"ALTER TABLE {ref} ALTER COLUMN {self.quote(field.name)} "
                           f"TYPE {self.column_type(field)}")

    def column_bounds(self, conn: Any, schema: str | None, table: str) -> list[Bound]:
        """Limits of the table's columns that their Arrow types do not carry (VARCHAR(5)), read from the catalog."""
        return []

    def widened_type(self, bound: Bound, need: dict[str, Any]) -> str | None:
        """A column type holding what ``bound``'s column holds and the rows' needs; None when there is none."""
        return None

    def change_type(self, conn: Any, schema: str | None, table: str, column: str, column_type: str) -> None:
        """Give an existing column another type, keeping its values, in the open transaction."""
        ref = self.table_ref(schema, table)
        self.execute(conn, f"ALTER TABLE {ref} ALTER COLUMN {self.quote(column)} TYPE {column_type}")

    def insert_select(self, conn: Any, schema: str | None, table: str, fields: pa.Schema, source: str) -> None:
        """Copy the columns ``fields`` (their Arrow types as staged) of ``source``, a table or an aliased
        subquery, into an existing table, in the open transaction."""
        names = ", ".join(self.quote(f.name) for f in fields)
        self.execute(conn, f"INSERT INTO {self.table_ref(schema, table)} ({names}) SELECT {names} FROM {source}")

    def to_engine(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Encode a batch for the engine's bulk path (e.g. decimals as text for SQLite)."""
        return batch

    # -- data ----------------------------------------------------------------------------------

    @abstractmethod
    def read(self, conn: Any, sql: str, schema: pa.Schema | None, batch_bytes: int,
             params: tuple[Any, ...] = (), key: str | None = None) -> Iterator[pa.RecordBatch]:
        """Stream a query's rows as Arrow batches of about ``batch_bytes``.

        ``key``, when given, is a unique integer column the engine may page by.
        """

    @abstractmethod
    def query_schema(self, conn: Any, sql: str) -> pa.Schema: ...

    def load_parquet(self, conn: Any, schema: str | None, table: str, columns: list[str],
                     files: list[Path]) -> int | None:
        """Insert parquet files with the engine's own reader, if it has one and sees the table's exact column
        types; the rows inserted, or None to have hygge read the files itself."""
        return None

    @abstractmethod
    def ingest(self, conn: Any, schema: str | None, table: str, arrow_schema: pa.Schema,
               batches: Iterator[pa.RecordBatch]) -> None:
        """Bulk-load batches into an existing table inside the open transaction."""

    # -- locks ---------------------------------------------------------------------------------

    def setup_lock(self, conn: Any, schema: str | None) -> None:
        """Serialize creating a schema's shared tables until the current transaction ends."""

    @contextmanager
    def entity_lock(self, conn: Any, key: str, wait: float) -> Iterator[None]:
        """Hold the one-writer-per-entity lock while the block runs."""
        yield


def key_index(table: str) -> str:
    """The name of the unique index hygge keys ``table`` by where a primary key cannot hold its keys."""
    return f"{table}_hygge_key"[:60]


@contextmanager
def process_file_lock(path: str, cancel_after: float = 3600.0) -> Iterator[None]:
    """Queue the moves of this process that write into one database file (DuckDB, SQLite)."""
    with _file_locks_guard:
        lock = _file_locks.setdefault(path, threading.Lock())
    deadline = time.monotonic() + cancel_after
    while not lock.acquire(timeout=0.5):
        if time.monotonic() > deadline:
            raise Cancelled(f"gave up waiting for {path}")
    try:
        yield
    finally:
        lock.release()


_file_locks: dict[str, threading.Lock] = {}
_file_locks_guard = threading.Lock()


def room_error(engine: str, code: int, path: str, found: str) -> WriteError:
    """A write into a database file that ran out of room: what ran out, the file, and what to do."""
    what, hint = ROOM[code]
    return WriteError(f"{engine} could not write to its database file: {what}; nothing was committed", path=path,
                      found=found, hint=hint)


class Unfit(Exception):
    """Values of one column an engine cannot hold exactly; a batch's are gathered into one refusal."""

    def __init__(self, column: str, reason: str, hint: str):
        super().__init__(f"{column}: {reason}")
        self.column, self.reason, self.hint = column, reason, hint


def refuse_unfit(engine: str, problems: list[Unfit]) -> WriteError:
    """One error naming every column of a batch that the engine cannot hold, each with its reason."""
    columns = ", ".join(p.column for p in problems)
    return WriteError(
        f"{engine} cannot hold the values of {len(problems)} column(s) exactly ({columns}); nothing was committed",
        expected="values the columns hold exactly", found="; ".join(str(p) for p in problems),
        hint="; ".join(dict.fromkeys(p.hint for p in problems)))


class UnsupportedType(Exception):
    def __init__(self, field: pa.Field, why: str):
        super().__init__(f"{field.name} ({field.type}): {why}")
        self.field = field
        self.why = why
