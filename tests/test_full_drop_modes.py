"""full_drop into databases: swap replaces the table; truncate keeps it (and what depends on it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import hygge
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES

DATABASES = {k: v for k, v in MERGE_ENGINES.items() if k not in ("parquet", "delta")}  # full_drop_mode: databases


def run_sql(engine: Engine, place: Place) -> Callable[[str], list[tuple[object, ...]]]:
    if engine.name == "postgres":
        from tests.services import postgres_sql

        return lambda sql: postgres_sql(sql.replace("S.", f'"{place.name}".'))
    if engine.name == "mysql":
        from tests.services import mysql_sql

        return lambda sql: mysql_sql(sql.replace("S.", f"`{place.name}`."))
    path = engine.store(place)["path"]

    def embedded(sql: str) -> list[tuple[object, ...]]:
        sql = sql.replace("S.", "")
        if engine.name == "duckdb":
            import duckdb

            with duckdb.connect(path) as con:
                return list(con.execute(sql).fetchall())
        import adbc_driver_sqlite.dbapi as sqlite

        with sqlite.connect(path) as con, con.cursor() as cur:
            cur.execute(sql)
            rows = list(cur.fetchall()) if cur.description else []
            con.commit()
            return rows

    return embedded


engine, place = engine_fixtures(DATABASES)


def load(place: Place, engine: Engine, rows: int, mode: str) -> hygge.MoveResult:
    (place.root / "in").mkdir(exist_ok=True)
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64())}), place.root / "in" / "items.parquet")
    return hygge.move({"type": "parquet", "path": str(place.root / "in")}, {**engine.store(place),
                      "full_drop_mode": mode}, "items", root=place.root)


def test_truncate_keeps_the_table_and_the_views_on_it(engine: Engine, place: Place) -> None:
    assert load(place, engine, 5, "truncate").ok
    sql = run_sql(engine, place)
    sql("CREATE VIEW S.items_count AS SELECT COUNT(*) AS n FROM S.items")
    result = load(place, engine, 8, "truncate")
    assert result.ok and result.rows_in_target == 8, result.error
    assert sql("SELECT n FROM S.items_count")[0][0] == 8


def test_swap_replaces_the_table(engine: Engine, place: Place) -> None:
    assert load(place, engine, 5, "swap").ok
    result = load(place, engine, 3, "swap")
    assert result.ok and result.rows_in_target == 3
    assert run_sql(engine, place)("SELECT COUNT(*) FROM S.items")[0][0] == 3


def test_postgres_swap_under_a_view_says_to_use_truncate(tmp_path: Path) -> None:
    from tests.services import postgres_place

    engine = DATABASES["postgres"]
    for place in postgres_place(tmp_path, "swap_under_a_view"):
        assert load(place, engine, 5, "swap").ok
        run_sql(engine, place)("CREATE VIEW S.v AS SELECT * FROM S.items")
        result = load(place, engine, 3, "swap")
        assert result.status == "failed"
        assert "full_drop_mode: truncate" in str(result.error)
        assert run_sql(engine, place)("SELECT COUNT(*) FROM S.v")[0][0] == 5
