"""The database servers the tests talk to, and what happens when one is not there.

URLs come from HYGGE_TEST_POSTGRES_URL / HYGGE_TEST_MYSQL_URL (defaults: the local servers).
An unreachable server skips its tests with the reason, unless HYGGE_REQUIRE_SERVICES=1 (CI),
where it fails them.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.contract.suite import Place

POSTGRES_URL = os.environ.get("HYGGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("HYGGE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")


@cache
def _reachable(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=3):
            return None
    except OSError as exc:
        return f"{parts.scheme} server at {parts.hostname}:{parts.port} is unreachable ({exc})"


def require(url: str) -> None:
    problem = _reachable(url)
    if problem is None:
        return
    if os.environ.get("HYGGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{problem}, and HYGGE_REQUIRE_SERVICES=1 says it must be there")
    pytest.skip(problem)


def schema_name(test_name: str) -> str:
    clean = re.sub(r"[^a-z0-9]+", "_", test_name.lower()).strip("_")
    return f"hyg_{clean[-32:]}_{os.getpid()}"


def postgres_sql(sql: str) -> list[tuple[object, ...]]:
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(POSTGRES_URL) as conn, conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall() if cur.description else []
        conn.commit()
        return list(rows)


def own_names(column: str, name: str) -> str:
    """A condition matching ``name`` and the names a test derives from it (``name_...``), and nothing else:
    in LIKE, ``_`` matches any character, and a bare prefix would also match the names of a process whose
    pid starts with this one's."""
    escaped = name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return f"({column} = '{name}' OR {column} LIKE '{escaped}\\_%')"


def drop_postgres_schemas(prefix: str) -> None:
    for (name,) in postgres_sql(f"SELECT nspname FROM pg_namespace WHERE {own_names('nspname', prefix)}"):
        postgres_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def postgres_place(root: Path, test_name: str) -> Iterator[Place]:
    """A schema of its own (and the schemas named after it, ``NAME_...``), dropped afterwards."""
    require(POSTGRES_URL)
    name = schema_name(test_name)
    drop_postgres_schemas(name)
    try:
        yield Place(root, name)
    finally:
        drop_postgres_schemas(name)


def mysql_sql(sql: str) -> list[tuple[object, ...]]:
    import pymysql

    parts = urlsplit(MYSQL_URL)
    conn = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                           password=parts.password or "", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def drop_mysql_databases(prefix: str) -> None:
    for (name,) in mysql_sql("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                             f"WHERE {own_names('SCHEMA_NAME', prefix)}"):
        mysql_sql(f"DROP DATABASE IF EXISTS `{name}`")


def mysql_place(root: Path, test_name: str) -> Iterator[Place]:
    """A database of its own (and the databases named after it, ``NAME_...``), dropped afterwards."""
    require(MYSQL_URL)
    name = schema_name(test_name)
    drop_mysql_databases(name)
    try:
        yield Place(root, name)
    finally:
        drop_mysql_databases(name)
