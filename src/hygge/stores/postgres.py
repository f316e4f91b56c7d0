"""Store `postgres`: tables loaded by binary COPY and published in one transaction with their state."""

from __future__ import annotations

from hygge.db.postgres import PostgresDialect
from hygge.db.sqlstore import SqlStore, SqlStoreConfig


class PostgresStoreConfig(SqlStoreConfig):
    pass


class PostgresStore(SqlStore):
    type_name = "postgres"
    Config = PostgresStoreConfig
    Engine = PostgresDialect
