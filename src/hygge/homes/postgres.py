"""Home `postgres`: tables, views or queries of a PostgreSQL database, streamed by binary COPY."""

from __future__ import annotations

from hygge.db.postgres import PostgresDialect
from hygge.db.sqlhome import SqlHome, SqlHomeConfig


class PostgresHomeConfig(SqlHomeConfig):
    pass


class PostgresHome(SqlHome):
    type_name = "postgres"
    Config = PostgresHomeConfig
    Engine = PostgresDialect
