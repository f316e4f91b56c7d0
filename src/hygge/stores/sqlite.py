"""Store `sqlite`: tables in a SQLite database file, published in one transaction with their state."""

from __future__ import annotations

from hygge.db.sqlite import SqliteDialect
from hygge.db.sqlstore import SqlStore, SqlStoreConfig


class SqliteStoreConfig(SqlStoreConfig):
    path: str | None = None


class SqliteStore(SqlStore):
    type_name = "sqlite"
    Config = SqliteStoreConfig
    Engine = SqliteDialect
