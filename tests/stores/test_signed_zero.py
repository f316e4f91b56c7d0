"""-0.0 through every table store: kept exactly, or refused naming the column; never turned into 0.0.

SQLite's REAL affinity stores a float without a fraction as an integer, so -0.0 came back as 0.0
on every path through a SQLite store (docs/types.md promised float64 exact except NaN); MySQL
stores -0.0 as 0 whatever the column.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Engine, Place, files_place
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target

ZEROS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "f64": pa.array([-0.0, 0.0, -1.5]),
                  "f32": pa.array([-0.0, 0.0, None], pa.float32())})
KEEPS = {"sqlite", "duckdb", "postgres", "delta", "iceberg"}


@pytest.fixture(params=[name for name in MERGE_ENGINES if name != "parquet"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return MERGE_ENGINES[request.param]


@pytest.fixture
def place(engine: Engine, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
    yield from (engine.place or files_place)(tmp_path, request.node.name)


def signs(table: pa.Table, column: str) -> list[float | None]:
    return [None if v is None else math.copysign(1.0, v) for v in table.sort_by("id").column(column).to_pylist()]


@pytest.mark.parametrize("run_type", ["full_drop", "append", "merge"])
def test_negative_zero_is_kept_or_refused_by_name(engine: Engine, place: Place, run_type: str) -> None:
    (place.root / "in").mkdir()
    pq.write_table(ZEROS, place.root / "in" / "z.parquet")
    store = engine.store(place)
    if run_type != "full_drop":  # into the table an earlier run made
        pq.write_table(ZEROS.slice(2), place.root / "in" / "z.parquet")
        assert hygge.move({"type": "parquet", "path": "in"}, store, "z", root=place.root).ok
        pq.write_table(ZEROS.slice(0, 2), place.root / "in" / "z.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, store, "z", root=place.root, run_type=run_type,
                        keys=["id"] if run_type == "merge" else None)
    if engine.name not in KEEPS:
        assert result.status == "failed"
        text = str(result.error)
        assert "f64: 1 value(s) of -0.0, which MySQL stores as 0" in text, text
        assert "f32: 1 value(s) of -0.0" in text, "every column that cannot be held is named"
        return
    assert result.ok, result.error
    back = hygge.move(engine.home_for(place, ZEROS.schema), {"type": "parquet", "path": "back"}, "z",
                      root=place.root)
    assert back.ok, back.error
    landed = read_target(place.root / "back" / "z")
    assert signs(landed, "f64") == [-1.0, 1.0, -1.0]
    assert signs(landed, "f32") == [-1.0, 1.0, None]


def test_sqlite_tables_whose_columns_turn_negative_zero_into_zero_refuse_it(tmp_path: Path) -> None:
    """A REAL (or NUMERIC) column someone else made, or one hygge made before (FLOAT64), cannot keep -0.0."""
    path = tmp_path / "app.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE z (id INTEGER, f64 REAL, f32 FLOAT64)")
    (tmp_path / "in").mkdir()
    pq.write_table(ZEROS, tmp_path / "in" / "z.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "sqlite", "path": str(path)}, "z", root=tmp_path,
                        run_type="append")
    assert result.status == "failed"
    text = str(result.error)
    assert "f64 (REAL): 1 value(s) of -0.0" in text and "f32 (FLOAT64): 1 value(s) of -0.0" in text, text
    assert "hygge cannot widen" in text
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM z").fetchone()[0] == 0
    # Zeros without a sign still go in.
    pq.write_table(ZEROS.slice(1), tmp_path / "in" / "z.parquet")
    assert hygge.move({"type": "parquet", "path": "in"}, {"type": "sqlite", "path": str(path)}, "z", root=tmp_path,
                      run_type="append").ok
