"""ingestr 1.1.22 (the Go build, binary inside the wheel) with telemetry off and no load-timestamp column."""

from __future__ import annotations

from harness.settings import PEERS, PG_URL, SOURCE_SCHEMA, TABLE, mysql_url
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Command, Contender, Unavailable, require_installed

BINARY = PEERS / "ingestr-venv" / "bin" / "ingestr"
ENV = {"INGESTR_DISABLE_TELEMETRY": "true",
       "ADBC_DRIVER_PATH": str(PEERS / "ingestr-venv" / "etc" / "adbc" / "drivers")}  # duckdb.toml from setup.sh


NOT_WIRED = ("s3parquet", "s3csv", "delta", "iceberg")


def source_uri(source: Source) -> tuple[str, str]:
    if source.kind in NOT_WIRED:
        raise Unavailable("not wired into the bucket and lake-table lanes (dlt is the peer measured there)")
    if source.kind in ("parquet", "csv"):
        return f"{source.kind}://{source.path}", TABLE
    if source.kind == "sqlite":
        return f"sqlite:///{source.path}", source.table
    if source.kind == "postgres":
        return PG_URL, f"{SOURCE_SCHEMA}.{source.table}"
    if source.kind == "mysql":
        return mysql_url(SOURCE_SCHEMA), f"{SOURCE_SCHEMA}.{source.table}"
    raise Unavailable("ingestr moves one table per invocation (no multi-table mode)")


def dest_uri(target: Target) -> tuple[str, str]:
    if target.kind in NOT_WIRED:
        raise Unavailable("not wired into the bucket and lake-table lanes (dlt is the peer measured there)")
    if target.kind == "sqlite":
        return f"sqlite:///{target.sqlite_file}", f"main.{target.table}"
    if target.kind in ("parquet", "csv"):
        return f"{target.kind}://{target.folder / ('out.' + target.kind)}", TABLE
    if target.kind == "duckdb":
        return f"duckdb:///{target.duckdb_file}", target.qualified
    if target.kind == "postgres":
        return PG_URL, target.qualified
    return mysql_url(target.schema), target.qualified


def build(source: Source, target: Target) -> Command:
    (src_uri, src_table), (dst_uri, dst_table) = source_uri(source), dest_uri(target)
    return Command([str(BINARY), "ingest", "--source-uri", src_uri, "--source-table", src_table,
                    "--dest-uri", dst_uri, "--dest-table", dst_table,
                    "--yes", "--progress", "log", "--no-load-timestamp"], ENV)


def check(source: Source, target: Target) -> None:
    require_installed("ingestr")
    source_uri(source)
    dest_uri(target)


def contenders() -> list[Contender]:
    return [Contender("ingestr", "ingestr", "ingestr", build, check)]
