"""Schema drift against every Store family: designed outcomes, never silent loss."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target, run_here, write_project

engine, place = engine_fixtures(MERGE_ENGINES)


def load(place: Place, engine: Engine, table: pa.Table, run_type: str = "append",
         policy: dict[str, str] | None = None) -> hygge.MoveResult:
    (place.root / "in").mkdir(exist_ok=True)
    pq.write_table(table, place.root / "in" / "items.parquet")
    return hygge.move({"type": "parquet", "path": str(place.root / "in")}, engine.store(place), "items",
                      root=place.root, run_type=run_type, schema_policy=policy or {})


def landed(place: Place, engine: Engine) -> pa.Table:
    result = hygge.move(engine.home(place), {"type": "parquet", "path": str(place.root / "back")}, "items",
                        root=place.root)
    assert result.ok, result.error
    return read_target(place.root / "back" / "items").sort_by("id")


def first(place: Place, engine: Engine) -> None:
    result = load(place, engine, pa.table({"id": pa.array([1, 2], pa.int64()), "qty": pa.array([10, 20], pa.int32()),
                                           "price": pa.array([Decimal("1.50"), None], pa.decimal128(10, 2))}))
    assert result.ok, result.error


def test_new_columns_are_added_and_old_rows_hold_nulls(engine: Engine, place: Place) -> None:
    first(place, engine)
    result = load(place, engine, pa.table({"id": pa.array([3], pa.int64()), "qty": pa.array([30], pa.int32()),
                                           "price": pa.array([Decimal("3.00")], pa.decimal128(10, 2)),
                                           "colour": ["blue"]}))
    assert result.ok, result.error
    assert "new column colour (string) will be added to the target" in result.warnings
    table = landed(place, engine)
    assert table.column("colour").to_pylist() == [None, None, "blue"]


def test_missing_columns_are_filled_with_nulls(engine: Engine, place: Place) -> None:
    first(place, engine)
    result = load(place, engine, pa.table({"id": pa.array([3], pa.int64()), "qty": pa.array([30], pa.int32())}))
    assert result.ok, result.error
    assert landed(place, engine).column("price").to_pylist() == [Decimal("1.50"), None, None]


def test_types_are_widened_when_no_value_can_be_lost(engine: Engine, place: Place) -> None:
    first(place, engine)
    wider = pa.table({"id": pa.array([3], pa.int64()), "qty": pa.array([2**40], pa.int64()),
                      "price": pa.array([Decimal("1234567890.12")], pa.decimal128(12, 2))})
    result = load(place, engine, wider)
    assert result.ok, result.error
    table = landed(place, engine)
    assert table.column("qty").to_pylist() == [10, 20, 2**40]
    assert table.column("price").to_pylist() == [Decimal("1.50"), None, Decimal("1234567890.12")]


def test_narrower_rows_are_cast_up_to_the_target(engine: Engine, place: Place) -> None:
    first(place, engine)
    result = load(place, engine, pa.table({"id": pa.array([3], pa.int64()), "qty": pa.array([7], pa.int8()),
                                           "price": pa.array([Decimal("2.5")], pa.decimal128(4, 1))}))
    assert result.ok, result.error
    assert landed(place, engine).column("price").to_pylist()[-1] == Decimal("2.50")


def test_a_lossy_change_stops_the_move_and_leaves_the_target(engine: Engine, place: Place) -> None:
    first(place, engine)
    result = load(place, engine, pa.table({"id": pa.array([3], pa.int64()), "qty": ["thirty"],
                                           "price": pa.array([Decimal("3.00")], pa.decimal128(10, 2))}))
    assert result.status == "failed"
    text = str(result.error)
    assert "the source's columns changed in a way the schema policy does not allow" in text
    assert "qty: int32 -> string (could lose values)" in text and "--full-drop" in text
    assert landed(place, engine).num_rows == 2


@pytest.mark.parametrize(("policy", "outcome"), [
    ({"new_columns": "fail"}, "new column colour"),
    ({"new_columns": "ignore"}, None),
    ({"missing_columns": "fail", "new_columns": "ignore"}, "missing column price"),
])
def test_policies_fail_or_ignore_as_configured(engine: Engine, place: Place, policy: dict[str, str],
                                               outcome: str | None) -> None:
    first(place, engine)
    table = pa.table({"id": pa.array([3], pa.int64()), "qty": pa.array([30], pa.int32()), "colour": ["blue"]})
    if "missing_columns" not in policy:
        table = table.append_column("price", pa.array([Decimal("3.00")], pa.decimal128(10, 2)))
    result = load(place, engine, table, policy=policy)
    if outcome is None:
        assert result.ok and "colour" not in landed(place, engine).column_names
    else:
        assert result.status == "failed" and outcome in str(result.error)
        assert landed(place, engine).num_rows == 2


def test_full_drop_takes_the_new_shape(engine: Engine, place: Place) -> None:
    first(place, engine)
    result = load(place, engine, pa.table({"id": pa.array([3], pa.int64()), "qty": ["thirty"]}), run_type="full_drop")
    assert result.ok, result.error
    table = landed(place, engine)
    assert table.column("qty").to_pylist() == ["thirty"] and "price" not in table.column_names


def test_dry_run_shows_the_drift_it_would_meet(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": [1], "a": pa.array([1], pa.int32())}), tmp_path / "in" / "t.parquet")
    write_project(tmp_path, "name: d\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: parquet, path: out}
        run_type: append
        entities: [t]
        """})
    run_here("go", cwd=tmp_path, check=0)
    pq.write_table(pa.table({"id": [2], "a": pa.array([2], pa.int64()), "b": ["x"]}), tmp_path / "in" / "t.parquet")
    proc = run_here("go", "--dry-run", cwd=tmp_path, check=0)
    assert "schema change: f.t: new column b (string) will be added to the target" in proc.stdout
    assert "column a changed from int32 to int64: the target will be widened" in proc.stdout


