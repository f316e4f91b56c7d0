"""Store `duckdb`: tables in a DuckDB database file, published in one transaction with their state."""

from __future__ import annotations

from hygge.db.duckdb import DuckdbDialect
from hygge.db.sqlstore import SqlStore, SqlStoreConfig


class DuckdbStoreConfig(SqlStoreConfig):
    path: str | None = None


class DuckdbStore(SqlStore):
    type_name = "duckdb"
    Config = DuckdbStoreConfig
    Engine = DuckdbDialect
