"""Tiny helpers around the two database servers: run statements, count rows, size tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from harness.settings import MY_URL, PG_URL


@contextmanager
def postgres() -> Iterator[Any]:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        yield conn


@contextmanager
def mysql(database: str | None = None, local_infile: bool = False) -> Iterator[Any]:
    import pymysql

    url = urlparse(MY_URL)
    conn = pymysql.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root",
                           password=url.password or "", database=database, autocommit=True,
                           local_infile=local_infile, connect_timeout=5)
    try:
        yield conn
    finally:
        conn.close()


def pg_scalar(sql: str) -> Any:
    with postgres() as conn:
        row = conn.execute(sql).fetchone()
    return row[0] if row else None


def my_scalar(sql: str) -> Any:
    with mysql() as conn, conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    return row[0] if row else None


def pg_table_exists(qualified: str) -> bool:
    return pg_scalar(f"SELECT to_regclass('{qualified}') IS NOT NULL")


def my_table_exists(database: str, table: str) -> bool:
    return bool(my_scalar("SELECT COUNT(*) FROM information_schema.tables "
                          f"WHERE table_schema = '{database}' AND table_name = '{table}'"))


def server_versions() -> dict[str, str]:
    versions = {}
    for name, query in (("postgresql", lambda: pg_scalar("SHOW server_version")),
                        ("mariadb", lambda: my_scalar("SELECT VERSION()"))):
        try:
            versions[name] = str(query())
        except Exception as exc:  # noqa: BLE001 - a missing server is reported, not fatal
            versions[name] = f"unreachable: {type(exc).__name__}"
    return versions
