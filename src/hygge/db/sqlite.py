"""SQLite through the ADBC driver: Arrow in bulk, with declared types that carry the Arrow type.

SQLite stores five classes (NULL, INTEGER, REAL, TEXT, BLOB); a column's
declared type is only a hint. hygge creates tables with declared types that
name the exact Arrow type (``DECIMAL TEXT(12,2)``, ``TIMESTAMPTZ "UTC"(6)``)
and encodes values into the storage class that keeps them exact (decimals
and timestamps as text, booleans as 0/1). Reading such a table decodes
them back exactly; tables written by others are read by their declared
types' affinity.

ADBC guesses column types from the first rows it sees, so every read puts a
typed sentinel row first (and drops it): empty tables and columns that
start with NULLs keep their types.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hygge.core import lazy
from hygge.core.arrowtypes import as_type, extension_name, from_text, type_name
from hygge.core.room import ran_out, ran_out_writing
from hygge.db.bounds import Bound
from hygge.db.dialect import (
    Dialect,
    Unfit,
    UnsupportedType,
    key_index,
    process_file_lock,
    refuse_unfit,
    room_error,
)
from hygge.errors import HyggeConnectionError, HyggeError, MissingDriver, ReadError, WriteError, first_line

_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
_UNITS = {v: k for k, v in _DIGITS.items()}
_INTS = {pa.int8(): "INT8", pa.int16(): "INT16", pa.int32(): "INT32", pa.int64(): "INT64",
         pa.uint8(): "UINT8", pa.uint16(): "UINT16", pa.uint32(): "UINT32", pa.uint64(): "UINT64"}
# A declared type naming BLOB has no affinity: SQLite keeps each value as it is given. With REAL affinity
# (FLOAT64, the declared type before) it stores a float without a fraction as an integer, and -0.0 reads
# back as 0.0.
_FLOATS = {pa.float16(): "FLOAT16 BLOB", pa.float32(): "FLOAT32 BLOB", pa.float64(): "FLOAT64 BLOB"}
_BY_NAME = {**{v: k for k, v in _INTS.items()}, **{v: k for k, v in _FLOATS.items()},
            **{v.split()[0]: k for k, v in _FLOATS.items()},  # tables written before, with REAL affinity
            "BOOLEAN": pa.bool_(), "TEXT": pa.string(), "BLOB": pa.binary(), "DATE": pa.date32(),
            "UUID": pa.uuid(), "JSON": pa.json_()}
_DECL = re.compile(r'^(?P<kind>DECIMAL TEXT|TIME|TIMESTAMP|TIMESTAMPTZ|DURATION)\s*(?:"(?P<tz>[^"]*)")?'
                   r"\s*\((?P<a>\d+)(?:,\s*(?P<b>-?\d+))?\)$")


def _adbc() -> Any:
    try:
        dbapi = lazy.adbc_dbapi("adbc_driver_sqlite.dbapi")
    except ModuleNotFoundError as exc:
        raise MissingDriver("adbc_driver_sqlite", "sqlite", needed_for="the sqlite home and store") from exc
    return dbapi


def declared(t: pa.DataType) -> str:
    """The declared column type for an Arrow type (its name carries the exact type)."""
    if extension_name(t) == "arrow.uuid":
        return "UUID"
    if extension_name(t) == "arrow.json":
        return "JSON"
    if t in _INTS:
        return _INTS[t]
    if t in _FLOATS:
        return _FLOATS[t]
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_decimal(t):
        return f"DECIMAL TEXT({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "TEXT"
    if pa.types.is_dictionary(t) and (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)):
        return "TEXT"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "BLOB"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_time(t):
        return f"TIME({_DIGITS[t.unit]})"
    if pa.types.is_timestamp(t):
        return f'TIMESTAMPTZ "{t.tz}"({_DIGITS[t.unit]})' if t.tz else f"TIMESTAMP({_DIGITS[t.unit]})"
    if pa.types.is_duration(t):
        return f"DURATION({_DIGITS[t.unit]})"
    raise TypeError(str(t))


def arrow_of(declared_type: str) -> pa.DataType | None:
    """The Arrow type a declared type names; None for declared types hygge did not write."""
    text = declared_type.strip()
    if text.upper() in _BY_NAME:
        return _BY_NAME[text.upper()]
    match = _DECL.match(text)
    if not match:
        return None
    kind, a = match.group("kind"), int(match.group("a"))
    if kind == "DECIMAL TEXT":
        scale = int(match.group("b") or 0)
        return pa.decimal128(a, scale) if a <= 38 else pa.decimal256(a, scale)
    unit = _UNITS.get(a)
    if unit is None:
        return None
    if kind == "TIME":
        return pa.time32(unit) if unit in ("s", "ms") else pa.time64(unit)
    if kind == "TIMESTAMP":
        return pa.timestamp(unit)
    if kind == "TIMESTAMPTZ":
        return pa.timestamp(unit, tz=match.group("tz") or "UTC")
    return pa.duration(unit)


def affinity_of(declared_type: str) -> str:
    """SQLite's affinity of a declared type, by its own rules in their order."""
    upper = declared_type.upper()
    for words, name in ((("INT",), "INTEGER"), (("CHAR", "CLOB", "TEXT"), "TEXT"), (("BLOB",), "BLOB"),
                        (("REAL", "FLOA", "DOUB"), "REAL")):
        if any(w in upper for w in words):
            return name
    return "BLOB" if not upper.strip() else "NUMERIC"


