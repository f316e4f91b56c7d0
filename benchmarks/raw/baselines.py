"""Raw-library baselines: the shortest bulk path each library offers for a lane, with no framework around it.

    python benchmarks/raw/baselines.py VARIANT SOURCE TARGET

SOURCE and TARGET are file or folder paths, or for databases an address 'URL#table' / 'URL#schema.table':
postgresql://postgres@127.0.0.1:5432/test#hygge_bench.mixed_1m, mysql://root@127.0.0.1:3306/hygge_bench#mixed_1m,
/abs/file.sqlite#mixed, /abs/out.duckdb#bench.mixed. Run with the raw venv (benchmarks/peers/setup.sh raw), which
pins the same pyarrow, polars, duckdb and ADBC versions as hygge's venv and adds connectorx.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq

BATCH = 128 * 1024
VARIANTS: dict[str, Callable[[str, str], None]] = {}


def variant(fn: Callable[[str, str], None]) -> Callable[[str, str], None]:
    VARIANTS[fn.__name__] = fn
    return fn


def split(address: str) -> tuple[str, str]:
    url, _, table = address.partition("#")
    return url, table


def parquet_reader(path: str) -> pa.RecordBatchReader:
    handle = pq.ParquetFile(path)
    return pa.RecordBatchReader.from_batches(handle.schema_arrow, handle.iter_batches(batch_size=BATCH))


def write_parquet(reader: pa.RecordBatchReader, path: str, compression: str = "snappy") -> None:
    with pq.ParquetWriter(path, reader.schema, compression=compression) as writer:
        for batch in reader:
            writer.write_batch(batch)


def duckdb_copy(select: str, dst: str, options: str) -> None:
    import duckdb

    duckdb.connect().execute(f"COPY ({select}) TO '{dst}' ({options})")


# ---- parquet -> parquet (also the wide lane; pq2zstd: the same calls writing zstd)
@variant
def pq2pq_pyarrow(src: str, dst: str, codec: str = "snappy") -> None:
    write_parquet(parquet_reader(src), dst, codec)


@variant
def pq2pq_polars(src: str, dst: str, codec: str = "snappy") -> None:
    import polars as pl

    pl.scan_parquet(src).sink_parquet(dst, compression=codec)


@variant
def pq2pq_duckdb(src: str, dst: str, codec: str = "snappy") -> None:
    duckdb_copy(f"SELECT * FROM read_parquet('{src}')", dst, f"FORMAT parquet, COMPRESSION {codec}")


@variant
def pq2zstd_pyarrow(src: str, dst: str) -> None:
    pq2pq_pyarrow(src, dst, "zstd")


@variant
def pq2zstd_polars(src: str, dst: str) -> None:
    pq2pq_polars(src, dst, "zstd")


@variant
def pq2zstd_duckdb(src: str, dst: str) -> None:
    pq2pq_duckdb(src, dst, "zstd")


@variant
def many_pq2pq_pyarrow(src: str, dst: str) -> None:
    """Small tables: every file of the folder copied to a file of the same name, one after another."""
    for path in sorted(Path(src).glob("*.parquet")):
        pq.write_table(pq.read_table(path), Path(dst) / path.name, compression="snappy")


# ---- parquet -> duckdb
@variant
def pq2duckdb_ctas(src: str, dst: str) -> None:
    import duckdb

    path, table = split(dst)
    with duckdb.connect(path) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet('{src}')")


# ---- parquet -> postgres
@variant
def pq2pg_adbc(src: str, dst: str) -> None:
    import adbc_driver_postgresql.dbapi as pg

    url, table = split(dst)
    schema, name = table.split(".")
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.adbc_ingest(name, parquet_reader(src), mode="replace", db_schema_name=schema)
        conn.commit()


# ---- postgres -> parquet
@variant
def pg2pq_adbc(src: str, dst: str) -> None:
    """Streams; NUMERIC arrives as text (ADBC's mapping), written as such."""
    import adbc_driver_postgresql.dbapi as pg

    url, table = split(src)
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {table}")
        write_parquet(cur.fetch_record_batch(), dst)


@variant
def pg2pq_connectorx(src: str, dst: str) -> None:
    """Reads the whole result into memory, then writes it (connectorx has no streaming arrow reader)."""
    connectorx_to_parquet(*split(src), dst)


def connectorx_to_parquet(url: str, table: str, dst: str) -> None:
    import connectorx as cx

    pq.write_table(cx.read_sql(url, f"SELECT * FROM {table}", return_type="arrow"), dst, compression="snappy")


# ---- csv -> parquet
@variant
def csv2pq_duckdb(src: str, dst: str) -> None:
    duckdb_copy(f"SELECT * FROM read_csv('{src}')", dst, "FORMAT parquet, COMPRESSION snappy")


@variant
def csv2pq_pyarrow(src: str, dst: str) -> None:
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(src, read_options=pacsv.ReadOptions(block_size=16 << 20),
                            convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    write_parquet(reader, dst)


# ---- parquet -> csv
@variant
def pq2csv_polars(src: str, dst: str) -> None:
    import polars as pl

    pl.scan_parquet(src).sink_csv(dst)


@variant
def pq2csv_duckdb(src: str, dst: str) -> None:
    duckdb_copy(f"SELECT * FROM read_parquet('{src}')", dst, "FORMAT csv, HEADER")


# ---- mysql -> parquet
@variant
def my2pq_connectorx(src: str, dst: str) -> None:
    connectorx_to_parquet(*split(src), dst)


# ---- parquet -> mysql
MYSQL_TYPES: list[tuple[Callable[[pa.DataType], bool], Callable[[pa.DataType], str]]] = [
    (pa.types.is_int64, lambda t: "BIGINT"),
    (pa.types.is_integer, lambda t: "INT"),
    (pa.types.is_floating, lambda t: "DOUBLE"),
    (pa.types.is_decimal, lambda t: f"DECIMAL({t.precision},{t.scale})"),
    (pa.types.is_boolean, lambda t: "BOOLEAN"),
    (pa.types.is_date, lambda t: "DATE"),
    (pa.types.is_timestamp, lambda t: "DATETIME(6)"),  # tz-aware values are stored as UTC
]


def mysql_type(t: pa.DataType) -> str:
    return next((name(t) for test, name in MYSQL_TYPES if test(t)), "TEXT")


def mysql_friendly(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Booleans as 0/1 and tz-aware timestamps as naive UTC, which LOAD DATA parses."""
    columns = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_boolean(field.type):
            column = column.cast(pa.int8())
        elif pa.types.is_timestamp(field.type) and field.type.tz:
            column = column.cast(pa.timestamp(field.type.unit))
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


@variant
def pq2my_loaddata(src: str, dst: str) -> None:
    """parquet -> temporary CSV (streamed by pyarrow) -> LOAD DATA LOCAL INFILE into a table made from the schema."""
    import pyarrow.csv as pacsv
    import pymysql

    url, table = split(dst)
    schema = pq.read_schema(src)
    with tempfile.NamedTemporaryFile(suffix=".csv") as tmp:
        reader = parquet_reader(src)
        first = mysql_friendly(next(iter(reader)))
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        with pacsv.CSVWriter(tmp.name, first.schema, write_options=options) as writer:
            writer.write_batch(first)
            for batch in reader:
                writer.write_batch(mysql_friendly(batch))
        where = urlparse(url)
        conn = pymysql.connect(host=where.hostname, port=where.port or 3306, user=where.username or "root",
                               password=where.password or "", database=where.path.lstrip("/"), local_infile=True)
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TABLE {table} (" + ", ".join(f"`{f.name}` {mysql_type(f.type)}" for f in schema) + ")")
            variables = ", ".join(f"@v{i}" for i in range(len(schema)))
            nulls = ", ".join(f"`{f.name}` = NULLIF(@v{i}, '')" for i, f in enumerate(schema))
            cur.execute(f"LOAD DATA LOCAL INFILE '{tmp.name}' INTO TABLE {table} FIELDS TERMINATED BY ',' "
                        f"OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' ({variables}) SET {nulls}")
        conn.commit()
        conn.close()


# ---- postgres -> postgres
@variant
def pg2pg_copy(src: str, dst: str) -> None:
    """psycopg binary COPY TO STDOUT piped into COPY FROM STDIN; the target is created LIKE the source."""
    import psycopg

    src_url, src_table = split(src)
    dst_url, dst_table = split(dst)
    with psycopg.connect(src_url) as source, psycopg.connect(dst_url) as target:
        with source.cursor() as reading, target.cursor() as writing:
            writing.execute(f"CREATE TABLE {dst_table} (LIKE {src_table})")
            with reading.copy(f"COPY {src_table} TO STDOUT (FORMAT BINARY)") as copy_out, \
                    writing.copy(f"COPY {dst_table} FROM STDIN (FORMAT BINARY)") as copy_in:
                for chunk in copy_out:
                    copy_in.write(chunk)
        target.commit()


# ---- sqlite -> parquet
@variant
def sqlite2pq_adbc(src: str, dst: str) -> None:
    """Streams; ADBC types columns by their values, so dates and timestamps stay text."""
    import adbc_driver_sqlite.dbapi as sqlite

    path, table = split(src)
    with sqlite.connect(path) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {table}")
        write_parquet(cur.fetch_record_batch(), dst)


@variant
def sqlite2pq_connectorx(src: str, dst: str) -> None:
    path, table = split(src)
    connectorx_to_parquet(f"sqlite://{path}", table, dst)


if __name__ == "__main__":
    name, source, target = sys.argv[1:4]
    VARIANTS[name](source, target)
