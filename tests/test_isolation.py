"""The suite shares its database servers with other runs: what a test terminates or drops must be its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.services import MYSQL_URL, POSTGRES_URL, mysql_sql, own_names, postgres_sql, require

TESTS = Path(__file__).resolve().parent

# Statements that end another session's work, and what a test's own scope looks like in them.
KILLS = re.compile(r"pg_terminate_backend|pg_cancel_backend|\bKILL\b|DROP (SCHEMA|DATABASE)")
SCOPED = re.compile(r"place\.name|own_application|own_names|\{name\}|\{schema\}")


def test_every_kill_and_drop_in_the_suite_names_the_tests_own_sessions_or_schemas() -> None:
    unscoped = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == Path(__file__).name:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if KILLS.search(line) and not line.lstrip().startswith(("#", '"""')):
                statement = " ".join(lines[max(0, number - 3):number + 4])  # the statement around it
                if not SCOPED.search(statement):
                    unscoped.append(f"{path.relative_to(TESTS)}:{number + 1}: {line.strip()}")
    assert unscoped == [], "select by the test's own application name, database or schema:\n" + "\n".join(unscoped)


@pytest.mark.parametrize("server", ["postgres", "mysql"])
def test_a_tests_names_never_match_another_process_whose_pid_starts_the_same(server: str) -> None:
    require(POSTGRES_URL if server == "postgres" else MYSQL_URL)
    ours, theirs = "hyg_iso_12", ["hyg_iso_123", "hygxiso_12", "hyg_iso_12x"]
    mine = [ours, f"{ours}_a"]
    if server == "postgres":
        def sql(text: str) -> list[tuple[object, ...]]:
            return postgres_sql(text)
        create, drop = 'CREATE SCHEMA IF NOT EXISTS "{}"', 'DROP SCHEMA IF EXISTS "{}"'
        listing = f"SELECT nspname FROM pg_namespace WHERE {own_names('nspname', ours)}"
    else:
        def sql(text: str) -> list[tuple[object, ...]]:
            return mysql_sql(text)
        create, drop = "CREATE DATABASE IF NOT EXISTS `{}`", "DROP DATABASE IF EXISTS `{}`"
        listing = f"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE {own_names('SCHEMA_NAME', ours)}"
    for name in mine + theirs:
        sql(create.format(name))
    try:
        assert sorted(str(row[0]) for row in sql(listing)) == mine
    finally:
        for name in mine + theirs:
            sql(drop.format(name))
