"""Raw DuckDB paths of the database and bucket lanes: DuckDB 1.5.5 with its postgres, mysql and sqlite scanners and
httpfs, loaded from the extension wheels benchmarks/peers/setup.sh installed (never downloaded).

    python benchmarks/raw/scanners.py VARIANT SOURCE TARGET

Addresses as in baselines.py ('URL#schema.table', '/abs/file.sqlite#table', s3://bucket/key). Run with the scanners
venv (benchmarks/peers/setup.sh PREFIX scanners): this script imports nothing but duckdb, so its start-up is
DuckDB's. S3 endpoint and keys come from the AWS_* variables the runner sets.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import duckdb

EXTENSIONS = Path(sys.executable).parent.parent / "duckdb-extensions"  # the venv's own, filled by setup.sh
VARIANTS: dict[str, Callable[[str, str], None]] = {}
PARQUET = "FORMAT parquet, COMPRESSION snappy"


def variant(fn: Callable[[str, str], None]) -> Callable[[str, str], None]:
    VARIANTS[fn.__name__] = fn
    return fn


def connect(*extensions: str) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(config={"extension_directory": str(EXTENSIONS), "autoinstall_known_extensions": False,
                                  "autoload_known_extensions": False})
    for name in extensions:
        conn.execute(f"LOAD {name}")
    return conn


def split(address: str) -> tuple[str, str]:
    url, _, table = address.partition("#")
    return url, table


def attach_postgres(conn: duckdb.DuckDBPyConnection, url: str, alias: str, read_only: bool = False) -> None:
    conn.execute(f"ATTACH '{url}' AS {alias} (TYPE postgres{', READ_ONLY' if read_only else ''})")


def attach_mysql(conn: duckdb.DuckDBPyConnection, url: str, alias: str, read_only: bool = False) -> None:
    where = urlparse(url)
    dsn = (f"host={where.hostname} port={where.port or 3306} user={where.username or 'root'} "
           f"database={where.path.lstrip('/')}" + (f" password={where.password}" if where.password else ""))
    conn.execute(f"ATTACH '{dsn}' AS {alias} (TYPE mysql{', READ_ONLY' if read_only else ''})")


def s3_secret(conn: duckdb.DuckDBPyConnection) -> None:
    endpoint = urlparse(os.environ["AWS_ENDPOINT_URL"])
    conn.execute(f"""CREATE SECRET bench (TYPE s3, KEY_ID '{os.environ["AWS_ACCESS_KEY_ID"]}',
                 SECRET '{os.environ["AWS_SECRET_ACCESS_KEY"]}', REGION '{os.environ.get("AWS_REGION", "us-east-1")}',
                 ENDPOINT '{endpoint.netloc}', URL_STYLE 'path', USE_SSL {str(endpoint.scheme == "https").lower()})""")


# ---- PostgreSQL
@variant
def pg2pq_duckdb(src: str, dst: str) -> None:
    url, table = split(src)
    conn = connect("postgres_scanner")
    attach_postgres(conn, url, "pg", read_only=True)
    conn.execute(f"COPY (SELECT * FROM pg.{table}) TO '{dst}' ({PARQUET})")


@variant
def pq2pg_duckdb(src: str, dst: str) -> None:
    url, table = split(dst)
    conn = connect("postgres_scanner")
    attach_postgres(conn, url, "pg")
    conn.execute(f"CREATE TABLE pg.{table} AS SELECT * FROM read_parquet('{src}')")


@variant
def pg2pg_duckdb(src: str, dst: str) -> None:
    (src_url, src_table), (dst_url, dst_table) = split(src), split(dst)
    conn = connect("postgres_scanner")
    attach_postgres(conn, src_url, "pgsrc", read_only=True)
    attach_postgres(conn, dst_url, "pgdst")
    conn.execute(f"CREATE TABLE pgdst.{dst_table} AS SELECT * FROM pgsrc.{src_table}")


# ---- MariaDB
@variant
def my2pq_duckdb(src: str, dst: str) -> None:
    url, table = split(src)
    conn = connect("mysql_scanner")
    attach_mysql(conn, url, "my", read_only=True)
    conn.execute(f"COPY (SELECT * FROM my.{table}) TO '{dst}' ({PARQUET})")


@variant
def pq2my_duckdb(src: str, dst: str) -> None:
    url, table = split(dst)
    conn = connect("mysql_scanner")
    attach_mysql(conn, url, "my")
    conn.execute(f"CREATE TABLE my.{table} AS SELECT * FROM read_parquet('{src}')")


# ---- SQLite
@variant
def sqlite2pq_duckdb(src: str, dst: str) -> None:
    path, table = split(src)
    conn = connect("sqlite_scanner")
    conn.execute(f"ATTACH '{path}' AS lite (TYPE sqlite, READ_ONLY)")
    conn.execute(f"COPY (SELECT * FROM lite.{table}) TO '{dst}' ({PARQUET})")


@variant
def pq2sqlite_duckdb(src: str, dst: str) -> None:
    path, table = split(dst)
    conn = connect("sqlite_scanner")
    conn.execute(f"ATTACH '{path}' AS lite (TYPE sqlite)")
    conn.execute(f"CREATE TABLE lite.{table} AS SELECT * FROM read_parquet('{src}')")


# ---- buckets (httpfs)
@variant
def pq2s3_duckdb(src: str, dst: str) -> None:
    conn = connect("httpfs")
    s3_secret(conn)
    conn.execute(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{dst}' ({PARQUET})")


@variant
def s32pq_duckdb(src: str, dst: str) -> None:
    conn = connect("httpfs")
    s3_secret(conn)
    conn.execute(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{dst}' ({PARQUET})")


@variant
def csvs32pg_duckdb(src: str, dst: str) -> None:
    url, table = split(dst)
    conn = connect("httpfs", "postgres_scanner")
    s3_secret(conn)
    attach_postgres(conn, url, "pg")
    conn.execute(f"CREATE TABLE pg.{table} AS SELECT * FROM read_csv('{src}')")


if __name__ == "__main__":
    name, source, target = sys.argv[1:4]
    VARIANTS[name](source, target)
