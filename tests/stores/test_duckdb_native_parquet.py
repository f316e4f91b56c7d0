"""Parquet into DuckDB with nothing to change: DuckDB's own reader loads the files, with the same result."""

from __future__ import annotations

import signal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import hygge
from hygge.samples import orders
from tests.contract.alltypes import COLUMNS
from tests.helpers import run_here, run_hygge, write_project

NOTE = "file(s) read by the store's own parquet reader"
# DuckDB's parquet reader sees these three as other types than the columns hygge makes for them
# (TIMESTAMP for ms stamps, UUID and JSON where hygge keeps text with an exact-type comment).
OTHER_TYPES = {"ts_ms", "uid", "doc"}


def read_back(root: Path, table: str) -> pa.Table:
    result = hygge.move({"type": "duckdb", "path": "w.duckdb"}, {"type": "parquet", "path": "back"}, table,
                        root=root, run_type="full_drop")
    assert result.ok, result.error
    return pq.read_table(root / "back" / table)


def test_unchanged_parquet_is_read_by_duckdb_and_lands_as_through_arrow(tmp_path: Path) -> None:
    table = pa.table({name: pa.array(values * 500, dtype) for name, dtype, values in COLUMNS
                      if name not in OTHER_TYPES})
    (tmp_path / "in").mkdir()
    pq.write_table(table.slice(0, 1000), tmp_path / "in" / "a.parquet")
    pq.write_table(table.slice(1000), tmp_path / "in" / "b.parquet")  # two files read as one table
    for native in (True, False):
        store = {"type": "duckdb", "path": "w.duckdb", "native_parquet": native}
        result = hygge.move({"type": "parquet", "path": "."}, store, "t_native" if native else "t_arrow",
                            root=tmp_path, source="in")
        assert result.ok and result.rows_in_target == 2000, result.error
        assert any(NOTE in w for w in result.warnings) == native, result.warnings
    native_rows, arrow_rows = read_back(tmp_path, "t_native"), read_back(tmp_path, "t_arrow")
    assert native_rows.schema == arrow_rows.schema == table.schema  # exact types, from the column comments
    assert native_rows.equals(arrow_rows) and native_rows.sort_by("id").equals(table.sort_by("id"))


def test_parquet_duckdb_would_type_otherwise_goes_through_arrow(tmp_path: Path) -> None:
    table = pa.table({name: pa.array(values, dtype) for name, dtype, values in COLUMNS})
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "all.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "duckdb", "path": "w.duckdb"}, "all",
                        root=tmp_path)
    assert result.ok and result.rows_in_target == 4, result.error
    assert not any(NOTE in w for w in result.warnings)
    assert read_back(tmp_path, "all").sort_by("id").equals(table)


def test_a_filter_or_polish_keeps_the_arrow_path_and_applies(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(orders(3000), tmp_path / "in" / "orders.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "duckdb", "path": "w.duckdb"}, "orders",
                        root=tmp_path, polish={"drop": ["status"]})
    assert result.ok and not any(NOTE in w for w in result.warnings)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        columns = [row[0] for row in conn.sql("DESCRIBE main.orders").fetchall()]
    assert "status" not in columns and len(columns) == orders(1).num_columns - 1


def test_a_damaged_file_read_by_duckdb_fails_the_move_and_commits_nothing(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    good = pa.table({"id": pa.array(range(50_000), pa.int64()), "name": [f"customer {i}" for i in range(50_000)]})
    pq.write_table(good, tmp_path / "in" / "orders.parquet")
    first = hygge.move({"type": "parquet", "path": "in"}, {"type": "duckdb", "path": "w.duckdb"}, "orders",
                       root=tmp_path)
    assert first.ok and any(NOTE in w for w in first.warnings)
    data = bytearray((tmp_path / "in" / "orders.parquet").read_bytes())
    middle = len(data) // 3
    data[middle:middle + 4096] = bytes(4096)  # zeros over compressed pages: snappy cannot decode them
    (tmp_path / "in" / "orders.parquet").write_bytes(bytes(data))
    again = hygge.move({"type": "parquet", "path": "in"}, {"type": "duckdb", "path": "w.duckdb"}, "orders",
                       root=tmp_path)
    assert again.status == "failed"
    message = str(again.error)
    assert "orders.parquet" in message and "native_parquet: false" in message, message
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT count(*) FROM main.orders").fetchall() == [(50_000,)]  # the first load, whole


def test_a_kill_after_duckdb_read_the_files_leaves_the_old_table(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    rows = pa.table({"id": pa.array(range(1000), pa.int64()), "name": [f"n{i}" for i in range(1000)]})
    pq.write_table(rows, tmp_path / "in" / "t.parquet")
    write_project(tmp_path, """\
        name: native
        flows:
          f:
            home: {type: parquet, path: in}
            store: {type: duckdb, path: w.duckdb}
            entities: [t]
        """)
    run_here("go", cwd=tmp_path, check=0)
    pq.write_table(pa.concat_tables([rows, rows]), tmp_path / "in" / "t.parquet")
    killed = run_hygge("go", cwd=tmp_path, env={"HYGGE_KILL_AT": "write:1"})  # inserted, not yet committed
    assert killed.returncode == -signal.SIGKILL
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT count(*) FROM main.t").fetchall() == [(1000,)]
    again = run_here("go", "-v", cwd=tmp_path, check=0)
    assert NOTE in again.stdout + again.stderr
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT count(*) FROM main.t").fetchall() == [(2000,)]
