"""Home `sqlite`: tables, views or queries of a SQLite database file."""

from __future__ import annotations

from hygge.db.sqlhome import SqlHome, SqlHomeConfig
from hygge.db.sqlite import SqliteDialect


class SqliteHomeConfig(SqlHomeConfig):
    path: str | None = None


class SqliteHome(SqlHome):
    type_name = "sqlite"
    Config = SqliteHomeConfig
    Engine = SqliteDialect
