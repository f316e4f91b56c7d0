"""DuckDB: Arrow in and out without copies, exact types kept beside the tables.

DuckDB reads and writes Arrow natively; a few Arrow types have no exact
DuckDB twin (durations, time zones other than UTC, decimals wider than 38
digits). hygge stores those in the nearest lossless column type and records
the exact Arrow types in its ``_hygge_types`` table (db/exact_types.py), so a
table hygge wrote reads back exactly.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from hygge.core.arrowtypes import as_type, extension_name, type_name, uuid_text
from hygge.core.room import ran_out
from hygge.db.dialect import Dialect, UnsupportedType, process_file_lock, room_error
from hygge.db.exact_types import ExactTypes, exact_fields
from hygge.errors import HyggeConnectionError, HyggeError, MissingDriver, first_line


def _duckdb() -> Any:
    try:
        import duckdb
    except ModuleNotFoundError as exc:
        raise MissingDriver("duckdb", "duckdb", needed_for="the duckdb home and store") from exc
    return duckdb


_SIMPLE = {
    pa.bool_(): "BOOLEAN", pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INTEGER",
    pa.int64(): "BIGINT", pa.uint8(): "UTINYINT", pa.uint16(): "USMALLINT", pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT", pa.float16(): "FLOAT", pa.float32(): "FLOAT", pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR", pa.large_string(): "VARCHAR", pa.string_view(): "VARCHAR",
    pa.binary(): "BLOB", pa.large_binary(): "BLOB", pa.binary_view(): "BLOB",
    pa.date32(): "DATE", pa.date64(): "DATE", pa.month_day_nano_interval(): "INTERVAL",
}
_NAIVE = {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "us": "TIMESTAMP", "ns": "TIMESTAMP_NS"}


def duck_type(t: pa.DataType) -> str:
    if extension_name(t) in ("arrow.uuid", "arrow.json"):
        return "UUID" if extension_name(t) == "arrow.uuid" else "JSON"
    if t in _SIMPLE:
        return _SIMPLE[t]
    if pa.types.is_timestamp(t):
        if t.tz is None:
            return _NAIVE[t.unit]
        return "TIMESTAMPTZ_NS" if t.unit == "ns" else "TIMESTAMPTZ"
    if pa.types.is_time(t):
        return "TIME_NS" if t.unit == "ns" else "TIME"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})" if t.precision <= 38 else "VARCHAR"
    if pa.types.is_duration(t):
        return "BIGINT"
    if pa.types.is_fixed_size_binary(t):
        return "BLOB"
    if pa.types.is_dictionary(t):
        return duck_type(t.value_type)
    if pa.types.is_fixed_size_list(t):
        return f"{duck_type(t.value_type)}[{t.list_size}]"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return f"{duck_type(t.value_type)}[]"
    if pa.types.is_struct(t):
        inner = ", ".join(f"{_quote(f.name)} {duck_type(f.type)}" for f in t)
        return f"STRUCT({inner})"
    if pa.types.is_map(t):
        return f"MAP({duck_type(t.key_type)}, {duck_type(t.item_type)})"
    raise TypeError(str(t))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def storage_type(t: pa.DataType) -> pa.DataType:
    """The Arrow type handed to DuckDB for a column (DuckDB cannot scan a few types directly)."""
    if extension_name(t) in ("arrow.uuid", "arrow.json"):
        return pa.string()  # DuckDB casts the text into its UUID and JSON columns
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_decimal(t) and t.bit_width == 256:
        return pa.decimal128(t.precision, t.scale) if t.precision <= 38 else pa.string()
    if pa.types.is_duration(t):
        return pa.int64()
    if pa.types.is_dictionary(t):
        return t.value_type
    return t


def lost_type(t: pa.DataType) -> bool:
    """Types DuckDB would not hand back exactly as they came."""
    checks = (
        extension_name(t) is not None,
        storage_type(t) != t,
        pa.types.is_timestamp(t) and t.tz not in (None, "UTC"),
        pa.types.is_timestamp(t) and t.tz is not None and t.unit in ("s", "ms"),
        pa.types.is_date64(t),
        pa.types.is_time(t) and t.unit in ("s", "ms"),
        pa.types.is_fixed_size_binary(t),
        pa.types.is_large_string(t) or pa.types.is_large_binary(t),
        pa.types.is_string_view(t) or pa.types.is_binary_view(t),
        pa.types.is_nested(t),
    )
    return any(checks)


class DuckdbDialect(Dialect):
    name = "duckdb"
    extra = "duckdb"
    remote_writers = False
    keeps_types = True
    default_schema = "main"

    def connect(self) -> Any:
        duckdb = _duckdb()
        path = self.spec.file(self.root)
        path.parent.mkdir(parents=True, exist_ok=True)
        options = dict(self.spec.options)
        config = {"memory_limit": options.pop("memory_limit", "1GB")}
        config.update(options)
        try:
            conn = duckdb.connect(str(path), config=config)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                # Transient: the other process (often another hygge run) lets go when its move ends.
                raise HyggeConnectionError(
                    "the DuckDB file is open in another process, and DuckDB allows one writer process per file",
                    path=str(path), found=text.splitlines()[0], transient=True,
                    hint="hygge tried again; close the other program (or wait for the other hygge run), or raise "
                         "`options: retries` and `retry_backoff`, then run again",
                ) from exc
            raise HyggeConnectionError(f"cannot open the DuckDB file: {text}", path=str(path)) from exc
        conn.execute("SET TimeZone='UTC'")
        return conn

    def transient(self, exc: BaseException) -> bool:
        return False

    def execute(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> None:
        conn.execute(sql, list(params))

    def query(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(conn.execute(sql, list(params)).fetchall())

    def begin(self, conn: Any, write: bool = True) -> None:
        conn.execute("BEGIN TRANSACTION")

    def commit(self, conn: Any) -> None:
        conn.execute("COMMIT")
        try:
            # Fold the write-ahead log into the file, so the .duckdb file alone holds the commit.
            conn.execute("CHECKPOINT")
        except Exception:  # noqa: BLE001 - another connection is busy; the WAL is durable anyway
            pass

    def rollback(self, conn: Any) -> None:
        try:
            conn.execute("ROLLBACK")
        except Exception as exc:
            if "no transaction" not in str(exc).lower():
                raise

    def list_tables(self, conn: Any, schema: str | None) -> list[str]:
        rows = self.query(conn, "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND NOT internal "
                                "UNION SELECT view_name FROM duckdb_views() WHERE schema_name = ? AND NOT internal",
                          (schema or "main", schema or "main"))
        return [r[0] for r in rows]

    def table_exists(self, conn: Any, schema: str | None, table: str) -> bool:
        return table in self.list_tables(conn, schema)

    def table_schema(self, conn: Any, schema: str | None, table: str) -> pa.Schema:
        ref = self.table_ref(schema, table)
        plain = _arrow_table(conn.sql(f"SELECT * FROM {ref} LIMIT 0")).schema
        comments = dict(self.query(conn, "SELECT column_name, comment FROM duckdb_columns() "
                                         "WHERE schema_name = ? AND table_name = ?", (schema or "main", table)))
        exact = exact_fields(ExactTypes(self, schema).read(conn, table), comments)
        return pa.schema([exact.get(field.name, field) for field in plain])

    def unique_keys(self, conn: Any, schema: str | None, table: str) -> list[tuple[str, ...]]:
        rows = self.query(conn, "SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = ? "
                                "AND table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
                          (schema or "main", table))
        found = [tuple(r[0]) for r in rows]
        indexes = self.query(conn, "SELECT expressions FROM duckdb_indexes() WHERE schema_name = ? "
                                   "AND table_name = ? AND is_unique", (schema or "main", table))
        # An index's columns come as text: [a, '"b c"'] (a name needing quotes is quoted twice).
        found += [tuple(p.strip().strip("'").strip('"').replace('""', '"') for p in str(r[0]).strip("[]").split(","))
                  for r in indexes]
        return found

    def estimate_rows(self, conn: Any, schema: str | None, table: str) -> int | None:
        rows = self.query(conn, "SELECT estimated_size FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                          (schema or "main", table))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def bound(self, value: pa.Scalar) -> tuple[str, Any]:
        t = value.type
        if pa.types.is_timestamp(t) and t.unit == "ns" and value.is_valid:
            # Python's datetime stops at microseconds; the session runs in UTC, so the cast to a zone is exact.
            return ("make_timestamp_ns({})" + ("::TIMESTAMPTZ_NS" if t.tz else "")), value.cast(pa.int64()).as_py()
        return super().bound(value)

    def splits(self, dtype: pa.DataType) -> str | None:
        if pa.types.is_decimal(dtype) and dtype.precision > 38:
            return "DuckDB keeps decimals wider than 38 digits as text, which does not sort as numbers"
        return None

    def widen_column(self, conn: Any, schema: str | None, table: str, field: pa.Field) -> None:
        if not any(field.name in cols for cols in self.unique_keys(conn, schema, table)):
            super().widen_column(conn, schema, table, field)
            return
        # DuckDB cannot change the type of a key column: the table is built again under the new type, and its
        # primary key and indexes with it, in the move's transaction.
        where = (schema or "main", table)
        primary = [list(r[0]) for r in self.query(conn, "SELECT constraint_column_names FROM duckdb_constraints() "
                                                        "WHERE schema_name = ? AND table_name = ? "
                                                        "AND constraint_type = 'PRIMARY KEY'", where)]
        indexes = [str(r[0]) for r in self.query(conn, "SELECT sql FROM duckdb_indexes() WHERE schema_name = ? "
                                                       "AND table_name = ? AND sql IS NOT NULL", where)]
        ref, temp = self.table_ref(schema, table), self.table_ref(schema, f"_hygge_widen_{table}")
        current = self.table_schema(conn, schema, table)
        self.create_table(conn, temp, pa.schema([field if f.name == field.name else f for f in current]))
        columns = ", ".join(self.quote(n) for n in current.names)
        self.execute(conn, f"INSERT INTO {temp} ({columns}) SELECT {columns} FROM {ref}")
        self.execute(conn, f"DROP TABLE {ref}")
        self.rename(conn, temp, ref, table)
        for cols in primary:
            self.execute(conn, f"ALTER TABLE {ref} ADD PRIMARY KEY ({', '.join(self.quote(c) for c in cols)})")
        for index in indexes:
            self.execute(conn, index)

    def needs_exact(self, dtype: pa.DataType) -> bool:
        return lost_type(dtype)

    def column_type(self, field: pa.Field) -> str:
        try:
            return duck_type(storage_type(field.type))
        except TypeError:
            raise UnsupportedType(field, f"DuckDB has no column type for {type_name(field.type)}") from None

    def to_engine(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if all(storage_type(f.type) == f.type for f in batch.schema):
            return batch
        columns = []
        for field, column in zip(batch.schema, batch.columns, strict=True):
            if extension_name(field.type) == "arrow.uuid":
                columns.append(uuid_text(column))
            else:
                columns.append(as_type(column, storage_type(field.type)))
        return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)

    def read_columns(self, conn: Any, schema: str | None, table: str) -> tuple[list[str], pa.Schema]:
        exprs, arrow = super().read_columns(conn, schema, table)
        for index, field in enumerate(arrow):
            if extension_name(field.type) == "arrow.uuid":
                # DuckDB hands UUIDs out as text; hygge's uuid type holds the 16 bytes.
                exprs[index] = f"unhex(replace(CAST({exprs[index]} AS VARCHAR), '-', '')) AS {exprs[index]}"
        return exprs, arrow

    def read(self, conn: Any, sql: str, schema: pa.Schema | None, batch_bytes: int,
             params: tuple[Any, ...] = (), key: str | None = None) -> Iterator[pa.RecordBatch]:
        rows = rows_for(schema, batch_bytes)
        cursor = conn.cursor()  # an open reader blocks its connection; give it its own
        try:
            reader = cursor.sql(sql, params=list(params)) if params else cursor.sql(sql)
            fresh = hasattr(reader, "to_arrow_reader")  # duckdb 2.0 renamed fetch_record_batch
            stream = reader.to_arrow_reader(rows) if fresh else reader.fetch_record_batch(rows)
            for batch in stream:
                yield _exact(batch, schema)
        finally:
            cursor.close()

    def query_schema(self, conn: Any, sql: str) -> pa.Schema:
        return _arrow_table(conn.sql(f"SELECT * FROM ({sql}) AS hygge_q LIMIT 0")).schema

    def load_parquet(self, conn: Any, schema: str | None, table: str, columns: list[str],
                     files: list[Path]) -> int | None:
        # DuckDB reads parquet on every core; rows handed over as one Arrow stream are inserted on one
        # (10M rows: 2.3 s against 3.7 s). Its reader is used only where it sees exactly the column types
        # hygge gave the table, so the values land as they would have through Arrow.
        listed = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
        scan = f"read_parquet([{listed}], hive_partitioning = false, union_by_name = false)"
        found = [(row[0], row[1]) for row in self.query(conn, f"DESCRIBE SELECT * FROM {scan}")]
        wanted = [(row[0], row[1]) for row in self.query(
            conn, "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                  "ORDER BY column_index", (schema or self.default_schema, table))]
        if found != wanted or [name for name, _ in found] != columns:
            return None
        names = ", ".join(self.quote(c) for c in columns)
        inserted = self.query(conn, f"INSERT INTO {self.table_ref(schema, table)} ({names}) SELECT {names} FROM {scan}")
        return int(inserted[0][0])

    def ingest(self, conn: Any, schema: str | None, table: str, arrow_schema: pa.Schema,
               batches: Iterator[pa.RecordBatch]) -> None:
        ref = self.table_ref(schema, table)
        engine_schema = pa.schema([pa.field(f.name, storage_type(f.type)) for f in arrow_schema])
        reader = pa.RecordBatchReader.from_batches(engine_schema, batches)
        name = f"hygge_in_{threading.get_ident()}"
        conn.register(name, reader)
        try:
            columns = ", ".join(self.quote(n) for n in arrow_schema.names)
            conn.execute(f"INSERT INTO {ref} ({columns}) SELECT {columns} FROM {name}")
        except BaseException:
            try:  # in a failed transaction this fails too, and would hide why the insert failed
                conn.unregister(name)
            except Exception:  # noqa: BLE001 - the insert's own error is the one to report
                pass
            raise
        else:
            conn.unregister(name)

    @contextmanager
    def entity_lock(self, conn: Any, key: str, wait: float) -> Iterator[None]:
        # DuckDB takes one writing transaction per table at a time and one writing process per
        # file; moves of this process that write into the same file queue here instead of failing.
        with process_file_lock(str(self.spec.file(self.root))):
            yield

    def explain(self, exc: BaseException, doing: str, table: str | None = None) -> HyggeError:
        if isinstance(exc, HyggeError):
            return exc
        code = ran_out(exc)
        if code is not None:
            written = re.search(r'file "([^"]+)"', str(exc))
            return room_error("DuckDB", code, written.group(1) if written else str(self.spec.file(self.root)),
                              first_line(exc))
        return super().explain(exc, doing, table)


def rows_for(schema: pa.Schema | None, batch_bytes: int) -> int:
    """Rows per batch for a byte budget, from the schema's fixed widths (variable ones count 32 bytes)."""
    if schema is None or not len(schema):
        return 65536
    width = 0
    for field in schema:
        try:
            width += max(1, field.type.bit_width // 8)
        except ValueError:
            width += 32
    return max(1024, min(1 << 22, batch_bytes // width))


def _arrow_table(relation: Any) -> pa.Table:
    if hasattr(relation, "to_arrow_table"):
        return relation.to_arrow_table()
    return relation.arrow()


def _exact(batch: pa.RecordBatch, schema: pa.Schema | None) -> pa.RecordBatch:
    if schema is None or batch.schema == schema:
        return batch
    columns = [as_type(batch.column(field.name), field.type) for field in schema]
    return pa.RecordBatch.from_arrays(columns, schema=schema)
