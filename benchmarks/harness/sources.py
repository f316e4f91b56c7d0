"""Benchmark sources, prepared once and cached (never timed): the mixed table as parquet, CSV, SQLite, a PostgreSQL
table and a MariaDB table; the wide table; and a folder of small tables. Every form is made from the same parquet."""

from __future__ import annotations

import itertools
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from harness import dbs
from harness.settings import (
    BENCH,
    DATA,
    LINEITEM_PER_SF,
    RAW_PYTHON,
    SMALL_ROWS,
    SMALL_TABLES,
    SOURCE_SCHEMA,
    TPCHGEN,
    WIDE_COLUMNS,
    WIDE_DIVISOR,
    rows_label,
)

BATCH = 128 * 1024
PG_COLUMNS = ("id bigint, qty integer, price double precision, amount numeric(12,2), name text, category text, "
              "flag boolean, day date, created timestamp, updated timestamptz")
MY_COLUMNS = ("id BIGINT, qty INT, price DOUBLE, amount DECIMAL(12,2), name VARCHAR(64), category VARCHAR(16), "
              "flag BOOLEAN, day DATE, created DATETIME(6), updated TIMESTAMP(6) NULL")
SQLITE_COLUMNS = ("id INTEGER, qty INTEGER, price REAL, amount NUMERIC(12,2), name TEXT, category TEXT, "
                  "flag BOOLEAN, day DATE, created TIMESTAMP, updated TIMESTAMP")


@dataclass(frozen=True)
class Source:
    kind: str            # parquet | csv | sqlite | postgres | mysql | folder | s3parquet | s3csv
    rows: int
    bytes: int           # input size: file(s) on disk, or the table's size inside the server
    path: Path | None = None
    table: str = ""      # database sources: the table (postgres schema / mariadb database is SOURCE_SCHEMA)
    entities: int = 1
    key: str = ""        # bucket sources: the object's key (path is the local file it was uploaded from)
    expected: int | None = None  # rows the target must hold afterwards, when not `rows` (a merge into a table)
    marked: int = 0      # rows with qty = -1 the target must hold afterwards (a merge's updated and inserted rows)

    @property
    def target_rows(self) -> int:
        return self.rows if self.expected is None else self.expected


def _cached(path: Path, build: Callable[[Path], None]) -> Path:
    """Build path through a temporary sibling renamed at the end, so an interrupted build is never reused."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        build(tmp)
        tmp.rename(path)
    return path


def generate(kind: str, size: int, out: Path, many: int = 0) -> None:
    """datagen.py, run by the raw venv: it needs numpy, which hygge's venv does without (pyarrow imports numpy
    whenever it is installed, which would add ~0.04 s to every timed hygge start)."""
    subprocess.run([str(RAW_PYTHON), str(BENCH / "datagen.py"), kind, str(size), str(out), str(many)], check=True,
                   stdout=subprocess.DEVNULL)


def _batches(path: Path) -> Iterator[pa.RecordBatch]:
    return pq.ParquetFile(path).iter_batches(batch_size=BATCH)


def mixed_parquet_file(rows: int) -> Path:
    path = DATA / f"mixed_{rows_label(rows)}.parquet"
    if not path.exists():
        generate("mixed", rows, path)
    return path


def parquet(rows: int) -> Source:
    path = mixed_parquet_file(rows)
    return Source("parquet", rows, path.stat().st_size, path)


def csv(rows: int) -> Source:
    parquet_path = mixed_parquet_file(rows)

    def build(tmp: Path) -> None:
        schema = pq.read_schema(parquet_path)
        with pacsv.CSVWriter(tmp, schema) as writer:
            for batch in _batches(parquet_path):
                writer.write_batch(batch)

    path = _cached(DATA / f"mixed_{rows_label(rows)}.csv", build)
    return Source("csv", rows, path.stat().st_size, path)


def _plain(batch: pa.RecordBatch, *, for_sqlite: bool) -> pa.RecordBatch:
    """The batch as a typical foreign writer stores it: booleans as 0/1, tz-aware stamps as naive UTC, and (for
    SQLite) decimals as REAL and dates and stamps as ISO text."""
    columns = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        t = field.type
        if pa.types.is_boolean(t):
            column = pc.cast(column, pa.int64())
        elif pa.types.is_timestamp(t):
            column = pc.cast(column, pa.timestamp(t.unit))
            if for_sqlite:
                column = pc.strftime(column, "%Y-%m-%d %H:%M:%S")  # %S carries the microseconds
        elif pa.types.is_date(t) and for_sqlite:
            column = pc.cast(column, pa.string())
        elif pa.types.is_decimal(t) and for_sqlite:
            column = pc.cast(column, pa.float64())
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _plain_reader(parquet_path: Path, *, for_sqlite: bool) -> pa.RecordBatchReader:
    batches = (_plain(b, for_sqlite=for_sqlite) for b in _batches(parquet_path))
    first = next(batches)
    return pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], batches))


def sqlite(rows: int) -> Source:
    parquet_path = mixed_parquet_file(rows)

    def build(tmp: Path) -> None:
        import adbc_driver_sqlite.dbapi as adbc_sqlite

        with adbc_sqlite.connect(str(tmp)) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE mixed ({SQLITE_COLUMNS})")
            cur.adbc_ingest("mixed", _plain_reader(parquet_path, for_sqlite=True), mode="append")
            conn.commit()

    path = _cached(DATA / f"mixed_{rows_label(rows)}.sqlite", build)
    return Source("sqlite", rows, path.stat().st_size, path, table="mixed")


def postgres(rows: int) -> Source:
    table = f"mixed_{rows_label(rows)}"
    qualified = f"{SOURCE_SCHEMA}.{table}"
    if not dbs.pg_table_exists(qualified) or dbs.pg_scalar(f"SELECT count(*) FROM {qualified}") != rows:
        _load_postgres(mixed_parquet_file(rows), qualified)
    size = dbs.pg_scalar(f"SELECT pg_table_size('{qualified}')")
    return Source("postgres", rows, int(size), table=table)


def _load_postgres(parquet_path: Path, qualified: str) -> None:
    with dbs.postgres() as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SOURCE_SCHEMA}")
        conn.execute(f"DROP TABLE IF EXISTS {qualified}")
        conn.execute(f"CREATE TABLE {qualified} ({PG_COLUMNS})")
        with conn.cursor() as cur, cur.copy(f"COPY {qualified} FROM STDIN") as copy:
            for batch in _batches(parquet_path):
                copy.write(_pg_text(batch))
        conn.execute(f"ALTER TABLE {qualified} ADD PRIMARY KEY (id)")
        conn.execute(f"VACUUM ANALYZE {qualified}")


def _pg_text(batch: pa.RecordBatch) -> bytes:
    """COPY text format (tab separated, \\N for null) through pyarrow's CSV writer; the data has no tabs."""
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    pacsv.write_csv(pa.Table.from_batches([batch]), sink, options)
    return sink.getvalue().to_pybytes()


