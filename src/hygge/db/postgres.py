"""PostgreSQL: the dialect both ends share (types, catalog, locks), and reads through the ADBC driver.

ADBC streams reads as ``COPY (query) TO STDOUT (FORMAT binary)``; the Store loads with ``COPY ... FROM STDIN
(FORMAT binary)`` on a psycopg session instead (db/postgres_store.py). Automatic type mappings lose things
(numeric precision, unsigned 64-bit values, nanoseconds), so hygge writes its own DDL and casts every batch to
the exact wire type of each column first. Reads build their SELECT list from the catalog, so every column
arrives as a faithful Arrow type. Watermark filters are inlined as literals: bind parameters would turn the
streaming COPY into one big result.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from hygge.core import lazy
from hygge.db.bounds import Bound
from hygge.db.dialect import Dialect, Unfit, UnsupportedType, refuse_unfit
from hygge.db.postgres_arrays import one_dimension, with_dimensions
from hygge.db.postgres_types import (
    _READ,
    BOUND_COLUMNS,
    ext,
    holds_nul,
    literal,
    normal_type,
    normalize,
    pg_bound,
    pg_refusal,
    pg_type,
    pg_widened,
    to_wire,
)
from hygge.errors import HyggeConnectionError, HyggeError, MissingDriver, StateError, WriteError

# The driver hands a COPY stream over one batch at a time: at most this much, so that a slow link still shows
# rows every second or so (32 MB at 3 MB/s was ten seconds of "0 rows"). Stores gather batches again into
# row groups and COPY chunks of their own size, and the stream's speed does not depend on it.
STREAM_BATCH_BYTES = 4 << 20
TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "40001", "40P01", "53300")
TRANSIENT_WORDS = ("terminating connection", "server closed the connection", "could not receive",
                   "connection refused", "connection reset", "no connection to the server", "timeout expired")


def _adbc() -> Any:
    try:
        dbapi = lazy.adbc_dbapi("adbc_driver_postgresql.dbapi")
    except ModuleNotFoundError as exc:
        raise MissingDriver("adbc_driver_postgresql", "postgres", needed_for="the postgres home") from exc
    return dbapi


class PostgresDialect(Dialect):
    name = "postgres"
    extra = "postgres"
    default_schema = "public"
    param = "${n}"
    inline_values = True  # ADBC streams a query's rows only when it has no bound values
    shares_snapshots = True  # pg_export_snapshot / SET TRANSACTION SNAPSHOT

    def connect(self) -> Any:
        dbapi = _adbc()
        try:
            return dbapi.connect(self.libpq_url())
        except Exception as exc:  # noqa: BLE001 - every driver failure is explained in plain words
            raise self.connect_error(exc) from None

    def libpq_url(self) -> str:
        """The connection's URL as libpq takes it (both drivers are libpq underneath), with hygge's defaults."""
        spec = self.spec
        options = dict(spec.options)
        options.setdefault("connect_timeout", str(int(spec.connect_timeout)))
        options.setdefault("application_name", "hygge")
        url = spec.url("postgresql")
        return url + ("&" if "?" in url else "?") + "&".join(f"{k}={v}" for k, v in options.items()
                                                             if f"{k}=" not in url)

    def connect_error(self, exc: BaseException) -> HyggeError:
        text = str(exc)
        where = self.spec.display()
        low = text.lower()
        if "authentication failed" in low or ("role" in low and "does not exist" in low):
            return HyggeConnectionError(
                f"PostgreSQL refused the login of user '{self.spec.user}'", path=where,
                expected="a user and password the server accepts", found="authentication failed",
                hint="check the user and password (the password usually comes from an environment variable)")
        if "does not exist" in low and "database" in low:
            return HyggeConnectionError(
                f"PostgreSQL has no database '{self.spec.database}'", path=where,
                expected="an existing database", found="database does not exist",
                hint=f"create it (createdb {self.spec.database}) or fix `database` in the connection")
        if "could not translate host name" in low or "name or service not known" in low:
            return HyggeConnectionError(
                f"the host '{self.spec.host}' cannot be found", path=where, found="unknown host name",
                hint="check `host` in the connection, and the network or DNS of this machine")
        if "connection refused" in low or "timeout" in low or "could not connect" in low:
            return HyggeConnectionError(
                f"PostgreSQL at {self.spec.host}:{self.spec.port} does not answer", path=where,
                found=text.strip().splitlines()[0][:200], transient=True,
                hint="check that the server runs and listens there, and that no firewall is in the way")
        return HyggeConnectionError(f"cannot connect to PostgreSQL: {text.strip().splitlines()[0][:300]}",
                                    path=where, hint="run `hygge debug` for a check of every connection")

    def explain(self, exc: BaseException, doing: str, table: str | None = None) -> HyggeError:
        state = getattr(exc, "sqlstate", None) or ""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if state == "2BP01" or "depend on it" in text:
            return WriteError(
                "other objects (views, foreign keys) depend on the target table, so it cannot be swapped",
                path=table, found=text,
                hint="set `full_drop_mode: truncate` on the store: the table is kept and refilled in one transaction",
            )
        if state.startswith("22") or "value too long" in text or "out of range" in text or "overflow" in text:
            return WriteError(
                "a value does not fit its column in the target table; nothing was committed",
                path=table, expected="values within the target columns' types", found=text,
                hint="widen the column in the target table, or fix the value at the source",
            )
        return super().explain(exc, doing, table)

    def transient(self, exc: BaseException) -> bool:
        state = getattr(exc, "sqlstate", None) or ""
        if state.startswith(TRANSIENT_STATES):
            return True
        text = str(exc).lower()
        return any(word in text for word in TRANSIENT_WORDS) or super().transient(exc)

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

    def list_tables(self, conn: Any, schema: str | None) -> list[str]:
        rows = self.query(conn, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
                                "AND NOT c.relispartition", (schema or "public",))
        return [r[0] for r in rows]

    def table_exists(self, conn: Any, schema: str | None, table: str) -> bool:
        return bool(self.query(conn, "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                     "WHERE n.nspname = $1 AND c.relname = $2 "
                                     "AND c.relkind IN ('r', 'p', 'v', 'm', 'f')", (schema or "public", table)))

    def _columns(self, conn: Any, schema: str | None, table: str) -> list[tuple[Any, ...]]:
        return self.query(conn, """
            SELECT a.attname, t.typname, t.typtype, coalesce(et.typname, ''), a.atttypmod, bt.typname, a.attndims
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
            LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
            WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                WHERE n.nspname = $1 AND c.relname = $2)
              AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""", (schema or "public", table))

    def _read_column(self, name: str, typname: str, typtype: str, elem: str, typmod: int,
                     base: str | None, dims: int = 0) -> tuple[pa.DataType, str]:
        c = self.quote(name)
        if base:  # a domain reads as its base type
            typname = base
        if typtype == "e":
            return pa.string(), f"{c}::text"
        if typname == "numeric":
            if typmod >= 4:
                precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
                dtype = pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
                # As it is stored: the driver decodes the binary numeric into its text, which Arrow parses into
                # the decimal exactly (normalize). With the ADBC driver below 1.9 (pyproject.toml) that is the least
                # work for the server, which bounds the read: 10M values took 1.54 server CPU-s and 0.9 client
                # CPU-s this way, 2.1-2.4 and 0.4 as the unscaled `(x * 100)::int8`, 1.7 and 0.75 as `x::text`;
                # PostgreSQL -> parquet of the benchmark table 4.62-5.06 s against 4.81-5.32 s as int8 (alternated).
                return dtype, c
            return pa.string(), f"{c}::text"  # unconstrained numeric: any precision, kept as exact text
        if elem:
            inner, expr = self._read_column(name, elem, "b", "", -1, None)
            if expr != c or pa.types.is_decimal(inner):
                return pa.string(), f"{c}::text"
            if dims >= 2:
                # The driver hands any array over flat ({{1,2},{3,4}} as [1,2,3,4]); declared with more
                # dimensions, the column is read as JSON and parsed into lists of lists (see normalize).
                if not (pa.types.is_integer(inner) or pa.types.is_floating(inner) or pa.types.is_boolean(inner)
                        or pa.types.is_string(inner)):
                    return pa.string(), f"{c}::text"
                for _ in range(dims):
                    inner = pa.list_(inner)
                return inner, f"array_to_json({c})::text"
            return pa.list_(inner), c
        if typname in _READ:
            dtype, template = _READ[typname]
            return dtype, template.format(c=c)
        return pa.string(), f"{c}::text"  # timetz, inet, xml, geometric...: their text form

    def table_schema(self, conn: Any, schema: str | None, table: str) -> pa.Schema:
        return pa.schema([(row[0], self._read_column(*row)[0]) for row in self._columns(conn, schema, table)])

    def read_columns(self, conn: Any, schema: str | None, table: str) -> tuple[list[str], pa.Schema]:
        exprs, fields = [], []
        for row in self._columns(conn, schema, table):
            dtype, expr = self._read_column(*row)
            exprs.append(expr if expr == self.quote(row[0]) else f"{expr} AS {self.quote(row[0])}")
            fields.append(pa.field(row[0], dtype))
        return exprs, pa.schema(fields)

    def unique_keys(self, conn: Any, schema: str | None, table: str) -> list[tuple[str, ...]]:
        rows = self.query(conn, """
            SELECT string_agg(a.attname, chr(31) ORDER BY k.n)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace ns ON ns.oid = c.relnamespace
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
            WHERE i.indisunique AND i.indpred IS NULL AND ns.nspname = $1 AND c.relname = $2
            GROUP BY i.indexrelid""", (schema or "public", table))
        return [tuple(str(r[0]).split(chr(31))) for r in rows if r[0]]

    def estimate_rows(self, conn: Any, schema: str | None, table: str) -> int | None:
        rows = self.query(conn, "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n "
                                "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                          (schema or "public", table))
        if not rows or rows[0][0] is None:
            return None
        if rows[0][0] >= 0:
            return int(rows[0][0]) or None
        # Never analyzed (a table just loaded): guessed from its size on disk as the planner guesses, with the
        # width of each fixed-size column and 32 bytes for each other one, plus a row's header and pointer.
        guess = self.query(conn, """
            SELECT pg_relation_size(c.oid), current_setting('block_size')::int,
                   (SELECT sum(CASE WHEN t.typlen > 0 THEN t.typlen ELSE 32 END) FROM pg_attribute a
                    JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = c.oid AND a.attnum > 0
                    AND NOT a.attisdropped)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2""",
                           (schema or "public", table))
        size, block, width = guess[0]
        if not size or not width:
            return None
        return int(size // block * ((block - 24) // (int(width) + 28))) or None

    def column_bounds(self, conn: Any, schema: str | None, table: str) -> list[Bound]:
        rows = self.query(conn, BOUND_COLUMNS, (schema or "public", table))
        return [b for b in (pg_bound(*row) for row in rows) if b is not None]

    def widened_type(self, bound: Bound, need: dict[str, Any]) -> str | None:
        return pg_widened(bound, need)

    # -- types ---------------------------------------------------------------------------------

    def column_type(self, field: pa.Field) -> str:
        try:
            return pg_type(field.type)[0]
        except TypeError:
            raise UnsupportedType(field, pg_refusal(field.type)) from None

    def to_engine(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns, problems = [], []
        for field, column in zip(batch.schema, batch.columns, strict=True):
            wire = pg_type(field.type)[1]
            try:
                wired = to_wire(column, field.type, wire)
                # Searched in the wire column: its text is plain strings, whose bytes are searched in place (a
                # string_view or dictionary column would be counted by polars, 20% of a lineitem move's CPU).
                nul = holds_nul(column if ext(field.type) == "arrow.json" else wired)
                if nul:
                    raise Unfit(field.name, f"{nul} value(s) with the character NUL (\\x00), which PostgreSQL text "
                                            "cannot hold",
                                "remove NUL at the source (e.g. read the column with a `query:` using "
                                "replace(column, chr(0), '')), or move the column as bytes (binary, bytea)")
                columns.append(wired)
            except (pa.ArrowInvalid, ValueError) as exc:
                problems.append(Unfit(field.name, f"values {pg_type(field.type)[0]} cannot hold exactly "
                                                  f"({str(exc).splitlines()[0]})",
                                      "PostgreSQL keeps microseconds: round the column at the source, or write it "
                                      "elsewhere"))
            except Unfit as exc:
                problems.append(exc)
        if problems:
            raise refuse_unfit("PostgreSQL", problems)
        return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)

    # -- data ----------------------------------------------------------------------------------

    def literal(self, value: pa.Scalar) -> str:
        return literal(value.as_py())  # PostgreSQL keeps microseconds: every value it yields is exact in Python

    def inline(self, sql: str, params: tuple[Any, ...]) -> str:
        for index in range(len(params), 0, -1):
            sql = sql.replace(f"${index}", literal(params[index - 1]))
        return sql

    def read(self, conn: Any, sql: str, schema: pa.Schema | None, batch_bytes: int,
             params: tuple[Any, ...] = (), key: str | None = None) -> Iterator[pa.RecordBatch]:
        sql, flat = with_dimensions(self.quote, self.inline(sql, params), schema)
        cursor = conn.cursor()
        try:
            hint = min(batch_bytes, STREAM_BATCH_BYTES)
            cursor.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(hint)})
            cursor.execute(sql)
            for batch in cursor.fetch_record_batch():
                if flat:
                    batch = one_dimension(batch, flat)
                yield normalize(batch, schema)
        finally:
            cursor.close()
            self.rollback(conn)

    def physical_pages(self, conn: Any, schema: str | None, table: str) -> int | None:
        from hygge.db.physical import PAGES, pages_of

        return pages_of(self.query(conn, PAGES, (schema or "public", table)))

    def export_snapshot(self, conn: Any) -> str:
        from hygge.db.physical import checked_snapshot

        self.rollback(conn)  # a transaction of its own: the isolation level must come before any query in it
        with conn.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            return checked_snapshot(cursor.fetchone()[0])

    def join_snapshot(self, conn: Any, snapshot: str) -> None:
        from hygge.db.physical import checked_snapshot

        self.rollback(conn)
        with conn.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{checked_snapshot(snapshot)}'")

    def query_schema(self, conn: Any, sql: str) -> pa.Schema:
        with conn.cursor() as cursor:
            raw = cursor.adbc_execute_schema(sql)
        self.rollback(conn)
        return pa.schema([pa.field(f.name, normal_type(f)) for f in raw])

    def ingest(self, conn: Any, schema: str | None, table: str, arrow_schema: pa.Schema,
               batches: Iterator[pa.RecordBatch]) -> None:
        raise NotImplementedError("the postgres home reads; the store's dialect loads (db/postgres_store.py)")

    def setup_lock(self, conn: Any, schema: str | None) -> None:
        lock_id = zlib.crc32(f"hygge-setup:{schema}".encode()) - 2**31
        self.query(conn, "SELECT pg_advisory_xact_lock($1)", (lock_id,))

    @contextmanager
    def entity_lock(self, conn: Any, key: str, wait: float) -> Iterator[None]:
        # A session-level advisory lock: released by the server when the session ends, however it ends.
        lock_id = zlib.crc32(f"hygge:{key}".encode()) - 2**31
        import time

        deadline = time.monotonic() + wait
        while not self.query(conn, "SELECT pg_try_advisory_lock($1)", (lock_id,))[0][0]:
            if time.monotonic() >= deadline:
                holder = self.query(conn, "SELECT a.application_name, a.client_addr::text, a.pid, "
                                          "a.backend_start::text FROM pg_locks l JOIN pg_stat_activity a "
                                          "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objid = $1",
                                    (lock_id & 0xFFFFFFFF,))
                found = (f"session {holder[0][2]} ({holder[0][0] or 'unnamed'} from {holder[0][1] or 'local'}, "
                         f"since {holder[0][3][:19]})") if holder else "another session"
                self.rollback(conn)
                raise StateError(
                    "another hygge run is writing this table right now",
                    path=key.split("|")[-1], expected="no other run on the same table", found=found,
                    hint="wait for it to finish, or set `options: lock_wait: SECONDS` to queue behind it")
            time.sleep(0.2)
        self.commit(conn)
        try:
            yield
        finally:
            try:
                self.rollback(conn)
                self.query(conn, "SELECT pg_advisory_unlock($1)", (lock_id,))
                self.commit(conn)
            except Exception:  # noqa: BLE001 - the lock goes with the session anyway
                pass
