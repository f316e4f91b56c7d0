"""MySQL and MariaDB: PyMySQL for control and LOAD DATA, ConnectorX for Arrow-native reads.

Every session runs in UTC (``time_zone='+00:00'``) and strict SQL mode. Reads
rewrite the few column types ConnectorX mishandles (TIME beyond a day, wide
decimals, BIT) and page through tables by their primary key, so memory stays
bounded; the exact Arrow types of the tables hygge wrote are kept in its
``_hygge_types`` table (db/exact_types.py), so they read back exactly. MySQL commits DDL at once, so tables are
created before the move's transaction, and a full_drop publishes with one
atomic RENAME TABLE.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from hygge.core.arrowtypes import extension_name, type_name
from hygge.db import mysql_bounds
from hygge.db.bounds import Bound
from hygge.db.dialect import Dialect, UnsupportedType
from hygge.db.exact_types import ExactTypes, exact_fields
from hygge.db.mysql_load import load, refuse_warnings
from hygge.db.mysql_types import _INTS, _OTHERS, _UINTS, lost_type, my_type
from hygge.errors import HyggeConnectionError, HyggeError, MissingDriver, StateError, WriteError

# 1412: "Table definition has changed, please retry transaction": a table another move just created (the
# journal of a new schema) met a read view opened before; the server asks for exactly that retry.
TRANSIENT_CODES = {2002, 2003, 2006, 2013, 2055, 1205, 1213, 1317, 1412, 1927}
SESSION = ("SET time_zone = '+00:00'", "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
           "SET SESSION net_write_timeout = 3600", "SET SESSION lock_wait_timeout = 60")


def copied(column: str, staged: pa.DataType, kind: str) -> str:
    """A staged column as its target column takes it: a duration (staged as a count of its unit) into a TIME
    is seconds for SEC_TO_TIME; MySQL would read the count as HHMMSS."""
    if kind == "time" and pa.types.is_duration(staged):
        digits = {"s": 0, "ms": 3, "us": 6, "ns": 9}[staged.unit]
        return f"SEC_TO_TIME(CAST({column} AS DECIMAL(30,9)) / {10 ** digits})"
    return column


def _pymysql() -> Any:
    try:
        import pymysql
    except ModuleNotFoundError as exc:
        raise MissingDriver("pymysql", "mysql", needed_for="the mysql home and store") from exc
    return pymysql


class MysqlDialect(Dialect):
    name = "mysql"
    extra = "mysql"
    default_schema = None  # the connection's database
    transactional_ddl = False
    param = "%s"
    inline_values = True  # ConnectorX takes no bound values, and pymysql would read a query's own % as markers
    keeps_types = True
    long_text = "LONGTEXT"
    match_by_in = True

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def sql(self, text: str) -> str:
        return text.replace("%", "%%").replace("?", "%s")

    def literal(self, value: pa.Scalar) -> str:
        from hygge.db.mysql_read import literal

        return literal(value.as_py())  # MySQL keeps microseconds: every value it yields is exact in Python

    def table_ref(self, schema: str | None, table: str) -> str:
        return super().table_ref(schema or self.spec.database, table)

    # -- connections ---------------------------------------------------------------------------

    def connect(self) -> Any:
        pymysql = _pymysql()
        spec = self.spec
        try:
            conn = pymysql.connect(host=spec.host or "127.0.0.1", port=spec.port or 3306, user=spec.user or "root",
                                   password=spec.password or "", database=spec.database, charset="utf8mb4",
                                   autocommit=False, local_infile=True, connect_timeout=spec.connect_timeout)
        except Exception as exc:  # noqa: BLE001 - every driver failure is explained in plain words
            raise self.connect_error(exc) from None
        with conn.cursor() as cursor:
            for statement in SESSION:
                cursor.execute(statement)
        return conn

    def connect_error(self, exc: BaseException) -> HyggeError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        where = self.spec.display()
        text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        if code == 1045:
            return HyggeConnectionError(
                f"MySQL refused the login of user '{self.spec.user}'", path=where,
                expected="a user and password the server accepts", found="access denied",
                hint="check the user and password (the password usually comes from an environment variable)")
        if code == 1049:
            return HyggeConnectionError(
                f"MySQL has no database '{self.spec.database}'", path=where, found="unknown database",
                hint=f"create it (CREATE DATABASE {self.spec.database}) or fix `database` in the connection")
        if code == 2005 or "Name or service not known" in text or "getaddrinfo" in text:
            return HyggeConnectionError(f"the host '{self.spec.host}' cannot be found", path=where,
                                        found="unknown host name",
                                        hint="check `host` in the connection, and the network or DNS of this machine")
        if code in (2002, 2003):
            return HyggeConnectionError(f"MySQL at {self.spec.host}:{self.spec.port} does not answer", path=where,
                                        found=text[:200], transient=True,
                                        hint="check that the server runs and listens there")
        return HyggeConnectionError(f"cannot connect to MySQL: {text[:300]}", path=where,
                                    hint="run `hygge debug` for a check of every connection")

    def retry_read(self, exc: BaseException) -> bool:
        return bool(exc.args) and exc.args[0] == 1412

    def transient(self, exc: BaseException) -> bool:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in TRANSIENT_CODES:
            return True
        text = str(exc)
        if type(exc).__name__ == "InterfaceError" or "sendall" in text:  # pymysql after a killed connection
            return True
        return any(w in text for w in ("IO error", "CodecError", "Lost connection", "timed out")) or (
            super().transient(exc))

    def explain(self, exc: BaseException, doing: str, table: str | None = None) -> HyggeError:
        if isinstance(exc, HyggeError):
            return exc
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in (1264, 1406, 1366, 1292, 1265):
            return WriteError("a value does not fit its column in the target table; nothing was committed",
                              path=table, found=str(exc.args[1]) if len(exc.args) > 1 else str(exc),
                              hint="widen the column in the target table, or fix the value at the source")
        if code == 3948 or (code == 1148 and "LOCAL" in str(exc)):
            return WriteError("the MySQL server does not allow LOAD DATA LOCAL", path=table, found=str(exc),
                              hint="enable it on the server: SET GLOBAL local_infile = 1")
        return super().explain(exc, doing, table)

    def execute(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> None:
        with conn.cursor() as cursor:
            cursor.execute(sql, params or None)

    def query(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with conn.cursor() as cursor:
            cursor.execute(sql, params or None)
            return list(cursor.fetchall())

    def rollback(self, conn: Any) -> None:
        try:
            conn.rollback()
        except Exception:  # noqa: BLE001 - a lost connection has rolled back on the server already
            pass

    # -- catalog -------------------------------------------------------------------------------

    def database(self, schema: str | None) -> str:
        return schema or self.spec.database or ""

    def list_tables(self, conn: Any, schema: str | None) -> list[str]:
        rows = self.query(conn, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                          (self.database(schema),))
        return [r[0] for r in rows]

    def table_exists(self, conn: Any, schema: str | None, table: str) -> bool:
        return bool(self.query(conn, "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                                     "AND TABLE_NAME = %s", (self.database(schema), table)))

    def ensure_schema(self, conn: Any, schema: str | None) -> None:
        if schema:
            self.execute(conn, f"CREATE DATABASE IF NOT EXISTS {self.quote(schema)} "
                               "CHARACTER SET utf8mb4")

    def _columns(self, conn: Any, schema: str | None, table: str) -> list[tuple[Any, ...]]:
        return self.query(conn, """
            SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.NUMERIC_PRECISION, c.NUMERIC_SCALE,
                   c.COLUMN_COMMENT,
                   EXISTS(SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
                          WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                            AND k.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)')) AS is_json
            FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = %s AND c.TABLE_NAME = %s
            ORDER BY c.ORDINAL_POSITION""", (self.database(schema), table))

    def _exact_columns(self, conn: Any, schema: str | None, table: str) -> list[tuple[Any, ...]]:
        """The catalog's rows of the table's columns, each with its exact Arrow field (or None) for its comment."""
        rows = self._columns(conn, schema, table)
        exact = exact_fields(ExactTypes(self, schema).read(conn, table), {r[0]: r[5] for r in rows})
        return [(*r[:5], exact.get(r[0]), r[6]) for r in rows]

    def _read_column(self, name: str, data_type: str, column_type: str, precision: Any, scale: Any,
                     exact: pa.Field | None, is_json: Any) -> tuple[pa.DataType, str]:
        c = self.quote(name)
        unsigned = "unsigned" in column_type
        kind = data_type.lower()
        if kind == "time":
            plain: pa.DataType = pa.duration("us")
            expr = f"CAST(TIME_TO_SEC({c}) * 1000000 AS SIGNED)"
        elif kind == "bit":
            plain, expr = (pa.bool_() if column_type == "bit(1)" else pa.uint64()), f"CAST({c} AS UNSIGNED)"
        elif kind == "decimal":
            p, s = int(precision), int(scale)
            plain = pa.decimal128(p, s) if p <= 38 else pa.decimal256(p, s)
            expr = f"CAST({c} AS CHAR)" if s > 10 or p - s > 18 else c
        elif column_type.startswith("tinyint(1)"):
            plain, expr = pa.bool_(), c
        elif kind in _INTS:
            plain, expr = (_UINTS if unsigned else _INTS)[kind], c
        elif kind == "year":
            plain, expr = pa.int16(), c
        elif is_json or kind == "json":
            plain, expr = pa.json_(), c
        else:
            plain, expr = _OTHERS.get(kind, (pa.string(), f"CAST({c} AS CHAR)"))
            expr = expr.format(c=c) if "{c}" in expr else expr
        if kind == "timestamp" and exact is None:
            plain = pa.timestamp("us", tz="UTC")  # TIMESTAMP is an instant; the session reads it in UTC
        dtype = exact.type if exact is not None else plain
        if exact is not None and pa.types.is_nested(exact.type):
            expr = f"CAST({c} AS CHAR)"  # JSON text, parsed back into lists and structs
        return dtype, expr if expr == c else f"{expr} AS {c}"

    def table_schema(self, conn: Any, schema: str | None, table: str) -> pa.Schema:
        return pa.schema([(row[0], self._read_column(*row)[0]) for row in self._exact_columns(conn, schema, table)])

    def read_columns(self, conn: Any, schema: str | None, table: str) -> tuple[list[str], pa.Schema]:
        pairs = [(row[0], *self._read_column(*row)) for row in self._exact_columns(conn, schema, table)]
        return [expr for _, _, expr in pairs], pa.schema([(name, dtype) for name, dtype, _ in pairs])

    def estimate_rows(self, conn: Any, schema: str | None, table: str) -> int | None:
        rows = self.query(conn, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                                "AND TABLE_NAME = %s", (self.database(schema), table))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def chunk_key(self, conn: Any, schema: str | None, table: str) -> str | None:
        """A single-column integer primary key to page through the table by."""
        rows = self.query(conn, """
            SELECT k.COLUMN_NAME, c.DATA_TYPE FROM information_schema.KEY_COLUMN_USAGE k
            JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME
              AND c.COLUMN_NAME = k.COLUMN_NAME
            WHERE k.TABLE_SCHEMA = %s AND k.TABLE_NAME = %s AND k.CONSTRAINT_NAME = 'PRIMARY'""",
                          (self.database(schema), table))
        if len(rows) == 1 and rows[0][1] in _INTS:
            return str(rows[0][0])
        return None

    def column_bounds(self, conn: Any, schema: str | None, table: str) -> list[Bound]:
        version = str(self.query(conn, "SELECT VERSION()")[0][0])
        numbers = [int(n) for n in version.split("-")[0].split(".")[:2] if n.isdigit()]
        wide = "MariaDB" in version and numbers >= [11, 5]  # MariaDB 11.5 took TIMESTAMP to 2106
        rows = self.query(conn, mysql_bounds.COLUMNS, (self.database(schema), table))
        return [b for b in (mysql_bounds.bound(row, wide) for row in rows) if b is not None]

    def widened_type(self, bound: Bound, need: dict[str, Any]) -> str | None:
        return mysql_bounds.widened_type(bound, need)

    def change_type(self, conn: Any, schema: str | None, table: str, column: str, column_type: str) -> None:
        ref = self.table_ref(schema, table)
        create = str(self.query(conn, f"SHOW CREATE TABLE {ref}")[0][1])
        current = self.query(conn, "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                                   "AND TABLE_NAME = %s AND COLUMN_NAME = %s", (self.database(schema), table, column))
        definition = mysql_bounds.modified(create, column, str(current[0][0]), column_type) if current else None
        if definition is None:
            raise WriteError(f"cannot find the definition of column {column} to widen it", path=ref,
                             found=create[:300], hint="widen the column yourself (ALTER TABLE ... MODIFY COLUMN)")
        try:
            self.execute(conn, f"ALTER TABLE {ref} MODIFY COLUMN {definition}")
        except Exception as exc:
            if not (exc.args and exc.args[0] == 1071):
                raise
            # A key column (db/mysql_keys.py) already uses what InnoDB's key limit allows it.
            raise WriteError(
                f"column {column} is part of the table's key and cannot be widened to {column_type}: the key would "
                "pass InnoDB's 3072-byte limit; nothing was committed", path=ref, found=str(exc.args[-1]),
                hint="shorten those values at the source or with `polish`, or choose `keys` of shorter columns "
                     "(then recreate the table with --full-drop)") from None

    def insert_select(self, conn: Any, schema: str | None, table: str, fields: pa.Schema, source: str) -> None:
        kinds = self.column_kinds(conn, schema, table)
        ref = self.table_ref(schema, table)
        names = ", ".join(self.quote(f.name) for f in fields)
        exprs = ", ".join(copied(self.quote(f.name), f.type, kinds.get(f.name, "")) for f in fields)
        with conn.cursor() as cursor:
            cursor.execute(f"INSERT INTO {ref} ({names}) SELECT {exprs} FROM {source}")
            refuse_warnings(cursor, ref, "copying rows into it")

    def column_kinds(self, conn: Any, schema: str | None, table: str) -> dict[str, str]:
        """Each column's information_schema DATA_TYPE: where the text or the conversion of a value depends on it."""
        rows = self.query(conn, "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                                "AND TABLE_NAME = %s", (self.database(schema), table))
        return {str(n): str(k).lower() for n, k in rows}

    # -- types ---------------------------------------------------------------------------------

    def column_type(self, field: pa.Field) -> str:
        try:
            return my_type(field.type)
        except TypeError as exc:
            plain = f"MySQL has no column type that holds {type_name(field.type)} faithfully"
            why = str(exc) if " " in str(exc) else plain
            raise UnsupportedType(field, why) from None

    def needs_exact(self, dtype: pa.DataType) -> bool:
        return lost_type(dtype)

    def _column_sql(self, field: pa.Field) -> str:
        return f"{self.quote(field.name)} {self.column_type(field)}"

    def create_table(self, conn: Any, ref: str, schema: pa.Schema) -> None:
        columns = ", ".join(self._column_sql(f) for f in schema)
        # nopad_bin: 'a', 'A' and 'a ' are three different keys, as in every other store.
        self.execute(conn, f"CREATE TABLE {ref} ({columns}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
                           f"COLLATE={self.collation(conn)}")

    def collation(self, conn: Any) -> str:
        version = str(self.query(conn, "SELECT VERSION()")[0][0])
        return "utf8mb4_nopad_bin" if "MariaDB" in version else "utf8mb4_0900_bin"

    def add_column(self, conn: Any, schema: str | None, table: str, field: pa.Field) -> None:
        self.execute(conn, f"ALTER TABLE {self.table_ref(schema, table)} ADD COLUMN {self._column_sql(field)}")

    def widen_column(self, conn: Any, schema: str | None, table: str, field: pa.Field) -> None:
        self.execute(conn, f"ALTER TABLE {self.table_ref(schema, table)} MODIFY COLUMN {self._column_sql(field)}")

    def index_keys(self, conn: Any, staging: str, keys: tuple[str, ...], schema: pa.Schema) -> None:
        # Text and blob keys are LONGTEXT/LONGBLOB: index a prefix, enough to make the join a lookup.
        def part(key: str) -> str:
            t = schema.field(key).type
            long = pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or (
                pa.types.is_large_binary(t) or pa.types.is_nested(t) or extension_name(t) == "arrow.json")
            return f"{self.quote(key)}(191)" if long else self.quote(key)

        self.execute(conn, f"CREATE INDEX hygge_keys ON {staging} ({', '.join(part(k) for k in keys[:4])})")

    def unique_keys(self, conn: Any, schema: str | None, table: str) -> list[tuple[str, ...]]:
        rows = self.query(conn, "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                                "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND NON_UNIQUE = 0 "
                                "ORDER BY INDEX_NAME, SEQ_IN_INDEX", (self.database(schema), table))
        found: dict[str, list[str]] = {}
        for index, column in rows:
            found.setdefault(str(index), []).append(str(column))
        return [tuple(cols) for cols in found.values()]

    def add_key(self, conn: Any, schema: str | None, table: str, keys: tuple[str, ...], primary: bool,
                measured: tuple[str, ...]) -> str:
        from hygge.db.mysql_keys import key_columns

        # One ALTER: the key columns become indexable and the key is built in one pass over the table.
        clauses = key_columns(self, conn, schema, table, keys, measured)
        cols = ", ".join(self.quote(k) for k in keys)
        clauses.append(f"ADD PRIMARY KEY ({cols})" if primary else f"ADD UNIQUE KEY hygge_key ({cols})")
        self.execute(conn, f"ALTER TABLE {self.table_ref(schema, table)} {', '.join(clauses)}")
        return "primary key" if primary else "unique index"

    def delete_statement(self, target: str, staging: str, keys: tuple[str, ...]) -> str:
        # A join: each staged key is looked up in the target's primary key (eq_ref), where EXISTS would scan it.
        on = " AND ".join(f"t.{self.quote(k)} = s.{self.quote(k)}" for k in keys)
        return f"DELETE t FROM {target} t JOIN {staging} s ON {on}"

    def rename(self, conn: Any, source: str, target: str, table: str) -> None:
        self.execute(conn, f"RENAME TABLE {source} TO {target}")  # qualified: MySQL would move it elsewhere

    def publish_swap(self, conn: Any, target: str, staging: str, table: str, old: str) -> None:
        # One RENAME swaps both names at once; it commits, like all MySQL DDL.
        self.execute(conn, f"RENAME TABLE {target} TO {old}, {staging} TO {target}")
        self.execute(conn, f"DROP TABLE {old}")

    # -- data ----------------------------------------------------------------------------------

    def read(self, conn: Any, sql: str, schema: pa.Schema | None, batch_bytes: int,
             params: tuple[Any, ...] = (), key: str | None = None) -> Iterator[pa.RecordBatch]:
        from hygge.db.mysql_read import read

        yield from read(self, sql, schema, batch_bytes, params, key)

    def query_schema(self, conn: Any, sql: str) -> pa.Schema:
        from hygge.db.mysql_read import read

        for batch in read(self, f"SELECT * FROM ({sql}) AS hygge_q LIMIT 0", None, 1 << 20, ()):
            return batch.schema
        return pa.schema([])

    def ingest(self, conn: Any, schema: str | None, table: str, arrow_schema: pa.Schema,
               batches: Iterator[pa.RecordBatch]) -> None:
        load(self, conn, self.table_ref(schema, table), arrow_schema, batches, self.column_kinds(conn, schema, table))

    # -- locks ---------------------------------------------------------------------------------

    def setup_lock(self, conn: Any, schema: str | None) -> None:
        self.query(conn, "SELECT GET_LOCK(%s, 60)", (f"hygge-setup:{self.database(schema)}"[:64],))

    @contextmanager
    def entity_lock(self, conn: Any, key: str, wait: float) -> Iterator[None]:
        name = ("hygge:" + key.split("|")[-1])[:64]  # released by the server when the session ends
        deadline = time.monotonic() + wait
        while not self.query(conn, "SELECT GET_LOCK(%s, 0)", (name,))[0][0]:
            if time.monotonic() >= deadline:
                holder = self.query(conn, "SELECT IS_USED_LOCK(%s)", (name,))[0][0]
                raise StateError(
                    "another hygge run is writing this table right now", path=key.split("|")[-1],
                    expected="no other run on the same table", found=f"MySQL session {holder}",
                    hint="wait for it to finish, or set `options: lock_wait: SECONDS` to queue behind it")
            time.sleep(0.2)
        try:
            yield
        finally:
            try:
                self.query(conn, "SELECT RELEASE_LOCK(%s)", (name,))
            except Exception:  # noqa: BLE001 - the lock goes with the session anyway
                pass
