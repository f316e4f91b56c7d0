"""A table read in more than one statement (MySQL's pages by primary key, key ranges, a cluster's partitions)
is read at more than one moment. What other sessions change meanwhile must not cost a row:

- incremental: the run reads rows up to the watermark's highest value when it began (db/high_water.py), so a row
  changed after one statement read it, and before a later one ran, is read by the next run, not passed over by a
  watermark taken from rows changed later still;
- PostgreSQL's key ranges are read in one exported snapshot, as its page ranges are (db/physical.py): a row whose
  key moves from a range not yet read to one already read is read once, as it was.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pyarrow.compute as pc
import pytest

from tests.contract.suite import Place
from tests.helpers import go_paused_at, read_target, run_here, write_project
from tests.services import MYSQL_URL, POSTGRES_URL, mysql_place, mysql_sql, postgres_place, postgres_sql

ROWS = 20_000


def paused_after_first_batch(root: Path, point: str = "read:1",
                             args: tuple[str, ...] = ()) -> tuple[subprocess.Popen[str], Path]:
    """`hygge go` held where ``point`` is first reached (by default: one batch read, the next not asked for)."""
    return go_paused_at(root, point, args)


def finished(proc: subprocess.Popen[str]) -> None:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err


def changed_ids(root: Path) -> set[int]:
    table = read_target(root / "out" / "t")
    return set(table.filter(pc.equal(table["v"], "changed"))["id"].to_pylist())


# ---- MySQL: a table with an integer primary key is read page by page, each page a statement of its own ----

@pytest.fixture
def mysql(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
    yield from mysql_place(tmp_path, request.node.name)


def mysql_table(place: Place) -> str:
    """The database of ``place`` with a table t of ROWS rows, all 'first' at 2026-01-01; its name."""
    db = place.name
    mysql_sql(f"CREATE DATABASE `{db}`")
    mysql_sql(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(20), pad VARCHAR(100), updated_at DATETIME(6))")
    mysql_sql(f"INSERT INTO `{db}`.t SELECT seq, 'first', REPEAT('x', 100), '2026-01-01' FROM `{db}`.seq_1_to_{ROWS}")
    return db


def mysql_project(root: Path, database: str, home: str = "", run_type: str = "incremental") -> None:
    write_project(root, f"""\
        name: over_time
        options: {{retries: 0, batch_bytes: 64KiB, queue_bytes: 64KiB}}
        flows:
          f:
            home: {{type: mysql, url: "{MYSQL_URL}", schema: {database}{home}}}
            store: {{type: parquet, path: out}}
            run_type: {run_type}
            entities: [{{name: t, watermark: updated_at}}]
        """)


@pytest.mark.parametrize("args", [
    (),  # an incremental run
    ("--full-drop",),  # a full load commits the watermark it read, which the next incremental run starts from
])
def test_mysql_pages_a_row_changed_behind_the_read_is_taken_by_the_next_run(tmp_path: Path, mysql: Place,
                                                                           args: tuple[str, ...]) -> None:
    db = mysql_table(mysql)
    mysql_project(tmp_path, db)
    run_here("go", cwd=tmp_path, check=0)
    mysql_sql(f"UPDATE `{db}`.t SET v = 'second', updated_at = '2026-01-02'")
    proc, release = paused_after_first_batch(tmp_path, args=args)  # the first page is read, the others are not
    try:
        # Row 1 was read on the first page; the last row is read later, after this change, with a later mark.
        mysql_sql(f"UPDATE `{db}`.t SET v = 'changed', updated_at = '2026-01-03' WHERE id = 1")
        mysql_sql(f"UPDATE `{db}`.t SET v = 'changed', updated_at = '2026-01-04' WHERE id = {ROWS}")
    finally:
        release.touch()
    finished(proc)
    run_here("go", cwd=tmp_path, check=0)
    assert changed_ids(tmp_path) == {1, ROWS}
    table = read_target(tmp_path / "out" / "t")
    assert pc.count_distinct(table["id"]).as_py() == ROWS


def test_mysql_pages_of_a_full_drop_entity_read_every_row(tmp_path: Path, mysql: Place) -> None:
    # Its next run is a full load too: nothing is left out for the next one (a row updated behind the read was),
    # and the watermark it keeps is no later than the highest there was when the read began.
    db = mysql_table(mysql)
    mysql_project(tmp_path, db, run_type="full_drop")
    proc, release = paused_after_first_batch(tmp_path)
    try:
        mysql_sql(f"UPDATE `{db}`.t SET v = 'changed', updated_at = '2026-01-04' WHERE id = {ROWS}")
    finally:
        release.touch()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err
    assert changed_ids(tmp_path) == {ROWS}
    assert read_target(tmp_path / "out" / "t").num_rows == ROWS
    assert '"shown": "2026-01-01T00:00:00"' in out  # the watermark committed: the high-water mark at the start


# ---- PostgreSQL: key ranges (`partition_on`) read on several sessions in one exported snapshot ----

PG_ROWS = 200_000  # a read that lasts past the first batch


@pytest.fixture
def postgres(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
    yield from postgres_place(tmp_path, request.node.name)


def postgres_table(schema: str) -> None:
    postgres_sql(f'CREATE SCHEMA "{schema}"')
    postgres_sql(f'CREATE TABLE "{schema}".t AS SELECT g AS id, \'first\'::text AS v, repeat(\'x\', 100) AS pad, '
                 f"timestamp '2026-01-01' AS updated_at FROM generate_series(1, {PG_ROWS}) g")


def postgres_project(root: Path, schema: str, run_type: str = "full_drop", sessions: int = 3) -> None:
    # Three sessions: the move's own exports the snapshot, two read the five ranges (four and NULL) in turn.
    write_project(root, f"""\
        name: over_time
        options: {{retries: 0, batch_bytes: 64KiB, queue_bytes: 64KiB}}
        connections:
          pg: {{url: "{POSTGRES_URL}", max_sessions: {sessions}}}
        flows:
          f:
            home: {{type: postgres, connection: pg, schema: {schema}, partition_on: id, partitions: 4}}
            store: {{type: parquet, path: out}}
            run_type: {run_type}
            entities: [{{name: t, watermark: updated_at}}]
        """)


def test_postgres_a_key_moved_to_a_range_already_read_is_read_once_as_it_was(tmp_path: Path,
                                                                           postgres: Place) -> None:
    postgres_table(postgres.name)
    postgres_project(tmp_path, postgres.name)
    proc, release = paused_after_first_batch(tmp_path, "snapshot:1")  # exported, no range read yet
    try:
        # From the last range into the first: read at different moments, the rows could be lost or read twice.
        # Readers that did not join the snapshot would all read the table as it is after this.
        postgres_sql(f'UPDATE "{postgres.name}".t SET id = -id, v = \'changed\' WHERE id > {PG_ROWS - 10}')
    finally:
        release.touch()
    finished(proc)
    table = read_target(tmp_path / "out" / "t")
    assert (table.num_rows, pc.sum(table["id"]).as_py()) == (PG_ROWS, PG_ROWS * (PG_ROWS + 1) // 2)
    assert changed_ids(tmp_path) == set()
    run_here("go", cwd=tmp_path, check=0)  # the next run sees the move
    assert changed_ids(tmp_path) == set(range(-PG_ROWS, -PG_ROWS + 10))


def test_postgres_one_free_session_reads_the_key_ranges_in_one_statement(tmp_path: Path, postgres: Place) -> None:
    postgres_table(postgres.name)
    postgres_project(tmp_path, postgres.name, sessions=2)  # one beside the move's own: no snapshot to share
    proc, release = paused_after_first_batch(tmp_path)
    try:
        reading = postgres_sql("SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' "
                               f"AND query LIKE '%{postgres.name}%' AND query LIKE 'COPY%'")
        assert len(reading) >= 1  # a parallel scan shows its workers with the same statement
        assert {q for (q,) in reading} == {f'COPY (SELECT "id", "v", "pad", "updated_at" FROM "{postgres.name}"."t") '
                                           "TO STDOUT (FORMAT binary)"}
        postgres_sql(f'UPDATE "{postgres.name}".t SET id = -id, v = \'changed\' WHERE id > {PG_ROWS - 10}')
    finally:
        release.touch()
    finished(proc)
    table = read_target(tmp_path / "out" / "t")
    assert (table.num_rows, pc.sum(table["id"]).as_py()) == (PG_ROWS, PG_ROWS * (PG_ROWS + 1) // 2)


def test_postgres_key_ranges_read_on_no_more_sessions_than_the_connection_allows(tmp_path: Path,
                                                                                 postgres: Place) -> None:
    postgres_table(postgres.name)
    postgres_project(tmp_path, postgres.name, sessions=3)  # one holds the snapshot: two read the five ranges
    proc, release = paused_after_first_batch(tmp_path)
    most = 0
    try:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # the reader not held goes on through its ranges meanwhile
            reading = postgres_sql("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "
                                   f"state = 'active' AND query LIKE 'COPY%{postgres.name}%' AND backend_type = "
                                   "'client backend'")
            most = max(most, reading[0][0])
            time.sleep(0.02)
    finally:
        release.touch()
    finished(proc)
    assert 1 <= most <= 2
    table = read_target(tmp_path / "out" / "t")
    assert (table.num_rows, pc.sum(table["id"]).as_py()) == (PG_ROWS, PG_ROWS * (PG_ROWS + 1) // 2)


# ---- SQLite: rowid ranges, each read on a connection of its own ----

def test_sqlite_ranges_a_row_changed_behind_the_read_is_taken_by_the_next_run(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "src.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("PRAGMA journal_mode=WAL")  # a writer beside the readers, as a live application has
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, pad TEXT, updated_at TIMESTAMP(6))")
        conn.executemany("INSERT INTO t VALUES (?, 'first', ?, '2026-01-01 00:00:00')",
                         [(i, "x" * 100) for i in range(1, ROWS + 1)])
    write_project(tmp_path, """\
        name: over_time
        options: {retries: 0, batch_bytes: 64KiB, queue_bytes: 64KiB}
        flows:
          f:
            # One session: the ranges are read one after another, the first paused, the last after the change.
            home: {type: sqlite, connection: {path: src.db, max_sessions: 1}, partition_on: rowid, partitions: 4}
            store: {type: parquet, path: out}
            run_type: incremental
            entities: [{name: t, watermark: updated_at}]
        """)
    run_here("go", cwd=tmp_path, check=0)

    # With the SQLite library hygge reads with: two copies of SQLite in one process (run_here runs hygge in
    # this one) release each other's file locks (sqlite.org/howtocorrupt.html, 2.2.1).
    def change(sql: str) -> None:
        from adbc_driver_sqlite import dbapi

        with dbapi.connect(str(db)) as conn, conn.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute(sql)
            conn.commit()

    change("UPDATE t SET v = 'second', updated_at = '2026-01-02 00:00:00'")
    proc, release = paused_after_first_batch(tmp_path)
    try:
        change("UPDATE t SET v = 'changed', updated_at = '2026-01-03 00:00:00' WHERE id = 1")
        change(f"UPDATE t SET v = 'changed', updated_at = '2026-01-04 00:00:00' WHERE id = {ROWS}")
    finally:
        release.touch()
    finished(proc)
    run_here("go", cwd=tmp_path, check=0)
    assert changed_ids(tmp_path) == {1, ROWS}
    assert pc.count_distinct(read_target(tmp_path / "out" / "t")["id"]).as_py() == ROWS
