"""The PostgreSQL Store's session: psycopg, with the rows sent as binary COPY that pgpq encodes.

ADBC's COPY writer was 70% of a parquet → PostgreSQL move's client CPU (it encodes field by field through calls
its wheel does not inline). pgpq encodes the same Arrow batches into the same binary COPY format in Rust, column
by column: 10M rows of the benchmark's mixed table took 3.7–4.2 client CPU-seconds this way against 7.8–8.0 for
``adbc_ingest`` of the same batches, at the same wall time (the server's parsing of the rows is the bound). The
COPY runs on the move's own psycopg session, so the rows stay inside the move's one transaction (sql_landing.py).
Reads stay on ADBC (db/postgres.py): its COPY reader has no faster peer here.

Two things pgpq cannot say as the target needs, so hygge mends those columns and hands them to pgpq as bytes it
copies through: numerics above 38 digits (decimal256), encoded here field by field, and arrays whose element type
is not the one pgpq declares (a ``varchar[]`` or ``timestamptz[]`` column: pgpq says ``text`` and ``timestamp``,
and the server refuses an array of another element type), whose fields pgpq encodes and hygge re-labels.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pyarrow as pa

from hygge.db.postgres import PostgresDialect
from hygge.db.postgres_types import pg_type
from hygge.errors import MissingDriver
from hygge.formats.base import within_budget

# pgpq hands its encoding back a batch at a time; slices this big let the server parse one while the next is
# encoded (with ADBC's encoder, 10M rows took 11.3 s in 500k-row batches, 7.2 s in 32k-row ones).
COPY_CHUNK_BYTES = 2 << 20
HEADER_BYTES = 19  # a binary COPY stream's signature (11), flags (4) and header extension length (4)
ELEMENTS = """
    SELECT a.attname, t.typelem, et.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    JOIN pg_type et ON et.oid = t.typelem
    WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND t.typcategory = 'A'"""
# Element types whose binary form is that of the element pgpq declares (oid), so its bytes may be re-labelled:
# text is sent as its UTF-8 bytes for every text type, a timestamp as microseconds for both kinds. Any other
# difference is left for the server to refuse ("wrong element type"), never re-labelled.
SAME_BYTES = {25: {"varchar", "bpchar", "citext"}, 1114: {"timestamptz"}}


def _driver(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingDriver(module.split(".")[0], "postgres", needed_for="the postgres store") from exc


def _encoded(column: pa.Array) -> bytes:
    """The binary COPY stream of one column, as pgpq encodes it."""
    encoder = _driver("pgpq").ArrowToPostgresBinaryEncoder(pa.schema([("v", column.type)]))
    return encoder.write_header() + encoder.write_batch(pa.record_batch([column], names=["v"])) + encoder.finish()


def _fields(stream: bytes) -> list[bytes | None]:
    """The fields of a one-column binary COPY stream: each row is a field count, then the field's length and bytes
    (length -1: NULL); a count of -1 ends the stream."""
    fields: list[bytes | None] = []
    pos = HEADER_BYTES
    while struct.unpack_from(">h", stream, pos)[0] != -1:
        (size,) = struct.unpack_from(">i", stream, pos + 2)
        pos += 6
        fields.append(None if size < 0 else stream[pos:pos + size])
        pos += max(size, 0)
    return fields


def element_oid(list_type: pa.DataType) -> int:
    """The element type pgpq declares in the arrays of a list column (array_send: dimensions, flags, element)."""
    field = _fields(_encoded(pa.array([[]], list_type)))[0]
    assert field is not None
    return int(struct.unpack_from(">I", field, 8)[0])


def _relabelled(column: pa.Array, oid: int) -> pa.Array:
    """A list column as the fields of arrays of element type ``oid``: pgpq's bytes with the element type they
    declare changed (only to one of SAME_BYTES, whose elements are sent as the same bytes)."""
    tag = struct.pack(">I", oid)
    return pa.array([None if f is None else f[:8] + tag + f[12:] for f in _fields(_encoded(column))], pa.binary())


def _numerics(column: pa.Array) -> pa.Array:
    dumper = _driver("psycopg.types.numeric").DecimalBinaryDumper(object)
    return pa.array([None if v is None else bytes(dumper.dump(v)) for v in column.to_pylist()], pa.binary())


class CopyStream:
    """The binary COPY stream of batches already cast to the wire types, for a target whose array columns have
    the element types ``elements`` (column name → element type oid and name)."""

    def __init__(self, wire: pa.Schema, elements: dict[str, tuple[int, str]]):
        self.mend: dict[str, Callable[[pa.Array], pa.Array]] = {}
        for f in wire:
            if pa.types.is_decimal256(f.type):
                self.mend[f.name] = _numerics
            elif pa.types.is_list(f.type) and f.name in elements:
                oid, name = elements[f.name]
                if name in SAME_BYTES.get(element_oid(f.type), set()):
                    self.mend[f.name] = partial(_relabelled, oid=oid)
        self.schema = pa.schema([pa.field(f.name, pa.binary()) if f.name in self.mend else f for f in wire])
        self.encoder = _driver("pgpq").ArrowToPostgresBinaryEncoder(self.schema)

    def _mended(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not self.mend:
            return batch
        columns = [self.mend[name](c) if name in self.mend else c for name, c in zip(batch.schema.names,
                                                                                       batch.columns, strict=True)]
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)

    def pieces(self, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
        """In pieces of about COPY_CHUNK_BYTES of rows: the server parses one while the next is encoded."""
        yield self.encoder.write_header()
        for batch in batches:
            for piece in within_budget(batch, COPY_CHUNK_BYTES):
                data = self.encoder.write_batch(self._mended(piece))
                if data:
                    yield data
        yield self.encoder.finish()


class PostgresStoreDialect(PostgresDialect):
    """PostgreSQL as a Store: the session is psycopg's, statements take ``$n`` parameters as with ADBC."""

    def connect(self) -> Any:
        psycopg = _driver("psycopg")
        _driver("pgpq")  # missing: said before any table is touched, not at the first batch
        try:
            # RawCursor: PostgreSQL's own $1 placeholders, as hygge writes them for ADBC. No prepared statements:
            # a move alters tables between statements, and a plan prepared before that would fail.
            return psycopg.connect(self.libpq_url(), autocommit=False, prepare_threshold=None,
                                   cursor_factory=psycopg.RawCursor)
        except Exception as exc:  # noqa: BLE001 - every driver failure is explained in plain words
            raise self.connect_error(exc) from None

    def query(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with conn.cursor() as cursor:
            cursor.execute(sql, params or None)
            return list(cursor.fetchall()) if cursor.description is not None else []

    def ingest(self, conn: Any, schema: str | None, table: str, arrow_schema: pa.Schema,
               batches: Iterator[pa.RecordBatch]) -> None:
        wire = pa.schema([(f.name, pg_type(f.type)[1]) for f in arrow_schema])
        ref = self.table_ref(schema, table)
        lists = any(pa.types.is_list(f.type) for f in wire)
        elements = {str(column): (int(oid), str(name)) for column, oid, name in self.query(conn, ELEMENTS, (ref,))
                    } if lists else {}
        stream = CopyStream(wire, elements)
        columns = ", ".join(self.quote(name) for name in wire.names)
        with conn.cursor() as cursor, cursor.copy(f"COPY {ref} ({columns}) FROM STDIN (FORMAT binary)") as copy:
            for data in stream.pieces(batches):
                copy.write(data)
