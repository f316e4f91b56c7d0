"""`hygge debug` for databases: open a session and say in plain words why that failed."""

from __future__ import annotations

from hygge.db.dialect import Dialect
from hygge.errors import HyggeError
from hygge.homes.base import Check


def check_connection(dialect: Dialect, what: str) -> Check:
    name = f"{what} connection {dialect.spec.display()}"
    try:
        conn = dialect.connect()
    except HyggeError as exc:
        return Check(name, False, exc.what, exc.hint)
    try:
        dialect.query(conn, "SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure is what the person needs to see
        return Check(name, False, str(exc).splitlines()[0], "check the server's logs")
    finally:
        dialect.close(conn)
    return Check(name, True, "connected")
