"""A merge finds the target's rows through its key (the database's own EXPLAIN says so), and MySQL key
columns are indexable types sized within InnoDB's limit."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.core.planner import open_store
from tests.contract import test_mysql, test_postgres, test_sqlite
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.stores.test_merge_keys import key_of
from tests.test_full_drop_modes import run_sql

EXPLAINED = {"sqlite": test_sqlite.ENGINE, "postgres": test_postgres.ENGINE, "mysql": test_mysql.ENGINE}


engine, place = engine_fixtures(EXPLAINED)


def merged(engine: Engine, place: Place, table: pa.Table, keys: list[str]) -> hygge.MoveResult:
    folder = place.root / "in"
    folder.mkdir(exist_ok=True)
    pq.write_table(table, folder / "items.parquet")
    return hygge.move({"type": "parquet", "path": str(folder)}, engine.store(place), "items", root=place.root,
                      run_type="merge", keys=keys)


def plan_lines(engine: Engine, d: Any, conn: Any, statement: str) -> list[str]:
    if engine.name == "sqlite":
        return [str(r[-1]) for r in d.query(conn, f"EXPLAIN QUERY PLAN {statement}")]
    if engine.name == "postgres":
        # The driver reads through COPY, which takes no EXPLAIN: a function hands the plan over as rows.
        # Tiny tables: with sequential scans off, the plan says whether the key can be used at all.
        d.execute(conn, "CREATE OR REPLACE FUNCTION pg_temp.hygge_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS "
                        "$$ BEGIN SET LOCAL enable_seqscan = off; RETURN QUERY EXECUTE 'EXPLAIN ' || q; END $$")
        return [str(r[0]) for r in d.query(conn, "SELECT * FROM pg_temp.hygge_plan($1)", (statement,))]
    with conn.cursor() as cursor:
        cursor.execute(f"EXPLAIN {statement}")
        names = [c[0].lower() for c in cursor.description]
        return [" ".join(f"{n}={v}" for n, v in zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_the_merge_looks_target_rows_up_by_its_key(engine: Engine, place: Place) -> None:
    ids = list(range(500))
    assert merged(engine, place, pa.table({"id": pa.array(ids, pa.int64()), "v": [str(i) for i in ids]}), ["id"]).ok
    run_sql(engine, place)("CREATE TABLE S.probe AS SELECT * FROM S.items WHERE id < 3")  # a staging table's rows
    store = open_store(place.root, engine.store(place), {})
    d = store.dialect()
    target, probe = d.table_ref(store.schema, "items"), d.table_ref(store.schema, "probe")
    conn = d.connect()
    try:
        for statement in (d.delete_statement(target, probe, ("id",)),
                          f"SELECT COUNT(*) FROM {target} WHERE {d.matching(target, probe, ('id',))}"):
            lines = plan_lines(engine, d, conn, statement)
            text = "\n".join(lines)
            if engine.name == "sqlite":
                assert "SEARCH items USING" in text and "INDEX items_hygge_key (id=?)" in text, text
                assert "SCAN items" not in text, text
            elif engine.name == "postgres":
                assert "items_pkey" in text, text
            else:
                looked_up = [line for line in lines if "key=PRIMARY" in line and "type=eq_ref" in line]
                assert looked_up, text
    finally:
        d.rollback(conn)
        d.close(conn)


def mysql_column_type(place: Place, column: str) -> str:
    from tests.services import mysql_sql

    rows = mysql_sql(f"SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{place.name}' "
                     f"AND TABLE_NAME = 'items' AND COLUMN_NAME = '{column}'")
    return str(rows[0][0]).lower()


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_mysql_text_keys_become_varchar_sized_within_the_index_limit(engine: Engine, place: Place) -> None:
    table = pa.table({"code": ["a" * 300, "b"], "part": pa.array([b"\x00\x01", b"\x02"], pa.binary()),
                      "n": pa.array([1, 2], pa.int64())})
    result = merged(engine, place, table, ["code", "part", "n"])
    assert result.ok, result.error
    code, part = mysql_column_type(place, "code"), mysql_column_type(place, "part")
    assert code.startswith("varchar(") and part.startswith("varbinary("), (code, part)
    size_code, size_part = int(code[8:-1]), int(part[10:-1])
    assert size_code >= 300 and size_part >= 2
    assert size_code * 4 + size_part + 32 <= 3072  # utf8mb4 text, bytes, the int key's share
    assert key_of(engine, place, "items") == ("primary key", ["code", "part", "n"])
    again = merged(engine, place, pa.table({"code": ["c" * 310], "part": pa.array([b"\x03"], pa.binary()),
                                            "n": pa.array([3], pa.int64())}), ["code", "part", "n"])
    assert again.ok and again.rows_in_target == 3, again.error  # longer values than the first run's still fit


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_mysql_refuses_key_values_too_long_for_an_index_and_names_the_column(engine: Engine, place: Place) -> None:
    result = merged(engine, place, pa.table({"code": ["x" * 800, "y"], "v": [1, 2]}), ["code"])
    assert not result.ok and result.error is not None
    assert "too long for a MySQL key" in str(result.error)
    assert "code: values up to 800 characters" in (result.error.found or "")


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_mysql_a_later_key_value_longer_than_its_column_is_refused(engine: Engine, place: Place) -> None:
    assert merged(engine, place, pa.table({"code": ["a"], "v": [1]}), ["code"]).ok
    size = int(mysql_column_type(place, "code")[8:-1])
    failed = merged(engine, place, pa.table({"code": ["b" * (size + 1)], "v": [2]}), ["code"])
    assert not failed.ok and failed.error is not None
    assert "column code is part of the table's key and cannot be widened" in str(failed.error), failed.error
    from tests.services import mysql_sql

    assert mysql_sql(f"SELECT code FROM `{place.name}`.items") == [("a",)]
