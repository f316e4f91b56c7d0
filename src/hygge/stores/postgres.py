"""Store `postgres`: tables loaded by binary COPY (pgpq on psycopg, db/postgres_store.py) and published in one
transaction with their state."""

from __future__ import annotations

from hygge.db.postgres_store import PostgresStoreDialect
from hygge.db.sqlstore import SqlStore, SqlStoreConfig


class PostgresStoreConfig(SqlStoreConfig):
    pass


class PostgresStore(SqlStore):
    type_name = "postgres"
    Config = PostgresStoreConfig
    Engine = PostgresStoreDialect
