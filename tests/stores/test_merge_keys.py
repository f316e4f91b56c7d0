"""Tables hygge creates with `keys:` carry a primary key (or unique index) on them, in every database Store."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.test_full_drop_modes import DATABASES, run_sql

engine, place = engine_fixtures(DATABASES)


def key_of(engine: Engine, place: Place, table: str) -> tuple[str, list[str]]:
    """The table's primary key, else its unique index, as the database's own catalog tells it."""
    sql = run_sql(engine, place)
    if engine.name == "postgres":
        rows = sql(f"SELECT i.indisprimary, a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                   f"AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'S.{table}'::regclass AND i.indisunique "
                   "ORDER BY array_position(i.indkey, a.attnum)")
        return ("primary key" if rows and rows[0][0] else "unique index" if rows else ""), [str(r[1]) for r in rows]
    if engine.name == "mysql":
        rows = sql(f"SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                   f"'{place.name}' AND TABLE_NAME = '{table}' AND NON_UNIQUE = 0 ORDER BY SEQ_IN_INDEX")
        return ("primary key" if rows and rows[0][0] == "PRIMARY" else "unique index" if rows else ""), [
            str(r[1]) for r in rows]
    if engine.name == "duckdb":
        rows = sql(f"SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = '{table}' "
                   "AND constraint_type = 'PRIMARY KEY'")
        if rows:
            return "primary key", list(rows[0][0])  # type: ignore[call-overload]
        rows = sql(f"SELECT expressions FROM duckdb_indexes() WHERE table_name = '{table}' AND is_unique")
        return ("unique index", [c.strip("'\"") for c in str(rows[0][0]).strip("[]").split(", ")]) if rows else ("", [])
    indexes = sql(f"SELECT name FROM pragma_index_list('{table}') WHERE \"unique\"")
    if not indexes:
        return "", []
    return "unique index", [str(r[0]) for r in sql(f"SELECT name FROM pragma_index_info('{indexes[0][0]}')")]


def source(place: Place, ids: list[int], names: list[str | None] | None = None, region: list[str] | None = None,
           **extra: list[object]) -> dict[str, object]:
    folder = place.root / "in"
    folder.mkdir(exist_ok=True)
    columns: dict[str, object] = {"id": pa.array(ids, pa.int64()),
                                  "name": pa.array(names or [f"n{i}" for i in ids], pa.string()),
                                  "region": pa.array(region or ["eu"] * len(ids), pa.string())}
    columns.update(extra)
    pq.write_table(pa.table(columns), folder / "items.parquet")
    return {"type": "parquet", "path": str(folder)}


def move(engine: Engine, place: Place, ids: list[int], **settings: object) -> hygge.MoveResult:
    names = settings.pop("names", None)
    region = settings.pop("region", None)
    home = source(place, ids, names, region)  # type: ignore[arg-type]
    return hygge.move(home, engine.store(place), "items", root=place.root, **settings)


@pytest.mark.parametrize("keys", [["id"], ["region", "name"]], ids=["int-key", "two-text-keys"])
def test_merge_creates_a_keyed_table_and_upserts(engine: Engine, place: Place, keys: list[str]) -> None:
    first = move(engine, place, [1, 2, 3], run_type="merge", keys=keys)
    assert first.ok, first.error
    assert key_of(engine, place, "items") == ("primary key" if engine.name != "sqlite" else "unique index", keys)
    second = move(engine, place, [3, 4], names=["n3", "n4"], run_type="merge", keys=keys)
    assert second.ok and second.rows_in_target == 4, second.error
    assert not second.warnings


@pytest.mark.parametrize("run_type", ["full_drop", "append"])
def test_full_drop_and_append_with_keys_key_nothing_and_keep_repeated_keys(engine: Engine, place: Place,
                                                                          run_type: str) -> None:
    """`keys:` on a full_drop or append (set for a merge of another day, or by defaults) are no promise that the
    rows are one per key: such a load keeps working as it always did, and its table is not keyed."""
    for ids in ([1, 2], [2, 2, 3]):
        result = move(engine, place, ids, run_type=run_type, keys=["id"])
        assert result.ok, result.error
    assert key_of(engine, place, "items") == ("", [])
    held = sorted(r[0] for r in run_sql(engine, place)("SELECT id FROM S.items"))
    assert held == ([2, 2, 3] if run_type == "full_drop" else [1, 2, 2, 2, 3])


def test_full_drop_truncate_keeps_the_key_a_merge_made(engine: Engine, place: Place) -> None:
    assert move(engine, place, [1, 2], run_type="merge", keys=["id"]).ok
    store = {**engine.store(place), "full_drop_mode": "truncate"}
    for ids in ([1, 2], [2, 3, 4]):
        result = hygge.move(source(place, ids), store, "items", root=place.root, keys=["id"])
        assert result.ok and result.rows_in_target == len(ids), result.error
    assert key_of(engine, place, "items")[1] == ["id"]


def test_incremental_with_keys_is_keyed_from_its_first_run(engine: Engine, place: Place) -> None:
    settings = {"run_type": "incremental", "keys": ["id"], "watermark": "id"}
    first = move(engine, place, [1, 2, 3], **settings)
    assert first.ok, first.error
    assert key_of(engine, place, "items")[1] == ["id"]
    second = move(engine, place, [3, 4, 5], names=["x3", "n4", "n5"], **settings)
    assert second.ok and second.rows_in_target == 5, second.error
    assert key_of(engine, place, "items")[1] == ["id"]


def test_a_first_incremental_load_repeating_a_key_is_refused_and_nothing_changes(engine: Engine,
                                                                                 place: Place) -> None:
    failed = move(engine, place, [7, 7, 8], run_type="incremental", keys=["id"], watermark="id")
    assert not failed.ok and failed.error is not None
    assert "repeat values of `keys`" in str(failed.error) and "id=7 (2 rows)" in (failed.error.found or "")


def test_null_keys_get_a_unique_index_instead_of_a_primary_key(engine: Engine, place: Place) -> None:
    result = move(engine, place, [1, 2, 3], names=["a", None, None], run_type="incremental", keys=["name"],
                  watermark="id")
    assert result.ok, result.error
    assert key_of(engine, place, "items") == ("unique index", ["name"])


def unkeyed_target(engine: Engine, place: Place, ids: list[int]) -> None:
    """A target as hygge wrote it before it kept keys: same columns, no key."""
    assert move(engine, place, ids).ok
    assert key_of(engine, place, "items") == ("", [])


def test_an_older_unkeyed_target_gains_its_key_with_a_note(engine: Engine, place: Place) -> None:
    unkeyed_target(engine, place, [1, 2])
    result = move(engine, place, [2, 3], run_type="merge", keys=["id"])
    assert result.ok and result.rows_in_target == 3, result.error
    assert key_of(engine, place, "items")[1] == ["id"]
    assert any("hygge added a" in w and "had no key on id" in w for w in result.warnings), result.warnings
    again = move(engine, place, [4], run_type="merge", keys=["id"])
    assert again.ok and not again.warnings  # said once: the key is there now


def test_an_older_target_with_duplicate_keys_goes_on_without_a_key(engine: Engine, place: Place) -> None:
    unkeyed_target(engine, place, [1, 1, 2])
    result = move(engine, place, [3], run_type="merge", keys=["id"])
    assert result.ok and result.rows_in_target == 4, result.error
    assert key_of(engine, place, "items") == ("", [])
    assert any("cannot be given one" in w and "id=1 (2 rows)" in w for w in result.warnings), result.warnings


def test_a_target_keyed_by_its_owner_is_left_as_it_is(engine: Engine, place: Place) -> None:
    unkeyed_target(engine, place, [1, 2])
    run_sql(engine, place)("CREATE UNIQUE INDEX owners_key ON S.items (id)")
    result = move(engine, place, [2, 3], run_type="merge", keys=["id", "name"])  # unique on a subset of them
    assert result.ok and result.rows_in_target == 3, result.error
    assert not result.warnings
    assert key_of(engine, place, "items") == ("unique index", ["id"])


def test_widening_a_key_column_keeps_the_key(engine: Engine, place: Place) -> None:
    home = source(place, [1, 2])
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int32()), "name": ["a", "b"]}), place.root / "in" /
                   "items.parquet")
    assert hygge.move(home, engine.store(place), "items", root=place.root, run_type="merge", keys=["id"]).ok
    kept = key_of(engine, place, "items")
    pq.write_table(pa.table({"id": pa.array([2, 3_000_000_000], pa.int64()), "name": ["x", "c"]}),
                   place.root / "in" / "items.parquet")
    result = hygge.move(home, engine.store(place), "items", root=place.root, run_type="merge", keys=["id"])
    assert result.ok and result.rows_in_target == 3, result.error
    assert key_of(engine, place, "items") == kept
    assert not any("had no key" in w for w in result.warnings), result.warnings


def test_append_of_a_key_the_keyed_target_holds_is_refused_plainly(engine: Engine, place: Place) -> None:
    assert move(engine, place, [1, 2], run_type="merge", keys=["id"]).ok
    failed = move(engine, place, [2, 3], run_type="append", keys=["id"])
    assert not failed.ok and failed.error is not None
    assert "that the target already holds" in str(failed.error), failed.error
    assert "run_type merge" in (failed.error.hint or "")
    assert sorted(r[0] for r in run_sql(engine, place)("SELECT id FROM S.items")) == [1, 2]
