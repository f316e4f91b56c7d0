"""Raw-library baselines (benchmarks/raw/baselines.py), one contender per variant, run by the raw venv."""

from __future__ import annotations

from harness.settings import BENCH, PG_URL, RAW_PYTHON, SOURCE_SCHEMA, mysql_url
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Command, Contender, require_installed

SCRIPT = BENCH / "raw" / "baselines.py"

# How a variant is shown: the library and the call that does the work.
LABELS = {
    "pq2pq_pyarrow": "pyarrow iter_batches → ParquetWriter",
    "pq2pq_polars": "polars sink_parquet",
    "pq2pq_duckdb": "duckdb COPY",
    "pq2zstd_pyarrow": "pyarrow iter_batches → ParquetWriter (zstd)",
    "pq2zstd_polars": "polars sink_parquet (zstd)",
    "pq2zstd_duckdb": "duckdb COPY (zstd)",
    "many_pq2pq_pyarrow": "pyarrow read_table → write_table, per file",
    "pq2duckdb_ctas": "duckdb CREATE TABLE AS read_parquet",
    "pq2pg_adbc": "ADBC adbc_ingest",
    "pg2pq_adbc": "ADBC fetch_record_batch → ParquetWriter",
    "pg2pq_connectorx": "connectorx read_sql → write_table",
    "csv2pq_duckdb": "duckdb read_csv COPY",
    "csv2pq_pyarrow": "pyarrow open_csv → ParquetWriter",
    "pq2csv_polars": "polars sink_csv",
    "pq2csv_duckdb": "duckdb COPY csv",
    "my2pq_connectorx": "connectorx read_sql → write_table",
    "pq2my_loaddata": "pyarrow CSV + LOAD DATA LOCAL INFILE",
    "pg2pg_copy": "psycopg binary COPY pipe",
    "sqlite2pq_adbc": "ADBC sqlite → ParquetWriter",
    "sqlite2pq_connectorx": "connectorx sqlite → write_table",
}


def source_address(source: Source) -> str:
    if source.kind == "postgres":
        return f"{PG_URL}#{SOURCE_SCHEMA}.{source.table}"
    if source.kind == "mysql":
        return f"{mysql_url(SOURCE_SCHEMA)}#{source.table}"
    if source.kind == "sqlite":
        return f"{source.path}#{source.table}"
    return str(source.path)


def target_address(source: Source, target: Target) -> str:
    if target.kind == "postgres":
        return f"{PG_URL}#{target.qualified}"
    if target.kind == "mysql":
        return f"{mysql_url(target.schema)}#{target.table}"
    if target.kind == "duckdb":
        return f"{target.duckdb_file}#{target.qualified}"
    if source.kind == "folder":
        return str(target.folder)
    return str(target.folder / f"out.{target.kind}")


def contender(variant: str) -> Contender:
    def build(source: Source, target: Target) -> Command:
        return Command([str(RAW_PYTHON), str(SCRIPT), variant, source_address(source),
                        target_address(source, target)])

    return Contender("raw", f"raw: {LABELS[variant]}", f"raw_{variant}", build,
                     lambda source, target: require_installed("raw"))
