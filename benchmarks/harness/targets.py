"""Where a contender writes, how to empty it before a timed run, and how many rows it holds afterwards.

Every contender gets its own target: a folder (file stores, DuckDB and SQLite files, Delta and Iceberg tables), a
PostgreSQL schema / MariaDB database named hygge_bench_out_<contender>, or a prefix <lane>/<contender> on the bucket
lanes' S3 server. Counting is independent of what the tool reports about itself."""

from __future__ import annotations

import shutil
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import buckets, dbs, lakes
from harness.settings import DUCKDB_SCHEMA, OUT, TABLE, TARGET_PREFIX


@dataclass(frozen=True)
class Target:
    kind: str            # parquet | csv | duckdb | sqlite | postgres | mysql | s3parquet | delta | iceberg
    folder: Path         # scratch folder of this contender (file targets are written inside it)
    schema: str = ""     # postgres schema / mariadb database / duckdb schema / iceberg namespace
    table: str = TABLE
    options: tuple[tuple[str, Any], ...] = ()  # extra store options (only hygge's project uses them)
    prefix: str = ""     # s3parquet: the key prefix on the bucket
    seed: Path | None = None  # delta: the table copied to delta_table before every run (the merge lane)

    @property
    def duckdb_file(self) -> Path:
        return self.folder / "out.duckdb"

    @property
    def sqlite_file(self) -> Path:
        return self.folder / "out.sqlite"

    @property
    def delta_table(self) -> Path:
        """Where hygge's delta store puts the entity's table, and where the raw paths write theirs."""
        return self.folder / self.table

    @property
    def iceberg_catalog(self) -> Path:
        return self.folder / "catalog.db"

    @property
    def iceberg_warehouse(self) -> Path:
        return self.folder / "warehouse"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"


def target_for(kind: str, lane: str, contender: str, options: tuple[tuple[str, Any], ...] = (),
               seed: Path | None = None) -> Target:
    folder = OUT / lane / contender
    if kind in ("postgres", "mysql"):
        return Target(kind, folder, schema=f"{TARGET_PREFIX}{contender}", options=options)
    if kind in ("duckdb", "iceberg"):
        return Target(kind, folder, schema=DUCKDB_SCHEMA, options=options)
    if kind == "s3parquet":
        return Target(kind, folder, options=options, prefix=f"{lane}/{contender}")
    return Target(kind, folder, options=options, seed=seed)


def reset(target: Target) -> None:
    """Empty the target, so every timed run starts from the same state (and DB tools find their schema)."""
    shutil.rmtree(target.folder, ignore_errors=True)
    target.folder.mkdir(parents=True)
    if target.seed is not None:
        lakes.copy_seed(target.seed, target.delta_table)
    if target.kind == "s3parquet":
        buckets.empty(target.prefix)
    elif target.kind == "postgres":
        with dbs.postgres() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {target.schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {target.schema}")
    elif target.kind == "mysql":
        with dbs.mysql() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {target.schema}")
            cur.execute(f"CREATE DATABASE {target.schema}")


def drop(target: Target) -> None:
    """Remove what a contender left behind, once its lane is done (keeps the disk and the servers tidy)."""
    shutil.rmtree(target.folder, ignore_errors=True)
    if target.kind == "s3parquet":
        buckets.empty(target.prefix)
    elif target.kind == "postgres":
        with dbs.postgres() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {target.schema} CASCADE")
    elif target.kind == "mysql":
        with dbs.mysql() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {target.schema}")


def count(target: Target) -> int:
    if target.kind == "parquet":
        return sum(_parquet_rows(f) for f in data_files(target.folder, ".parquet"))
    if target.kind == "csv":
        return sum(_csv_rows(f) for f in data_files(target.folder, ".csv"))
    if target.kind == "duckdb":
        return _duckdb_rows(target)
    if target.kind == "sqlite":
        return _sqlite_rows(target)
    if target.kind == "s3parquet":
        return buckets.parquet_rows(target.prefix)
    if target.kind == "delta":
        return lakes.delta_rows(target.folder)
    if target.kind == "iceberg":
        return lakes.iceberg_rows(target.folder)
    if target.kind == "postgres":
        return int(dbs.pg_scalar(f"SELECT count(*) FROM {target.qualified}"))
    return int(dbs.my_scalar(f"SELECT COUNT(*) FROM {target.qualified}"))


def count_marked(target: Target) -> int:
    """Rows a merge updated or inserted (qty = -1): only the merge lane's Delta targets are asked."""
    return lakes.delta_marked(target.folder)


def data_files(folder: Path, suffix: str) -> list[Path]:
    """Data files anywhere under folder, skipping bookkeeping folders ('.hygge', '_dlt_loads', ...)."""
    return sorted(f for f in folder.rglob(f"*{suffix}")
                  if f.is_file() and not any(p.startswith((".", "_")) for p in f.relative_to(folder).parts))


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _csv_rows(path: Path) -> int:
    """Lines minus the header line (the benchmark data has no line breaks inside values)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n") - 1


def _duckdb_rows(target: Target) -> int:
    import duckdb

    with duckdb.connect(str(target.duckdb_file), read_only=True) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {target.qualified}").fetchone()[0])


def _sqlite_rows(target: Target) -> int:
    import sqlite3

    # closing(): sqlite3's own context manager ends the transaction but keeps the file open. Counts held every
    # earlier run's deleted database (and its WAL index) open, and hygge's later runs into a new file spent 2-5 s
    # more in the kernel (copy_folio_from_iter_atomic: 22% of the run against 1%): 13-16 s against 10-11 s.
    with closing(sqlite3.connect(f"file:{target.sqlite_file}?mode=ro", uri=True)) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {target.table}").fetchone()[0])
