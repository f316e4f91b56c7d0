"""The lanes: one source, one target kind, and the raw-library baselines that define 'as fast as it gets' there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import lakes, sources
from harness.sources import Source
from harness.tools import dlt, hygge, ingestr, raw, sling
from harness.tools.base import Contender

TOOLS = ("hygge", "raw", "dlt", "ingestr", "sling")


@dataclass(frozen=True)
class Lane:
    key: str
    title: str
    source: Callable[[int], Source]
    target: str
    raw: tuple[str, ...]
    fixed_size: str = ""       # lanes with one size whatever --rows says: the label of that size
    timeout: float | None = None  # a tighter cap than --timeout, for lanes where a stalled tool is known to hang
    hygge_store: tuple[tuple[str, Any], ...] = ()  # store options hygge's project gets in this lane
    peers: bool = True  # False: the peer tools cannot be told to do this lane's job (e.g. write zstd)
    seed: Callable[[int], Path] | None = None  # a table copied into every target before each run (the merge lane)
    hygge_flow: tuple[tuple[str, Any], ...] = ()    # flow options of hygge's project (run_type)
    hygge_entity: tuple[tuple[str, Any], ...] = ()  # entity options of hygge's project (keys)
    source_kind: str = ""  # what the source is (postgres, mysql, s3parquet, ...), for planning before it is made

    @property
    def servers(self) -> tuple[str, ...]:
        """The servers the lane uses, as planned (the runner starts and stops the S3 server by it)."""
        return servers_for(self.source_kind, self.target)

    def contenders(self, tools: tuple[str, ...]) -> list[Contender]:
        by_tool = {"hygge": hygge.contenders(self.hygge_flow, self.hygge_entity),
                   "raw": [raw.contender(v) for v in self.raw], "dlt": dlt.contenders(self.key),
                   "ingestr": ingestr.contenders(), "sling": sling.contenders()}
        if not self.peers:
            tools = tuple(t for t in tools if t in ("hygge", "raw"))
        return [c for tool in TOOLS if tool in tools for c in by_tool[tool]]


def servers_for(source_kind: str, target_kind: str) -> tuple[str, ...]:
    """The servers whose CPU time a lane reports: PostgreSQL, MariaDB, the S3 server."""
    kinds = (source_kind, target_kind)
    found = [name for name, kind in (("postgres", "postgres"), ("mariadb", "mysql")) if kind in kinds]
    return (*found, *(["s3"] if any(k.startswith("s3") for k in kinds) else []))


PARQUET_COPIES = ("pq2pq_pyarrow", "pq2pq_polars", "pq2pq_duckdb")
MERGE = (("run_type", "merge"),)

LANES = (
    Lane("pq2pq", "parquet → parquet", sources.parquet, "parquet", PARQUET_COPIES),
    # Another codec asked of the store: no file can be copied whole, every page is decoded and encoded again.
    Lane("pq2zstd", "parquet (snappy) → parquet (zstd)", sources.parquet, "parquet",
         ("pq2zstd_pyarrow", "pq2zstd_polars", "pq2zstd_duckdb"), hygge_store=(("compression", "zstd"),),
         peers=False),
    Lane("pq2duckdb", "parquet → duckdb", sources.parquet, "duckdb", ("pq2duckdb_ctas",)),
    Lane("pq2pg", "parquet → postgres", sources.parquet, "postgres", ("pq2pg_adbc", "pq2pg_duckdb")),
    Lane("pg2pq", "postgres → parquet", sources.postgres, "parquet",
         ("pg2pq_adbc", "pg2pq_connectorx", "pg2pq_duckdb"), source_kind="postgres"),
    Lane("csv2pq", "csv → parquet", sources.csv, "parquet", ("csv2pq_duckdb", "csv2pq_pyarrow")),
    Lane("pq2csv", "parquet → csv", sources.parquet, "csv", ("pq2csv_polars", "pq2csv_duckdb")),
    Lane("my2pq", "mysql → parquet", sources.mysql, "parquet", ("my2pq_connectorx", "my2pq_duckdb"),
         source_kind="mysql"),
    Lane("pq2my", "parquet → mysql", sources.parquet, "mysql", ("pq2my_loaddata", "pq2my_duckdb")),
    Lane("pg2pg", "postgres → postgres", sources.postgres, "postgres", ("pg2pg_copy", "pg2pg_duckdb"),
         source_kind="postgres"),
    Lane("sqlite2pq", "sqlite → parquet", sources.sqlite, "parquet",
         ("sqlite2pq_adbc", "sqlite2pq_connectorx", "sqlite2pq_duckdb")),
    Lane("pq2sqlite", "parquet → sqlite", sources.parquet, "sqlite", ("pq2sqlite_adbc", "pq2sqlite_duckdb")),
    Lane("wide", "wide (200 columns, rows ÷ 10) parquet → parquet", sources.wide, "parquet", PARQUET_COPIES),
    # The same move with hygge made to decode and encode every page, as it must when polish or types change it.
    Lane("wide_encode", "wide, re-encoded by hygge (copy_unchanged: false) parquet → parquet", sources.wide,
         "parquet", PARQUET_COPIES, hygge_store=(("copy_unchanged", False),)),
    Lane("lineitem", "TPC-H lineitem (SF = rows ÷ 6M) parquet → parquet", sources.lineitem, "parquet",
         PARQUET_COPIES),
    Lane("lineitem2pg", "TPC-H lineitem (SF = rows ÷ 6M) parquet → postgres", sources.lineitem, "postgres",
         ("pq2pg_adbc", "pq2pg_duckdb")),
    # Buckets: the S3 server (SeaweedFS) runs on this machine, started by the runner for these lanes.
    Lane("pq2s3", "parquet → parquet on S3", sources.parquet, "s3parquet",
         ("pq2s3_pyarrow", "pq2s3_pafs_copy", "pq2s3_obstore", "pq2s3_duckdb")),
    Lane("s32pq", "parquet on S3 → parquet", sources.s3parquet, "parquet",
         ("s32pq_pyarrow", "s32pq_pafs_copy", "s32pq_obstore", "s32pq_duckdb"), source_kind="s3parquet"),
    Lane("csvs32pg", "csv on S3 → postgres", sources.s3csv, "postgres",
         ("csvs32pg_pyarrow", "csvs32pg_obstore", "csvs32pg_duckdb"), source_kind="s3csv"),
    # Lake tables, on the local disk.
    Lane("pq2delta", "parquet → delta", sources.parquet, "delta", ("pq2delta_deltalake", "pq2delta_polars")),
    Lane("pg2delta", "postgres → delta", sources.postgres, "delta", ("pg2delta_adbc", "pg2delta_connectorx"),
         source_kind="postgres"),
    Lane("pq2iceberg", "parquet → iceberg (SQL catalog on SQLite)", sources.parquet, "iceberg",
         ("pq2iceberg_pyiceberg", "pq2iceberg_polars")),
    # 1% of a table's rows changed (half updates, half new ids) merged by id into a Delta table of --rows rows.
    Lane("delta_merge1pct", "merge 1% changed rows into a delta table of --rows rows", lakes.merge_changes, "delta",
         ("delta_merge_deltalake",), seed=lakes.delta_seed, hygge_flow=MERGE, hygge_entity=(("keys", ["id"]),)),
    # sling's 500-stream replication starts a duckdb CLI per stream and keeps them all until the end; it has been
    # seen to stall for good around stream 360, hence the cap (the slowest healthy run takes about 6 minutes).
    Lane("small", "small tables (500 × 1,000 rows) parquet → parquet", lambda rows: sources.small_tables(),
         "parquet", ("many_pq2pq_pyarrow",), fixed_size="500x1k", timeout=900),
    # What a contender costs before it moves anything: start-up, imports, planning, connecting, publishing.
    Lane("floor", "start-up floor (1 row) parquet → parquet", lambda rows: sources.parquet(1), "parquet",
         PARQUET_COPIES, fixed_size="1row"),
)


def select(keys: str) -> list[Lane]:
    if keys == "all":
        return list(LANES)
    wanted = [k.strip() for k in keys.split(",") if k.strip()]
    known = {lane.key: lane for lane in LANES}
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise SystemExit(f"unknown lane(s) {', '.join(unknown)}; choose from {', '.join(known)} or all")
    return [known[k] for k in wanted]
