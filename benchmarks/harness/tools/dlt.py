"""dlt 1.31 (benchmarks/peers/dlt_run.py in the dlt venv), with its fastest verified options per lane: arrow
reads (use_pyarrow / the connectorx backend), parquet load files, ADBC into PostgreSQL."""

from __future__ import annotations

from urllib.parse import urlparse, urlunparse

from harness.settings import BENCH, MY_URL, PEERS, PG_URL, SOURCE_SCHEMA, TABLE
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Command, Contender, require_installed

SCRIPT = BENCH / "peers" / "dlt_run.py"
PYTHON = PEERS / "dlt-venv" / "bin" / "python"
FORMATS = {"parquet": "parquet", "csv": "csv", "postgres": "parquet"}  # duckdb, mysql: dlt's default


def with_password(url: str) -> str:
    """dlt's postgres destination insists on a password; trust auth accepts any."""
    parts = urlparse(url)
    if parts.password or not parts.username:
        return url
    return urlunparse(parts._replace(netloc=f"{parts.username}:x@{parts.hostname}:{parts.port or 5432}"))


def pymysql_url(database: str) -> str:
    return f"{MY_URL.rstrip('/').replace('mysql://', 'mysql+pymysql://', 1)}/{database}"


def source_args(source: Source) -> list[str]:
    if source.kind in ("parquet", "csv"):
        return [str(source.path)]
    if source.kind == "folder":
        return [str(source.path), "--many"]
    if source.kind == "sqlite":
        return [f"sqlite:///{source.path}#{source.table}", "--backend", "connectorx"]
    if source.kind == "postgres":
        return [f"{with_password(PG_URL)}#{SOURCE_SCHEMA}.{source.table}", "--backend", "connectorx"]
    return [f"{pymysql_url(SOURCE_SCHEMA)}#{source.table}", "--backend", "connectorx"]


def target_args(target: Target) -> list[str]:
    if target.kind in ("parquet", "csv"):
        place = [str(target.folder / "dlt"), "--dataset", "bench"]
    elif target.kind == "duckdb":
        place = [str(target.duckdb_file), "--dataset", target.schema]
    elif target.kind == "postgres":
        place = [with_password(PG_URL), "--dataset", target.schema]
    else:
        place = [pymysql_url(target.schema), "--dataset", target.schema]
    fmt = FORMATS.get(target.kind)
    return place + (["--format", fmt] if fmt else [])


def build(source: Source, target: Target) -> Command:
    src, *src_options = source_args(source)
    dst, *dst_options = target_args(target)
    argv = [str(PYTHON), str(SCRIPT), src, dst, *src_options, *dst_options, "--table", TABLE,
            "--workdir", str(target.folder / "_dlt_pipelines")]
    return Command(argv, {"RUNTIME__DLTHUB_TELEMETRY": "false", "LOAD__DELETE_COMPLETED_JOBS": "true"})


def contenders() -> list[Contender]:
    return [Contender("dlt", "dlt", "dlt", build, lambda source, target: require_installed("dlt"))]
