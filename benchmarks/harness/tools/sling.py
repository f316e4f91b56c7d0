"""sling 1.4.11 (the binary from sling-linux-amd64) with the duckdb CLI it needs for every file endpoint, telemetry
off and no _sling_loaded_at column. Many tables go through one replication file, sling's multi-stream mode."""

from __future__ import annotations

import json
from urllib.parse import urlparse, urlunparse

from harness.settings import MY_URL, PEERS, PG_URL, SOURCE_SCHEMA
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Command, Contender, Unavailable, require_installed

BINARY = PEERS / "sling-venv" / "bin" / "sling-binary"
HOME = PEERS / "sling-home"
ENV = {"SLING_HOME_DIR": str(HOME), "HOME": str(HOME / "home"), "SLING_DISABLE_TELEMETRY": "true",
       "SLING_LOADED_AT_COLUMN": "false", "DUCKDB_PATH": str(PEERS / "sling-venv" / "bin" / "duckdb-cli")}


def pg_conn() -> str:
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}sslmode=disable"


def mysql_conn(database: str) -> str:
    """sling wants 'user:@host' even without a password."""
    parts = urlparse(MY_URL.rstrip("/"))
    netloc = parts.netloc if parts.password is not None else parts.netloc.replace("@", ":@", 1)
    return urlunparse(parts._replace(netloc=netloc, path=f"/{database}"))


def source_args(source: Source) -> list[str]:
    if source.kind in ("parquet", "csv"):
        return ["--src-stream", f"file://{source.path}"]
    if source.kind == "sqlite":
        return ["--src-conn", f"sqlite://{source.path}", "--src-stream", f"main.{source.table}"]
    if source.kind == "postgres":
        return ["--src-conn", pg_conn(), "--src-stream", f"{SOURCE_SCHEMA}.{source.table}"]
    return ["--src-conn", mysql_conn(SOURCE_SCHEMA), "--src-stream", f"{SOURCE_SCHEMA}.{source.table}"]


# sling 1.4.x writes a parquet target in batches and each batch replaces the file before it, so a single-file target
# keeps only the last ~240k rows (slingdata-io/sling-cli#588). A folder target split into files below that size
# keeps every row.
PARQUET_OPTIONS = json.dumps({"format": "parquet", "file_max_rows": 200_000})


NOT_WIRED = ("s3parquet", "s3csv", "delta", "iceberg")


def target_args(target: Target) -> list[str]:
    if target.kind == "sqlite":
        return ["--tgt-conn", f"sqlite://{target.sqlite_file}", "--tgt-object", f"main.{target.table}"]
    if target.kind == "parquet":
        return ["--tgt-object", f"file://{target.folder / 'sling'}/", "--tgt-options", PARQUET_OPTIONS]
    if target.kind == "csv":
        return ["--tgt-object", f"file://{target.folder / 'out.csv'}"]
    if target.kind == "duckdb":
        return ["--tgt-conn", f"duckdb://{target.duckdb_file}", "--tgt-object", target.qualified]
    if target.kind == "postgres":
        return ["--tgt-conn", pg_conn(), "--tgt-object", target.qualified]
    return ["--tgt-conn", mysql_conn(target.schema), "--tgt-object", target.qualified]


def replication(source: Source, target: Target) -> list[str]:
    """Small tables: one stream per file, local to local, in one sling process."""
    streams = {f"file://{path}": {"object": f"file://{target.folder / path.name}"}
               for path in sorted(source.path.glob("*.parquet"))}
    config = {"source": "LOCAL", "target": "LOCAL", "defaults": {"mode": "full-refresh"}, "streams": streams}
    path = target.folder / "_sling_replication.json"
    path.write_text(json.dumps(config, indent=1))
    return ["-r", str(path)]


def build(source: Source, target: Target) -> Command:
    if source.kind == "folder":
        return Command([str(BINARY), "run", *replication(source, target)], ENV)
    return Command([str(BINARY), "run", *source_args(source), *target_args(target), "--mode", "full-refresh"], ENV)


def check(source: Source, target: Target) -> None:
    if source.kind in NOT_WIRED or target.kind in NOT_WIRED:
        raise Unavailable("not wired into the bucket and lake-table lanes (dlt is the peer measured there)")
    require_installed("sling")


def contenders() -> list[Contender]:
    return [Contender("sling", "sling", "sling", build, check)]
