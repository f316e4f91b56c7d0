"""Raw-library baselines: the shortest bulk path each library offers for a lane, with no framework around it.

    python benchmarks/raw/baselines.py VARIANT SOURCE TARGET

SOURCE and TARGET are file or folder paths, or for databases an address 'URL#table' / 'URL#schema.table':
postgresql://postgres@127.0.0.1:5432/test#hygge_bench.mixed_1m, mysql://root@127.0.0.1:3306/hygge_bench#mixed_1m,
/abs/file.sqlite#mixed, /abs/out.duckdb#bench.mixed; objects s3://bucket/key (endpoint and keys from the AWS_*
variables); Iceberg tables /abs/catalog.db#namespace.table (a SQL catalog on SQLite, warehouse beside it). Run with
the raw venv (benchmarks/peers/setup.sh raw rawextra), which pins the same pyarrow, polars, duckdb, ADBC, deltalake,
pyiceberg and obstore versions as hygge's venv and adds connectorx.
"""

from __future__ import annotations

import os
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


# ---- parquet -> sqlite
@variant
def pq2sqlite_adbc(src: str, dst: str) -> None:
    import adbc_driver_sqlite.dbapi as sqlite

    path, table = split(dst)
    reader = parquet_reader(src)
    # The driver refuses decimal128: decimals go in as their exact text (as hygge stores them), the rest as they are.
    schema = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_decimal(f.type) else f for f in reader.schema])
    batches = (batch.cast(schema) for batch in reader)
    with sqlite.connect(path) as conn, conn.cursor() as cur:
        cur.adbc_ingest(table, pa.RecordBatchReader.from_batches(schema, batches), mode="create")
        conn.commit()


# ---- buckets: pyarrow.fs and obstore, configured from the AWS_* variables (pyarrow's S3FileSystem() ignores
# AWS_ENDPOINT_URL, so the endpoint is passed explicitly)
def s3_filesystem() -> object:
    import pyarrow.fs as pafs

    endpoint = urlparse(os.environ["AWS_ENDPOINT_URL"])
    return pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                             region=os.environ.get("AWS_REGION", "us-east-1"), scheme=endpoint.scheme,
                             endpoint_override=endpoint.netloc)


def s3_store(url: str) -> tuple[object, str]:
    """(obstore S3Store of the URL's bucket, key)."""
    from obstore.store import S3Store

    bucket, _, key = url.removeprefix("s3://").partition("/")
    return S3Store(bucket, endpoint=os.environ["AWS_ENDPOINT_URL"], access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                   secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                   region=os.environ.get("AWS_REGION", "us-east-1"), virtual_hosted_style_request=False,
                   client_options={"allow_http": True}), key


def s3_path(url: str) -> str:
    return url.removeprefix("s3://")


@variant
def pq2s3_pyarrow(src: str, dst: str) -> None:
    reader = parquet_reader(src)
    with pq.ParquetWriter(s3_path(dst), reader.schema, compression="snappy", filesystem=s3_filesystem()) as writer:
        for batch in reader:
            writer.write_batch(batch)


@variant
def pq2s3_pafs_copy(src: str, dst: str) -> None:
    import pyarrow.fs as pafs

    pafs.copy_files(src, s3_path(dst), destination_filesystem=s3_filesystem())


@variant
def pq2s3_obstore(src: str, dst: str) -> None:
    import obstore

    store, key = s3_store(dst)
    obstore.put(store, key, Path(src))


@variant
def s32pq_pyarrow(src: str, dst: str) -> None:
    handle = pq.ParquetFile(s3_filesystem().open_input_file(s3_path(src)))
    write_parquet(pa.RecordBatchReader.from_batches(handle.schema_arrow, handle.iter_batches(batch_size=BATCH)), dst)


@variant
def s32pq_pafs_copy(src: str, dst: str) -> None:
    import pyarrow.fs as pafs

    pafs.copy_files(s3_path(src), dst, source_filesystem=s3_filesystem())


@variant
def s32pq_obstore(src: str, dst: str) -> None:
    import obstore

    store, key = s3_store(src)
    with open(dst, "wb") as out:
        for chunk in obstore.get(store, key).stream(min_chunk_size=8 << 20):
            out.write(chunk)


