"""Home `duckdb`: tables, views or queries of a DuckDB database file."""

from __future__ import annotations

from hygge.db.duckdb import DuckdbDialect
from hygge.db.sqlhome import SqlHome, SqlHomeConfig


class DuckdbHomeConfig(SqlHomeConfig):
    path: str | None = None


class DuckdbHome(SqlHome):
    type_name = "duckdb"
    Config = DuckdbHomeConfig
    Engine = DuckdbDialect
