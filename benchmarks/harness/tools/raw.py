"""Raw-library baselines, one contender per variant: benchmarks/raw/baselines.py run by the raw venv, and
benchmarks/raw/scanners.py (DuckDB 1.5.5 with its postgres, mysql and sqlite scanners and httpfs) run by the
scanners venv."""

from __future__ import annotations

from harness import buckets
from harness.settings import BENCH, PEERS, PG_URL, RAW_PYTHON, SOURCE_SCHEMA, mysql_url
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Command, Contender, require_installed

SCRIPT = BENCH / "raw" / "baselines.py"
SCANNERS = BENCH / "raw" / "scanners.py"
SCANNERS_PYTHON = PEERS / "scanners-venv" / "bin" / "python"

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
    "pq2sqlite_adbc": "ADBC sqlite adbc_ingest",
    # DuckDB 1.5.5's scanners (raw/scanners.py, scanners venv)
    "pg2pq_duckdb": "duckdb postgres_scanner COPY TO parquet",
    "pq2pg_duckdb": "duckdb postgres_scanner CREATE TABLE AS read_parquet",
    "pg2pg_duckdb": "duckdb postgres_scanner CREATE TABLE AS SELECT",
    "my2pq_duckdb": "duckdb mysql_scanner COPY TO parquet",
    "pq2my_duckdb": "duckdb mysql_scanner CREATE TABLE AS read_parquet",
    "sqlite2pq_duckdb": "duckdb sqlite_scanner COPY TO parquet",
    "pq2sqlite_duckdb": "duckdb sqlite_scanner CREATE TABLE AS read_parquet",
    # buckets
    "pq2s3_pyarrow": "pyarrow.fs S3 iter_batches → ParquetWriter",
    "pq2s3_pafs_copy": "pyarrow.fs copy_files (file whole)",
    "pq2s3_obstore": "obstore put (file whole, multipart)",
    "pq2s3_duckdb": "duckdb httpfs COPY TO s3://",
    "s32pq_pyarrow": "pyarrow.fs S3 iter_batches → ParquetWriter",
    "s32pq_pafs_copy": "pyarrow.fs copy_files (file whole)",
    "s32pq_obstore": "obstore get (file whole, streamed)",
    "s32pq_duckdb": "duckdb httpfs COPY FROM s3://",
    "csvs32pg_pyarrow": "pyarrow.fs S3 open_csv → ADBC adbc_ingest",
    "csvs32pg_obstore": "obstore get → psycopg COPY FROM STDIN (csv)",
    "csvs32pg_duckdb": "duckdb httpfs read_csv → postgres_scanner CREATE TABLE AS",
    # lake tables
    "pq2delta_deltalake": "deltalake write_deltalake (streamed batches)",
    "pq2delta_polars": "polars sink_delta",
    "pg2delta_adbc": "ADBC fetch_record_batch → write_deltalake",
    "pg2delta_connectorx": "connectorx read_sql → write_deltalake",
    "pq2iceberg_pyiceberg": "pyiceberg read_table → Table.append (SQL catalog)",
    "pq2iceberg_polars": "polars sink_iceberg (SQL catalog)",
    "delta_merge_deltalake": "deltalake DeltaTable.merge (upsert by id)",
}

# Components of benchmarks/peers/setup.sh a variant needs beyond the raw venv.
EXTRA = {"rawextra": ("pq2s3_", "s32pq_", "csvs32pg_", "pq2delta_", "pg2delta_", "pq2iceberg_", "delta_merge_")}


def runs_on_scanners(variant: str) -> bool:
    """DuckDB variants of the database and bucket lanes run on DuckDB 1.5.5 with the scanner extensions; the
    DuckDB variants of the file lanes stay on the raw venv's DuckDB (hygge's version)."""
    return variant.endswith("_duckdb") and not variant.startswith(("pq2pq", "pq2zstd", "csv2pq", "pq2csv"))


def source_address(source: Source) -> str:
    if source.kind in ("s3parquet", "s3csv"):
        return buckets.server().url(source.key)
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
    if target.kind == "sqlite":
        return f"{target.sqlite_file}#{target.table}"
    if target.kind == "s3parquet":
        return buckets.server().url(f"{target.prefix}/out.parquet")
    if target.kind == "delta":
        return str(target.delta_table)
    if target.kind == "iceberg":
        return f"{target.iceberg_catalog}#{target.qualified}"
    if source.kind == "folder":
        return str(target.folder)
    return str(target.folder / f"out.{target.kind}")


def needs(variant: str) -> list[str]:
    if runs_on_scanners(variant):
        return ["scanners"]
    return ["raw", *(component for component, prefixes in EXTRA.items() if variant.startswith(prefixes))]


def contender(variant: str) -> Contender:
    python, script = (SCANNERS_PYTHON, SCANNERS) if runs_on_scanners(variant) else (RAW_PYTHON, SCRIPT)

    def build(source: Source, target: Target) -> Command:
        bucket = "s3" in (source.kind[:2], target.kind[:2])
        return Command([str(python), str(script), variant, source_address(source), target_address(source, target)],
                       buckets.server().env() if bucket else {})

    def check(source: Source, target: Target) -> None:
        for component in needs(variant):
            require_installed(component)

    return Contender("raw", f"raw: {LABELS[variant]}", f"raw_{variant}", build, check)
