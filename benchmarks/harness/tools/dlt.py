"""dlt 1.31 (benchmarks/peers/dlt_run.py in the dlt venv), with its fastest verified options per lane: arrow
reads (use_pyarrow / the connectorx backend), parquet load files, ADBC into PostgreSQL. The bucket and lake-table
lanes run the same script in the dltlake venv (dlt 1.31 with its s3, deltalake and pyiceberg extras): the
filesystem destination with bucket_url s3://... or table_format delta / iceberg."""

from __future__ import annotations

from urllib.parse import urlparse, urlunparse

from harness import buckets
from harness.settings import BENCH, MY_URL, PEERS, PG_URL, SOURCE_SCHEMA, TABLE
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Command, Contender, Unavailable, require_installed

SCRIPT = BENCH / "peers" / "dlt_run.py"
PYTHON = PEERS / "dlt-venv" / "bin" / "python"
LAKE_PYTHON = PEERS / "dltlake-venv" / "bin" / "python"
FORMATS = {"parquet": "parquet", "csv": "csv", "postgres": "parquet", "s3parquet": "parquet", "delta": "parquet",
           "iceberg": "parquet"}  # duckdb, mysql: dlt's default
LAKE_KINDS = ("s3parquet", "s3csv", "delta", "iceberg")
# Lanes dlt is not run in, and why.
NOT_WIRED = {
    "delta_merge1pct": "not wired: the lane merges into a table deltalake wrote; a dlt merge into a table dlt did "
                       "not create was not set up or verified here",
}


def with_password(url: str) -> str:
    """dlt's postgres destination insists on a password; trust auth accepts any."""
    parts = urlparse(url)
    if parts.password or not parts.username:
        return url
    return urlunparse(parts._replace(netloc=f"{parts.username}:x@{parts.hostname}:{parts.port or 5432}"))


def pymysql_url(database: str) -> str:
    return f"{MY_URL.rstrip('/').replace('mysql://', 'mysql+pymysql://', 1)}/{database}"


def source_args(source: Source) -> list[str]:
    if source.kind in ("s3parquet", "s3csv"):
        return [buckets.server().url(source.key)]
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
    elif target.kind == "s3parquet":
        place = [buckets.server().url(f"{target.prefix}/dlt"), "--dataset", "bench"]
    elif target.kind in ("delta", "iceberg"):
        place = [str(target.folder / "dlt"), "--dataset", "bench", "--table-format", target.kind]
    elif target.kind == "sqlite":
        raise Unavailable("not wired: dlt writes SQLite through its sqlalchemy destination, not set up here")
    elif target.kind == "duckdb":
        place = [str(target.duckdb_file), "--dataset", target.schema]
    elif target.kind == "postgres":
        place = [with_password(PG_URL), "--dataset", target.schema]
    else:
        place = [pymysql_url(target.schema), "--dataset", target.schema]
    fmt = FORMATS.get(target.kind)
    return place + (["--format", fmt] if fmt else [])


def lake(source: Source, target: Target) -> bool:
    return source.kind in LAKE_KINDS or target.kind in LAKE_KINDS


def build(source: Source, target: Target) -> Command:
    src, *src_options = source_args(source)
    dst, *dst_options = target_args(target)
    python = LAKE_PYTHON if lake(source, target) else PYTHON
    argv = [str(python), str(SCRIPT), src, dst, *src_options, *dst_options, "--table", TABLE,
            "--workdir", str(target.folder / "_dlt_pipelines")]
    env = {"RUNTIME__DLTHUB_TELEMETRY": "false", "LOAD__DELETE_COMPLETED_JOBS": "true"}
    if "s3" in (source.kind[:2], target.kind[:2]):
        env.update(buckets.server().env())
    return Command(argv, env)


def contenders(lane: str = "") -> list[Contender]:
    def check(source: Source, target: Target) -> None:
        if lane in NOT_WIRED:
            raise Unavailable(NOT_WIRED[lane])
        require_installed("dltlake" if lake(source, target) else "dlt")
        target_args(target)

    return [Contender("dlt", "dlt", "dlt", build, check)]
