"""Home `mysql` (MySQL and MariaDB): tables, views or queries, read into Arrow by ConnectorX."""

from __future__ import annotations

from hygge.db.mysql import MysqlDialect
from hygge.db.sqlhome import SqlHome, SqlHomeConfig


class MysqlHomeConfig(SqlHomeConfig):
    pass


class MysqlHome(SqlHome):
    type_name = "mysql"
    Config = MysqlHomeConfig
    Engine = MysqlDialect