def affinity(declared_type: str) -> pa.DataType:
    """SQLite's own rules, for tables hygge did not write."""
    upper = declared_type.upper()
    if "INT" in upper:
        return pa.int64()
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    if "BOOL" in upper:
        return pa.bool_()
    if upper == "" or "BLOB" in upper:
        return pa.binary()
    # NUMERIC affinity (DECIMAL, NUMERIC, DATE, DATETIME...): what SQLite keeps as numbers or text.
    return pa.string() if "DATE" in upper or "TIME" in upper else pa.float64()


def storage(t: pa.DataType) -> pa.DataType:
    """The Arrow type of the encoded column: one of SQLite's storage classes."""
    if extension_name(t) == "arrow.uuid":
        return pa.binary()
    if extension_name(t) == "arrow.json":
        return pa.string()
    if pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_duration(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    return pa.string()


DEFAULT_PAGE_SIZE = 16384
PAGE_SIZES = {1 << n for n in range(9, 17)}

_SENTINEL = {pa.int64(): "0", pa.float64(): "0.0", pa.binary(): "x''", pa.string(): "''"}


def encode(column: pa.Array, t: pa.DataType) -> pa.Array:
    if pa.types.is_uint64(t):
        top = pc.max(column).as_py()
        if top is not None and top >= 2**63:
            raise ValueError(f"value {top} does not fit SQLite's 64-bit signed integers")
    if pa.types.is_timestamp(t) and t.tz:
        column = column.cast(pa.timestamp(t.unit, tz="UTC"))
    if pa.types.is_dictionary(t):
        column = column.dictionary_decode()
    return as_type(column, storage(t))


def decode(column: pa.Array, t: pa.DataType) -> pa.Array:
    if column.type == t:
        return column
    if pa.types.is_time(t):
        return from_text(column, t)
    if pa.types.is_timestamp(t) and t.tz:
        return column.cast(pa.timestamp(t.unit, tz="UTC")).cast(t)
    return as_type(column, t)


def without_sentinel(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch without the sentinel row and its mark column. Only the batch that holds the row is changed: a
    filter of every batch took 6% of a 10M-row read. The row comes first in practice, and a slice copies nothing;
    SQL does not promise the order of UNION ALL, so elsewhere it is filtered out."""
    marks = batch.column("hygge_sentinel")
    if pc.max(marks).as_py():
        if marks[0].as_py() == 1 and not pc.max(marks.slice(1)).as_py():
            batch = batch.slice(1)
        else:
            batch = batch.filter(pc.equal(marks, 0))
    return batch.drop_columns(["hygge_sentinel"])


class SqliteDialect(Dialect):
    name = "sqlite"
    extra = "sqlite"
    remote_writers = False
    default_schema = None
    row_id = "rowid"
    match_by_in = True

    def connect(self) -> Any:
        dbapi = _adbc()
        path = self.spec.file(self.root)
        if self.reads_only and not path.is_file():
            # Opening would create an empty database there: a misspelt path would leave a stray file behind.
            raise ReadError("the SQLite database does not exist", path=str(path), expected="a SQLite database file",
                            found="a folder" if path.exists() else "nothing at that path",
                            hint="check `path` on the home (a relative path starts at the project folder)")
        path.parent.mkdir(parents=True, exist_ok=True)
        timeout = self.busy_timeout()
        page_size = None if self.reads_only else self.page_size()
        fresh = not path.is_file() or not path.stat().st_size
        try:
            conn = dbapi.connect(str(path))
            # Journal mode cannot change inside a transaction: step out of the one ADBC opened.
            conn.adbc_connection.set_autocommit(True)
            with conn.cursor() as cursor:
                # First, so that switching the journal mode waits for a lock too: connections opened at the same
                # time (partitioned reads) found "database is locked" at once.
                cursor.execute(f"PRAGMA busy_timeout={timeout}")
                if page_size is not None and fresh:  # before anything is written: it is fixed from then on
                    cursor.execute(f"PRAGMA page_size={page_size}")
                if not self.reads_only:  # the journal mode is stored in the file: a Home leaves it as it is
                    # WAL: readers never block the commit, and the commit never waits for readers.
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.fetchall()
                cursor.execute("PRAGMA legacy_alter_table=ON")  # renames must not trip over dependent views
            # Autocommit stays on: begin() opens each transaction itself, as BEGIN IMMEDIATE (see there).
        except Exception as exc:
            raise HyggeConnectionError(f"cannot open the SQLite database: {exc}", path=str(path),
                                       transient=self.transient(exc),
                                       hint="check that the folder exists and is writable") from exc
        return conn

    def busy_timeout(self) -> int:
        """Milliseconds to wait for another connection's write lock (connection option ``busy_timeout``)."""
        value = dict(self.spec.options).get("busy_timeout", "30000")
        try:
            return max(0, int(value))
        except ValueError:
            raise HyggeConnectionError(f"the SQLite option busy_timeout must be milliseconds, not {value!r}",
                                       path=self.spec.display(), hint="write e.g. `options: {busy_timeout: 60000}`"
                                       ) from None

    def page_size(self) -> int:
        """Bytes per page of a database file the Store creates (connection option ``page_size``). SQLite's own
        default, 4 KiB, made every page of a bulk load a WAL frame of its own, looked up, checksummed and written
        in a syscall each: 10M rows of the benchmark's mixed table took 14.5 s with 4 KiB pages, 10.9 s with
        16 KiB, 10.2 s with 64 KiB. 16 KiB keeps most of that while a merge that changes a few scattered rows still
        rewrites small pages. An existing database keeps the page size it has."""
        value = dict(self.spec.options).get("page_size", str(DEFAULT_PAGE_SIZE))
        try:
            size = int(value)
        except ValueError:
            size = 0
        if size not in PAGE_SIZES:
            raise HyggeConnectionError(f"the SQLite option page_size must be a power of two from 512 to 65536 "
                                       f"bytes, not {value!r}", path=self.spec.display(),
                                       hint=f"write e.g. `options: {{page_size: {DEFAULT_PAGE_SIZE}}}` or leave it out")
        return size

    def transient(self, exc: BaseException) -> bool:
        # Another process held the file's write lock for longer than busy_timeout: worth another attempt.
        text = str(exc).lower()
        return "database is locked" in text or "database table is locked" in text or super().transient(exc)

    def explain(self, exc: BaseException, doing: str, table: str | None = None) -> HyggeError:
        text = str(exc).lower()
        if "disk i/o error" in text or ran_out(exc) is not None:
            # SQLite says "disk I/O error" for a write past the file size limit: the files tell what ran out.
            path = self.spec.file(self.root)
            code = ran_out_writing(path) or ran_out(exc)
            if code is not None:
                return room_error("SQLite", code, str(path), first_line(exc))
            return WriteError("SQLite could not write to its database file (disk I/O error); nothing was committed",
                              path=str(path), found=first_line(exc),
                              hint="check the disk that holds it, and that no other program moves or truncates it")
        return super().explain(exc, doing, table)

    def begin(self, conn: Any, write: bool = True) -> None:
        # A deferred transaction that read first and then writes fails at once with "database is locked" when
        # another process wrote in between (SQLite cannot wait there without a deadlock); IMMEDIATE takes the
        # write lock up front, waiting for other writers as long as busy_timeout says.
        self.execute(conn, "BEGIN IMMEDIATE" if write else "BEGIN")

    def commit(self, conn: Any) -> None:
        self._end(conn, "COMMIT")

    def rollback(self, conn: Any) -> None:
        self._end(conn, "ROLLBACK")

    def _end(self, conn: Any, statement: str) -> None:
        try:
            self.execute(conn, statement)
        except Exception as exc:
            if "no transaction is active" not in str(exc):
                raise

    def execute(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> None:
        with conn.cursor() as cursor:
            cursor.execute(sql, params or None)

    def query(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with conn.cursor() as cursor:
            cursor.execute(sql, params or None)
            return list(cursor.fetchall())

    def list_tables(self, conn: Any, schema: str | None) -> list[str]:
        rows = self.query(conn, "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') "
                                "AND name NOT LIKE 'sqlite_%'")
        return [r[0] for r in rows]

    def table_exists(self, conn: Any, schema: str | None, table: str) -> bool:
        return bool(self.query(conn, "SELECT 1 FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ?",
                               (table,)))

    def columns(self, conn: Any, table: str) -> list[tuple[str, str]]:
        return [(r[1], r[2] or "") for r in self.query(conn, f"SELECT * FROM pragma_table_info('{table}')")]

    def table_schema(self, conn: Any, schema: str | None, table: str) -> pa.Schema:
        return pa.schema([(name, arrow_of(decl) or affinity(decl)) for name, decl in self.columns(conn, table)])

    def column_bounds(self, conn: Any, schema: str | None, table: str) -> list[Bound]:
        # REAL and NUMERIC affinity store -0.0 as the integer 0 (hygge's own float columns have none).
        return [Bound(name, decl, negative_zero=False) for name, decl in self.columns(conn, table)
                if affinity_of(decl) in ("REAL", "NUMERIC")]

    def estimate_rows(self, conn: Any, schema: str | None, table: str) -> int | None:
        try:
            return int(self.query(conn, f"SELECT MAX(rowid) FROM {self.quote(table)}")[0][0] or 0)
        except Exception:  # noqa: BLE001 - views and WITHOUT ROWID tables have no rowid
            return None

    def bound(self, value: pa.Scalar) -> tuple[str, Any]:
        # Compared with the stored value: timestamps and dates are text here (ISO, which sorts as time does).
        return "{}", encode(pa.array([value], value.type), value.type)[0].as_py()

    def splits(self, dtype: pa.DataType) -> str | None:
        if pa.types.is_decimal(dtype):
            return "SQLite keeps decimals as text, which does not sort as numbers"
        return None

    def column_type(self, field: pa.Field) -> str:
        try:
            return declared(field.type)
        except TypeError:
            t = field.type
            why = ("SQLite has no lists, structs or maps" if pa.types.is_nested(t) else
                   f"SQLite has no storage that keeps {type_name(t)} exactly")
            raise UnsupportedType(field, why) from None

    def index_keys(self, conn: Any, staging: str, keys: tuple[str, ...], schema: pa.Schema) -> None:
        columns = ", ".join(self.quote(k) for k in keys)
        name = self.quote("hygge_keys_" + staging.strip('"'))
        self.execute(conn, f"CREATE INDEX {name} ON {staging} ({columns})")

    def unique_keys(self, conn: Any, schema: str | None, table: str) -> list[tuple[str, ...]]:
        found = []
        for index in self.query(conn, f"SELECT name FROM pragma_index_list('{table}') WHERE \"unique\" "
                                      "AND NOT partial"):
            found.append(tuple(str(r[0]) for r in self.query(
                conn, f"SELECT name FROM pragma_index_info('{index[0]}') ORDER BY seqno")))
        return found

    def add_key(self, conn: Any, schema: str | None, table: str, keys: tuple[str, ...], primary: bool,
                measured: tuple[str, ...]) -> str:
        # SQLite takes a primary key only in CREATE TABLE; a unique index is what it builds for one anyway.
        cols = ", ".join(self.quote(k) for k in keys)
        self.execute(conn, f"CREATE UNIQUE INDEX {self.quote(key_index(table))} ON {self.quote(table)} ({cols})")
        return "unique index"

    def widen_column(self, conn: Any, schema: str | None, table: str, field: pa.Field) -> None:
        # SQLite cannot change a declared type: rebuild the table under the new declaration.
        current = self.table_schema(conn, schema, table)
        wanted = pa.schema([field if f.name == field.name else f for f in current])
        temp = self.quote(f"_hygge_widen_{table}")
        columns = ", ".join(self.quote(n) for n in current.names)
        # The indexes (the key among them) go with the old table: built again from their own CREATE INDEX.
        indexes = [str(r[0]) for r in self.query(conn, "SELECT sql FROM sqlite_master WHERE type = 'index' "
                                                      f"AND tbl_name = '{table}' AND sql IS NOT NULL")]
        self.create_table(conn, temp, wanted)
        self.execute(conn, f"INSERT INTO {temp} ({columns}) SELECT {columns} FROM {self.quote(table)}")
        self._rewrite_stored(conn, temp, current.field(field.name), field)
        self.execute(conn, f"DROP TABLE {self.quote(table)}")
        self.execute(conn, f"ALTER TABLE {temp} RENAME TO {self.quote(table)}")
        for index in indexes:
            self.execute(conn, index)

    def _rewrite_stored(self, conn: Any, table: str, old: pa.Field, new: pa.Field) -> None:
        """Values kept as text in the old type's form (1.50, 10:00:00.500) rewritten in the new one's (1.500,
        10:00:00.500000): rows are compared by their stored text, so a merge's keys matched no old row (and the
        old rows kept sorting in their old form)."""
        text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
        if storage(old.type) != pa.string() or storage(new.type) != pa.string() or any(t(old.type) for t in text):
            return  # stored as numbers or bytes, or text already in its one form
        name = self.quote(new.name)
        typed = pa.schema([pa.field("r", pa.int64()), pa.field(new.name, old.type)])
        updates: list[tuple[Any, Any]] = []
        for batch in self.read(conn, f"SELECT rowid AS r, {name} FROM {table} WHERE {name} IS NOT NULL", typed,
                               32 << 20):
            before = encode(batch.column(1), old.type)
            after = encode(batch.column(1).cast(new.type), new.type)
            changed = pc.not_equal(before, after)
            updates += zip(after.filter(changed).to_pylist(), batch.column(0).filter(changed).to_pylist(),
                           strict=True)
        if updates:
            with conn.cursor() as cursor:
                cursor.executemany(f"UPDATE {table} SET {name} = ? WHERE rowid = ?", updates)

    def to_engine(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns, problems = [], []
        for field, column in zip(batch.schema, batch.columns, strict=True):
            try:
                columns.append(encode(column, field.type))
            except (ValueError, pa.ArrowException) as exc:
                problems.append(Unfit(field.name, f"a value of {field.type} outside SQLite's range ({exc})",
                                      "convert the column at the source (e.g. to decimal or text)"))
        if problems:
            raise refuse_unfit("SQLite", problems)
        return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)

    def read(self, conn: Any, sql: str, schema: pa.Schema | None, batch_bytes: int,
             params: tuple[Any, ...] = (), key: str | None = None) -> Iterator[pa.RecordBatch]:
        if schema is not None:
            sentinel = ", ".join(f"{_SENTINEL[storage(f.type)]} AS {self.quote(f.name)}" for f in schema)
            sql = f"SELECT {sentinel}, 1 AS hygge_sentinel UNION ALL SELECT *, 0 FROM ({sql})"
        from hygge.db.duckdb import rows_for

        cursor = conn.cursor()
        try:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows_for(schema, batch_bytes))})
            cursor.execute(sql, params or None)
            for batch in cursor.fetch_record_batch():
                if schema is None:
                    yield batch
                    continue
                batch = without_sentinel(batch)
                if batch.num_rows:
                    yield self._decode(batch, schema)
        except OSError as exc:
            if "Type mismatch" in str(exc):
                raise ReadError("a column holds values of another kind than its declared type",
                                found=str(exc).splitlines()[0],
                                hint="SQLite does not enforce column types; fix the rows, or read with a `query:` "
                                     "that CASTs the column") from exc
            raise
        finally:
            cursor.close()

    @staticmethod
    def _decode(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
        columns = [decode(batch.column(f.name), f.type) for f in schema]
        return pa.RecordBatch.from_arrays(columns, schema=schema)

    def query_schema(self, conn: Any, sql: str) -> pa.Schema:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({sql}) LIMIT 1024")
            return cursor.fetch_arrow_table().schema

    def ingest(self, conn: Any, schema: str | None, table: str, arrow_schema: pa.Schema,
               batches: Iterator[pa.RecordBatch]) -> None:
        engine = pa.schema([(f.name, storage(f.type)) for f in arrow_schema])
        with conn.cursor() as cursor:
            cursor.adbc_ingest(table, pa.RecordBatchReader.from_batches(engine, batches), mode="append")

    @contextmanager
    def entity_lock(self, conn: Any, key: str, wait: float) -> Iterator[None]:
        with process_file_lock(str(self.spec.file(self.root))):
            yield
