"""Store `duckdb`: tables in a DuckDB database file, published in one transaction with their state."""

from __future__ import annotations

from pydantic import Field

from hygge.db.duckdb import DuckdbDialect
from hygge.db.sqlstore import SqlStore, SqlStoreConfig


class DuckdbStoreConfig(SqlStoreConfig):
    path: str | None = None
    native_parquet: bool = Field(
        True, description="let DuckDB read parquet files that need no change itself, in parallel (pages unchecked)"
    )


class DuckdbStore(SqlStore):
    type_name = "duckdb"
    Config = DuckdbStoreConfig
    Engine = DuckdbDialect
