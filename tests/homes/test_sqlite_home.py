"""The SQLite home split on its hidden rowid: every row exactly once, and a clear refusal where there is none."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

import hygge
from hygge.core.plan import MovePlan
from hygge.core.planner import open_home
from hygge.db.sqlite import without_sentinel
from tests.helpers import read_target

pytest.importorskip("adbc_driver_sqlite", reason="the sqlite extra is not installed")


def seed(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER, v TEXT)")  # no primary key: rowid is the only index
        conn.executemany("INSERT INTO events VALUES (?, ?)", [(i, f"v{i}") for i in range(6_000)])
        conn.execute("DELETE FROM events WHERE id % 7 = 0 OR id BETWEEN 2000 AND 3999")  # gaps and a hole
        conn.execute("CREATE TABLE keyed (id INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID")
        conn.executemany("INSERT INTO keyed VALUES (?, ?)", [(i, "x") for i in range(100)])


def test_reads_split_on_rowid_return_each_row_exactly_once(tmp_path: Path) -> None:
    seed(tmp_path / "app.sqlite")
    home = {"type": "sqlite", "path": "app.sqlite", "partition_on": "rowid", "partitions": 3}
    result = hygge.move(home, {"type": "parquet", "path": "out"}, "events", root=tmp_path)
    assert result.ok, result.error
    expected = [i for i in range(6_000) if i % 7 and not 2000 <= i <= 3999]
    assert sorted(read_target(tmp_path / "out" / "events").column("id").to_pylist()) == expected
    assert read_target(tmp_path / "out" / "events").schema.names == ["id", "v"]  # rowid is not a column
    plan = MovePlan(flow="f", entity="events", source="events", target="events", home=home, store={},
                    run_type="full_drop", root=str(tmp_path))
    parts = open_home(tmp_path, home, {}).open(plan).parts()
    assert len(parts) == 4  # three rowid ranges, and the (always empty) range of null keys
    per_part = [[i for batch in part.batches() for i in batch.column("id").to_pylist()] for part in parts]
    assert [len(ids) for ids in per_part] == [1714, 0, 1714, 0]  # the middle range is the deleted hole
    assert sorted(i for ids in per_part for i in ids) == expected


def test_a_table_without_rowid_is_refused_with_its_columns(tmp_path: Path) -> None:
    seed(tmp_path / "app.sqlite")
    home = {"type": "sqlite", "path": "app.sqlite", "partition_on": "rowid", "partitions": 3}
    result = hygge.move(home, {"type": "parquet", "path": "out"}, "keyed", root=tmp_path)
    assert not result.ok and "WITHOUT ROWID" in str(result.error) and "id, v" in str(result.error)
    assert not (tmp_path / "out" / "keyed").exists()


def test_reading_leaves_the_database_in_its_journal_mode(tmp_path: Path) -> None:
    # WAL is stored in the file: a Home that switched it would change how every other program uses the database.
    seed(tmp_path / "app.sqlite")
    result = hygge.move({"type": "sqlite", "path": "app.sqlite"}, {"type": "parquet", "path": "out"}, "events",
                        root=tmp_path)
    assert result.ok and result.rows_written == 3_428
    with sqlite3.connect(tmp_path / "app.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_missing_database_is_named_and_not_created(tmp_path: Path) -> None:
    result = hygge.move({"type": "sqlite", "path": "data/app.sqlite"}, {"type": "parquet", "path": "out"}, "events",
                        root=tmp_path)
    assert not result.ok and "the SQLite database does not exist" in str(result.error)
    assert "app.sqlite" in str(result.error) and "check `path` on the home" in str(result.error)
    assert not (tmp_path / "data").exists()  # no empty database, no folder for it



def test_values_sqlite_cannot_hold_name_every_column(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "in").mkdir()
    big = pa.array([2**63, 1], pa.uint64())
    pq.write_table(pa.table({"id": [1, 2], "a": big, "b": big, "ok": [1, 2]}), tmp_path / "in" / "t.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "sqlite", "path": "app.sqlite"}, "t",
                        root=tmp_path)
    assert result.status == "failed"
    text = str(result.error)
    assert "SQLite cannot hold the values of 2 column(s) exactly (a, b)" in text, text
    assert "a: a value of uint64 outside SQLite's range (value 9223372036854775808 does not fit" in text


@pytest.mark.parametrize("marks", [[1, 0, 0], [0, 1, 0], [0, 0, 0], [1], []],
                         ids=["first", "middle", "none", "only", "empty"])
def test_the_sentinel_row_leaves_a_batch_wherever_it_stands_and_only_it(marks: list[int]) -> None:
    ids = list(range(len(marks)))
    batch = pa.record_batch({"id": pa.array(ids, pa.int64()), "hygge_sentinel": pa.array(marks, pa.int64())})
    kept = without_sentinel(batch)
    assert kept.schema.names == ["id"]
    assert kept.column("id").to_pylist() == [i for i, m in zip(ids, marks, strict=True) if m == 0]
