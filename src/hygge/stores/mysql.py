"""Store `mysql` (MySQL and MariaDB): LOAD DATA LOCAL in the move's transaction, with its state."""

from __future__ import annotations

from hygge.db.mysql import MysqlDialect
from hygge.db.sqlstore import SqlStore, SqlStoreConfig


class MysqlStoreConfig(SqlStoreConfig):
    pass


class MysqlStore(SqlStore):
    type_name = "mysql"
    Config = MysqlStoreConfig
    Engine = MysqlDialect