@variant
def csvs32pg_pyarrow(src: str, dst: str) -> None:
    """pyarrow's streaming CSV reader over the object's input stream, ingested by ADBC's binary COPY."""
    import adbc_driver_postgresql.dbapi as pg
    import pyarrow.csv as pacsv

    url, table = split(dst)
    schema, name = table.split(".")
    stream = s3_filesystem().open_input_stream(s3_path(src))
    reader = pacsv.open_csv(stream, read_options=pacsv.ReadOptions(block_size=16 << 20),
                            convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.adbc_ingest(name, reader, mode="replace", db_schema_name=schema)
        conn.commit()


PG_TYPES: list[tuple[Callable[[pa.DataType], bool], str]] = [
    (pa.types.is_int32, "integer"), (pa.types.is_integer, "bigint"), (pa.types.is_floating, "double precision"),
    (pa.types.is_boolean, "boolean"), (pa.types.is_date, "date"),
    (lambda t: pa.types.is_timestamp(t) and t.tz is not None, "timestamptz"), (pa.types.is_timestamp, "timestamp"),
]


@variant
def csvs32pg_obstore(src: str, dst: str) -> None:
    """The object's bytes streamed by obstore straight into PostgreSQL's COPY ... (FORMAT csv, HEADER): the server
    parses the CSV. The table is made from the types pyarrow infers from the first MiB."""
    import io

    import obstore
    import psycopg
    import pyarrow.csv as pacsv

    store, key = s3_store(src)
    head = bytes(obstore.get_range(store, key, start=0, length=1 << 20))
    schema = pacsv.read_csv(io.BytesIO(head[: head.rindex(b"\n") + 1])).schema
    columns = ", ".join(f'"{f.name}" ' + next((n for test, n in PG_TYPES if test(f.type)), "text") for f in schema)
    url, table = split(dst)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} ({columns})")
        with cur.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as copy:
            for chunk in obstore.get(store, key).stream(min_chunk_size=8 << 20):
                copy.write(chunk)


# ---- lake tables
@variant
def pq2delta_deltalake(src: str, dst: str) -> None:
    from deltalake import write_deltalake

    write_deltalake(dst, parquet_reader(src))


@variant
def pq2delta_polars(src: str, dst: str) -> None:
    import polars as pl

    pl.scan_parquet(src).sink_delta(dst)


@variant
def pg2delta_adbc(src: str, dst: str) -> None:
    import adbc_driver_postgresql.dbapi as pg
    from deltalake import write_deltalake

    url, table = split(src)
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {table}")
        write_deltalake(dst, cur.fetch_record_batch())


@variant
def pg2delta_connectorx(src: str, dst: str) -> None:
    import connectorx as cx
    from deltalake import write_deltalake

    url, table = split(src)
    write_deltalake(dst, cx.read_sql(url, f"SELECT * FROM {table}", return_type="arrow"))


def iceberg_table(address: str, schema: pa.Schema) -> object:
    """A new table in a SQL catalog on SQLite (catalog file and warehouse folder side by side)."""
    from pyiceberg.catalog.sql import SqlCatalog

    path, table = split(address)
    warehouse = Path(path).parent / "warehouse"
    warehouse.mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog("bench", uri=f"sqlite:///{path}", warehouse=warehouse.as_uri())
    catalog.create_namespace_if_not_exists(table.split(".")[0])
    return catalog.create_table(table, schema=schema)


@variant
def pq2iceberg_pyiceberg(src: str, dst: str) -> None:
    """pyiceberg's append takes a whole pa.Table (it has no streaming writer)."""
    data = pq.read_table(src)
    iceberg_table(dst, data.schema).append(data)


@variant
def pq2iceberg_polars(src: str, dst: str) -> None:
    import polars as pl

    pl.scan_parquet(src).sink_iceberg(iceberg_table(dst, pq.read_schema(src)), mode="append")


@variant
def delta_merge_deltalake(src: str, dst: str) -> None:
    """Upsert by id: changed rows update, new ids insert."""
    from deltalake import DeltaTable

    (DeltaTable(dst).merge(source=pq.read_table(src), predicate="t.id = s.id", source_alias="s", target_alias="t")
     .when_matched_update_all().when_not_matched_insert_all().execute())


if __name__ == "__main__":
    name, source, target = sys.argv[1:4]
    VARIANTS[name](source, target)