def test_the_schema_of_each_run_is_kept_in_the_journal(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": [1], "a": pa.array([1], pa.int32())}), tmp_path / "in" / "t.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "parquet", "path": "out"}, "t", root=tmp_path)
    import json

    manifest: dict[str, Any] = json.loads((tmp_path / "out" / "t" / ".hygge-manifest.json").read_text())
    assert result.ok and manifest["state"]["columns"] == [{"name": "id", "type": "int64"},
                                                          {"name": "a", "type": "int32"}]


KEY_WIDENINGS = {
    "decimal": (pa.array([Decimal("1.50"), Decimal("2.00")], pa.decimal128(10, 2)),
                pa.array([Decimal("1.500"), Decimal("2.000")], pa.decimal128(12, 3))),
    "timestamp": (pa.array([datetime(2024, 1, 1, 10, 0, 0, 500000), datetime(2024, 1, 2)], pa.timestamp("ms")),
                  pa.array([datetime(2024, 1, 1, 10, 0, 0, 500000), datetime(2024, 1, 2)], pa.timestamp("us"))),
}


@pytest.mark.parametrize("kind", list(KEY_WIDENINGS))
def test_a_widened_key_column_still_matches_the_old_rows_in_a_merge(engine: Engine, place: Place, kind: str) -> None:
    # SQLite keeps decimals and timestamps as text: the old rows kept their old text ('1.50'), the new rows came
    # as '1.500', and the merge matched none of them (4 rows for 2 keys, exit 0).
    before, after = KEY_WIDENINGS[kind]
    (place.root / "in").mkdir(exist_ok=True)
    store, home = engine.store(place), {"type": "parquet", "path": str(place.root / "in")}
    for keys, version in ((before, "v1"), (after, "v2")):
        pq.write_table(pa.table({"id": keys, "val": [version, version]}), place.root / "in" / "items.parquet")
        result = hygge.move(home, store, "items", root=place.root, run_type="merge", keys=["id"])
        assert result.ok, result.error
    table = landed(place, engine)
    assert table.column("val").to_pylist() == ["v2", "v2"]
    assert table.column("id").cast(after.type).equals(pa.chunked_array([after]))
