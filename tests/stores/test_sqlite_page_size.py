"""A SQLite database the Store creates gets pages of 16 KiB (connection option ``page_size``); one that exists
keeps the page size it has, with its tables as they were.

SQLite's default of 4 KiB made every page of a bulk load its own WAL frame: 10M rows took 14.5 s against 10.9 s
with 16 KiB pages (benchmarks/RESULTS.md, parquet → sqlite).
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.helpers import run_hygge

ROWS = pa.table({"id": pa.array(range(5000), pa.int64()), "v": [f"value {i}" for i in range(5000)],
                 "changed": pa.array(range(5000), pa.int64())})
RUN_TYPES = ["full_drop", "append", "incremental", "merge"]


def move(root: Path, database: Path, run_type: str, options: dict[str, Any] | None = None) -> hygge.MoveResult:
    store = {"type": "sqlite", "connection": {"path": str(database), **({"options": options} if options else {})}}
    return hygge.move({"type": "parquet", "path": "in"}, store, "t", root=root, run_type=run_type,
                      keys=["id"] if run_type == "merge" else None,
                      watermark="changed" if run_type == "incremental" else None)


def page_size(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])


def rows(database: Path, table: str = "t") -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(f"SELECT id, v FROM {table} ORDER BY id").fetchall()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    pq.write_table(ROWS.slice(0, 3000), tmp_path / "in" / "t.parquet")
    return tmp_path


@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_a_database_the_store_creates_has_16_kib_pages_and_every_run_type_keeps_them(root: Path,
                                                                                     run_type: str) -> None:
    database = root / "out" / "new.sqlite"
    first = move(root, database, run_type)
    assert first.ok, first.error
    assert page_size(database) == 16384
    pq.write_table(ROWS.slice(2000), root / "in" / "t.parquet")  # 1,000 rows again, 2,000 new
    second = move(root, database, run_type)
    assert second.ok, second.error
    assert page_size(database) == 16384
    expected = {"full_drop": range(2000, 5000), "append": [*range(3000), *range(2000, 5000)],
                "incremental": range(5000), "merge": range(5000)}[run_type]
    assert rows(database) == [(i, f"value {i}") for i in sorted(expected)]


@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_an_existing_database_keeps_its_page_size_and_its_tables(root: Path, run_type: str) -> None:
    database = root / "app.sqlite"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE mine (id INTEGER PRIMARY KEY, note TEXT)")
        conn.executemany("INSERT INTO mine VALUES (?, ?)", [(i, f"note {i}") for i in range(100)])
    assert page_size(database) == 4096
    result = move(root, database, run_type, options={"page_size": 65536})  # only a new file takes it
    assert result.ok, result.error
    assert page_size(database) == 4096
    assert rows(database) == [(i, f"value {i}") for i in range(3000)]
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*), SUM(id) FROM mine").fetchone() == (100, sum(range(100)))
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_the_page_size_option_sets_a_new_database_s_pages(root: Path) -> None:
    database = root / "out" / "big.sqlite"
    result = move(root, database, "full_drop", options={"page_size": 65536})
    assert result.ok, result.error
    assert page_size(database) == 65536
    assert len(rows(database)) == 3000


@pytest.mark.parametrize("value", ["1000", "131072", "big"])
def test_a_page_size_sqlite_cannot_use_is_refused_before_the_file_is_made(root: Path, value: str) -> None:
    database = root / "out" / "bad.sqlite"
    result = move(root, database, "full_drop", options={"page_size": value})
    assert result.status == "failed"
    text = str(result.error)
    assert "page_size must be a power of two from 512 to 65536" in text and repr(value) in text, text
    assert not database.exists()


def test_connection_options_written_as_yaml_numbers_reach_the_driver(root: Path) -> None:
    """YAML reads `page_size: 65536` as a number; the options were declared text, so the README's own
    `options: {busy_timeout: 60000}` failed with an 'unexpected ValidationError'."""
    (root / "hygge.yml").write_text(textwrap.dedent("""\
        name: pages
        flows:
          f:
            home: {type: parquet, path: in}
            store: {type: sqlite, connection: {path: out/y.sqlite, options: {page_size: 65536, busy_timeout: 60000}}}
            entities: [t]
        """))
    run_hygge("go", cwd=root, check=0)
    assert page_size(root / "out" / "y.sqlite") == 65536
    assert len(rows(root / "out" / "y.sqlite")) == 3000


def test_a_connection_option_that_is_not_a_value_is_a_configuration_problem(root: Path) -> None:
    (root / "hygge.yml").write_text(textwrap.dedent("""\
        name: pages
        flows:
          f:
            home: {type: parquet, path: in}
            store: {type: sqlite, connection: {path: out/y.sqlite, options: {page_size: [16384]}}}
            entities: [t]
        """))
    proc = run_hygge("go", cwd=root, check=2)
    assert "connection.options.page_size" in proc.stdout and "valid string" in proc.stdout, proc.stdout
    assert "unexpected" not in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