def mysql(rows: int) -> Source:
    table = f"mixed_{rows_label(rows)}"
    if not dbs.my_table_exists(SOURCE_SCHEMA, table) or \
            dbs.my_scalar(f"SELECT COUNT(*) FROM {SOURCE_SCHEMA}.{table}") != rows:
        _load_mysql(mixed_parquet_file(rows), table)
    size = dbs.my_scalar("SELECT data_length FROM information_schema.tables "
                         f"WHERE table_schema = '{SOURCE_SCHEMA}' AND table_name = '{table}'")
    return Source("mysql", rows, int(size), table=table)


def _load_mysql(parquet_path: Path, table: str) -> None:
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        csv_path = Path(tmp) / "load.csv"
        reader = _plain_reader(parquet_path, for_sqlite=False)
        with pacsv.CSVWriter(csv_path, reader.schema,
                             write_options=pacsv.WriteOptions(include_header=False)) as writer:
            for batch in reader:
                writer.write_batch(batch)
        with dbs.mysql(local_infile=True) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {SOURCE_SCHEMA}")
            cur.execute(f"DROP TABLE IF EXISTS {SOURCE_SCHEMA}.{table}")
            cur.execute(f"CREATE TABLE {SOURCE_SCHEMA}.{table} ({MY_COLUMNS}, PRIMARY KEY (id))")
            cur.execute("SET time_zone = '+00:00'")
            cur.execute(f"LOAD DATA LOCAL INFILE '{csv_path}' INTO TABLE {SOURCE_SCHEMA}.{table} "
                        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n'")
            cur.execute(f"ANALYZE TABLE {SOURCE_SCHEMA}.{table}")


def wide(rows: int) -> Source:
    """The 200-column table, at a tenth of the rows (so twice the cells of the mixed table at the same --rows)."""
    wide_rows = max(rows // WIDE_DIVISOR, 1)
    path = DATA / f"wide_{rows_label(wide_rows)}.parquet"
    if not path.exists():
        generate("wide", wide_rows, path, WIDE_COLUMNS)
    return Source("parquet", wide_rows, path.stat().st_size, path)


def small_tables() -> Source:
    folder = DATA / f"small_{SMALL_TABLES}x{rows_label(SMALL_ROWS)}"
    if not folder.exists():
        generate("small", SMALL_ROWS, folder, SMALL_TABLES)
    size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
    return Source("folder", SMALL_TABLES * SMALL_ROWS, size, folder, entities=SMALL_TABLES)


def lineitem(rows: int) -> Source:
    """TPC-H lineitem at scale factor rows ÷ 6M (so --rows 1m is SF 1/6, about a million rows), as parquet written
    by tpchgen-cli (Rust, from PyPI; installed into the raw venv on first use). Its strings are string_view, its
    money decimal(15,2): the shape Arrow-native tools write, unlike the mixed table's pyarrow-written file."""
    scale = round(rows / LINEITEM_PER_SF, 4)

    def build(tmp: Path) -> None:
        tool = RAW_PYTHON.parent / "tpchgen-cli"
        if not tool.exists():
            subprocess.run([str(RAW_PYTHON), "-m", "pip", "install", "-q", TPCHGEN], check=True)
        with tempfile.TemporaryDirectory(dir=DATA) as out:
            subprocess.run([str(tool), "parquet", "-s", str(scale), "-T", "lineitem", "-o", out], check=True)
            (Path(out) / "lineitem.parquet").rename(tmp)

    path = _cached(DATA / f"lineitem_{rows_label(rows)}.parquet", build)
    return Source("parquet", pq.ParquetFile(path).metadata.num_rows, path.stat().st_size, path)


def s3parquet(rows: int) -> Source:
    """The mixed parquet file on the bucket lanes' S3 server (uploaded once per server, untimed)."""
    local = parquet(rows)
    return _on_bucket(local, "s3parquet")


def s3csv(rows: int) -> Source:
    local = csv(rows)
    return _on_bucket(local, "s3csv")


def _on_bucket(local: Source, kind: str) -> Source:
    from harness import buckets

    assert local.path is not None
    key = f"source/{local.path.name}"
    buckets.upload(local.path, key)
    return Source(kind, local.rows, local.bytes, local.path, key=key)
