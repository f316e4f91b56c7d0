"""Exact Arrow types live in one `_hygge_types` row per table; tables older hygge wrote, with the type in each
column's comment, still read exactly and are moved to the new form by their next run."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from tests.contract import test_duckdb, test_mysql
from tests.contract.suite import Engine, Place, back, engine_fixtures, move
from tests.test_full_drop_modes import run_sql

KEEPING = {"duckdb": test_duckdb.ENGINE, "mysql": test_mysql.ENGINE}  # the stores whose column types lose some
SCHEMA = pa.schema([("id", pa.int64()), ("ls", pa.large_string()), ("ts", pa.timestamp("ms", tz="Europe/Oslo"))])


engine, place = engine_fixtures(KEEPING)


def rows(ids: list[int]) -> pa.Table:
    when = datetime(2024, 3, 31, 1, 30, tzinfo=timezone.utc)
    return pa.table({"id": ids, "ls": [f"text {i}" for i in ids], "ts": [when] * len(ids)}, schema=SCHEMA)


def land(engine: Engine, place: Place, table: pa.Table, run_type: str = "full_drop") -> None:
    folder = place.root / "in"
    folder.mkdir(exist_ok=True)
    pq.write_table(table, folder / "items.parquet")
    move({"type": "parquet", "path": str(folder)}, engine.store(place), "items", place.root, run_type=run_type)


def column_comments(engine: Engine, place: Place) -> dict[str, str]:
    sql = run_sql(engine, place)
    if engine.name == "duckdb":
        found = sql("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'items'")
    else:
        found = sql(f"SELECT COLUMN_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                    f"'{place.name}' AND TABLE_NAME = 'items'")
    return {str(name): str(text or "") for name, text in found}


def as_older_hygge_left_it(engine: Engine, place: Place) -> None:
    """No `_hygge_types` row; the exact type of each column that needs one in its comment, as older hygge wrote."""
    sql = run_sql(engine, place)
    sql("DELETE FROM S._hygge_types")
    for name in ("ls", "ts"):
        comment = "hygge-arrow:" + base64.b64encode(pa.schema([SCHEMA.field(name)]).serialize().to_pybytes()).decode()
        if engine.name == "duckdb":
            sql(f"COMMENT ON COLUMN items.{name} IS '{comment}'")
        else:
            create = str(sql("SHOW CREATE TABLE S.items")[0][1])
            definition = next(line.strip().rstrip(",") for line in create.splitlines()
                              if line.strip().startswith(f"`{name}`"))
            sql(f"ALTER TABLE S.items MODIFY COLUMN {definition} COMMENT '{comment}'")


def test_exact_types_are_kept_in_one_row_not_in_column_comments(engine: Engine, place: Place) -> None:
    land(engine, place, rows([1, 2]))
    assert not any(column_comments(engine, place).values())
    kept = run_sql(engine, place)("SELECT table_name, arrow_schema FROM S._hygge_types")
    assert [r[0] for r in kept] == ["items"]
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(str(kept[0][1]))))
    assert [(f.name, f.type) for f in schema] == [("ls", pa.large_string()), ("ts", SCHEMA.field("ts").type)]
    assert back(place.root, engine.home(place), "items").schema == SCHEMA


def test_a_table_older_hygge_wrote_reads_exactly_and_its_next_run_migrates_it(engine: Engine, place: Place) -> None:
    land(engine, place, rows([1, 2]))
    as_older_hygge_left_it(engine, place)
    assert back(place.root, engine.home(place), "items").schema == SCHEMA  # read through the comments

    land(engine, place, rows([3]), run_type="append")
    assert [r[0] for r in run_sql(engine, place)("SELECT table_name FROM S._hygge_types")] == ["items"]
    again = back(place.root, engine.home(place), "items")
    assert again.schema == SCHEMA and again.column("id").to_pylist() == [1, 2, 3]
    assert again.column("ts").to_pylist() == rows([1, 2, 3]).column("ts").to_pylist()
    if engine.name == "duckdb":  # from now on the row alone is read: the comments may go
        for name in ("ls", "ts"):
            run_sql(engine, place)(f"COMMENT ON COLUMN items.{name} IS NULL")
        assert back(place.root, engine.home(place), "items").schema == SCHEMA
