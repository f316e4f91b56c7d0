"""The iceberg Store and Home: run types with their state in one snapshot each, merges, schema changes, reads
at a snapshot or a time and incrementally, catalogs (SQLite and PostgreSQL), and what a person is told.

Tables are read back by pyiceberg and by polars (DuckDB's iceberg extension cannot be installed offline).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.samples import orders
from tests.contract.suite import assert_equal
from tests.helpers import read_target
from tests.iceberg_tables import catalog_config, debris, load, polars_rows, rows, snapshot_count, stored
from tests.test_incremental import CHANGES, final_source


def ends(root: Path, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    conn = catalog_config(root / "lake")
    return ({"type": "iceberg", "connection": conn, "namespace": "shop", **extra},
            {"type": "iceberg", "connection": conn, "namespace": "shop", **extra})


def source(root: Path, table: pa.Table, name: str = "orders") -> dict[str, Any]:
    (root / "in").mkdir(exist_ok=True)
    for old in (root / "in").glob(f"{name}*.parquet"):
        old.unlink()
    pq.write_table(table, root / "in" / f"{name}.parquet")
    return {"type": "parquet", "path": "in"}


def moved(home: dict[str, Any], store: dict[str, Any], entity: str, root: Path, **kwargs: Any) -> hygge.MoveResult:
    result = hygge.move(home, store, entity, root=root, **kwargs)
    assert result.ok, f"{result.error}\n{result.traceback}"
    return result


def back(root: Path, home: dict[str, Any], entity: str, sort_by: str, **kwargs: Any) -> pa.Table:
    out = root / f"back-{entity}"
    moved(home, {"type": "parquet", "path": str(out)}, entity, root, **kwargs)
    return read_target(out / entity).sort_by(sort_by)


def test_each_run_type_is_one_snapshot_carrying_its_state_and_other_engines_read_it_exactly(tmp_path: Path) -> None:
    home, store = ends(tmp_path)
    first = orders(1_000)
    runs = [
        ("full_drop", first, first, "append"),
        ("append", orders(1_500).slice(1_000), orders(1_500), "append"),
        ("full_drop", orders(300), orders(300), "overwrite"),
    ]
    for number, (run_type, rows_in, expected, operation) in enumerate(runs, start=1):
        result = moved(source(tmp_path, rows_in), store, "orders", tmp_path, run_type=run_type)
        table = load(tmp_path / "lake", "shop.orders")
        assert snapshot_count(table) == number, "one snapshot per run"
        summary = table.current_snapshot().summary
        assert summary.operation.value == operation
        assert summary["hygge.key"] == "api.orders" and summary["hygge.run-id"] == result.run_id
        state = json.loads(summary["hygge.state"])
        assert state["last_run"]["run_id"] == result.run_id and state["last_run"]["rows_written"] == rows_in.num_rows
        assert result.rows_in_target == expected.num_rows == int(summary["total-records"])
        assert rows(table, "order_id").equals(stored(expected)), "pyiceberg reads the stored types exactly"
        import polars as pl

        assert polars_rows(table, "order_id").equals(pl.from_arrow(stored(expected)))
        assert_equal(back(tmp_path, home, "orders", "order_id"), expected)  # hygge's Home: the exact Arrow types
    assert debris(load(tmp_path / "lake", "shop.orders")) == []


def test_entities_moved_at_once_into_a_new_catalog_and_namespace(tmp_path: Path) -> None:
    """Moves of one flow start together: they race to create the catalog's tables and the namespace."""
    from hygge.samples import write_sample_source
    from tests.helpers import write_project

    write_sample_source(tmp_path / "data")
    conn = catalog_config(tmp_path / "lake")
    write_project(tmp_path, f"""\
        name: race
        options: {{concurrency: 4}}
        connections:
          lake: {{type: iceberg, catalog: sql, path: "{conn['path']}", warehouse: "{conn['warehouse']}"}}
        """, flows={"f": """\
        home: {type: parquet, path: data}
        store: {type: iceberg, connection: lake, namespace: shop}
        entities: [users, orders, {name: again, source: users}]
        """})
    result = hygge.run(tmp_path)
    assert result.ok, [m.error for m in result.moves if not m.ok]
    assert sorted(load(tmp_path / "lake", f"shop.{n}", name="lake").current_snapshot().summary["total-records"]
                  for n in ("users", "orders", "again")) == ["1000", "1000", "5000"]


def test_merge_takes_the_latest_watermark_then_the_newest_arrival_and_deletes(tmp_path: Path) -> None:
    home, store = ends(tmp_path)
    at = datetime(2024, 5, 1, tzinfo=timezone.utc)

    def batch(ids: list[int], names: list[str], minutes: list[int], gone: list[bool]) -> pa.Table:
        times = pa.array([at + timedelta(minutes=m) for m in minutes], pa.timestamp("us", "UTC"))
        return pa.table({"id": pa.array(ids, pa.int64()), "name": names, "updated_at": times, "gone": gone})

    moved(source(tmp_path, batch([1, 2, 3, 4], ["a", "b", "c", "d"], [0, 0, 0, 0], [False] * 4), "items"),
          store, "items", tmp_path, run_type="merge", keys=["id"])
    changes = batch([2, 2, 3, 3, 4, 5, 6], ["b-late", "b-old", "c-1", "c-2", "d", "e", "f"], [9, 5, 7, 7, 8, 1, 1],
                    [False, False, False, False, True, False, True])
    moved(source(tmp_path, changes, "items"), store, "items", tmp_path, run_type="merge", keys=["id"],
          watermark="updated_at", delete_column="gone")
    table = load(tmp_path / "lake", "shop.items")
    assert snapshot_count(table) == 2 and table.current_snapshot().summary.operation.value == "overwrite"
    landed = {r["id"]: r["name"] for r in back(tmp_path, home, "items", "id").to_pylist()}
    assert landed == {1: "a", 2: "b-late", 3: "c-2", 5: "e"}, "4 and 6 are deleted; ties go to the later arrival"
    assert debris(table) == []


def test_incremental_runs_equal_one_full_load_and_a_run_with_nothing_new_changes_nothing(tmp_path: Path) -> None:
    home, store = ends(tmp_path)
    (tmp_path / "changes").mkdir()
    settings = {"run_type": "incremental", "keys": ["id"], "watermark": "updated_at", "lookback": "3h",
                "source": "*.parquet"}
    for number, change in enumerate(CHANGES):
        pq.write_table(change, tmp_path / "changes" / f"change-{number}.parquet")
        moved({"type": "parquet", "path": "changes"}, store, "items", tmp_path, **settings)
    quiet = moved({"type": "parquet", "path": "changes"}, store, "items", tmp_path, **settings)
    assert quiet.rows_read == 0 and quiet.rows_in_target == final_source(CHANGES).num_rows
    assert back(tmp_path, home, "items", "id").equals(final_source(CHANGES))
    state = json.loads(load(tmp_path / "lake", "shop.items").current_snapshot().summary["hygge.state"])
    latest = pc.max(final_source(CHANGES).column("updated_at")).cast(pa.int64()).as_py()
    assert state["watermark"]["value"] == latest, "the watermark committed in the snapshot is the newest change"


def test_the_home_reads_at_a_snapshot_at_a_time_and_what_was_appended_since_the_last_run(tmp_path: Path) -> None:
    home, store = ends(tmp_path)
    moved(source(tmp_path, orders(100)), store, "orders", tmp_path)
    moved(source(tmp_path, orders(150).slice(100)), store, "orders", tmp_path, run_type="append")
    table = load(tmp_path / "lake", "shop.orders")
    first, second = table.snapshots()
    assert back(tmp_path, {**home, "as_of": first.snapshot_id}, "orders", "order_id").num_rows == 100
    between = datetime.fromtimestamp((first.timestamp_ms + second.timestamp_ms) / 2000, timezone.utc)
    if between.timestamp() * 1000 < second.timestamp_ms:
        assert back(tmp_path, {**home, "as_of": between.isoformat()}, "orders", "order_id").num_rows == 100
    missing = hygge.move({**home, "as_of": 12345}, {"type": "parquet", "path": "x"}, "orders", root=tmp_path)
    assert missing.status == "failed" and "the table has no such snapshot" in str(missing.error)
    assert str(second.snapshot_id) in str(missing.error), "the message lists the snapshots there are"

    out = {"type": "parquet", "path": "copy"}
    assert moved(home, out, "orders", tmp_path, run_type="incremental").rows_written == 150
    moved(source(tmp_path, orders(175).slice(150)), store, "orders", tmp_path, run_type="append")
    again = moved(home, out, "orders", tmp_path, run_type="incremental")
    assert again.rows_written == 25 and again.rows_in_target == 175
    assert read_target(tmp_path / "copy" / "orders").sort_by("order_id").equals(orders(175))

    by_watermark = {"type": "parquet", "path": "by-watermark"}
    moved(home, by_watermark, "orders", tmp_path, run_type="incremental", watermark="order_id")
    moved(source(tmp_path, orders(50)), store, "orders", tmp_path)  # an overwrite: appends alone would miss it
    refused = hygge.move(home, out, "orders", root=tmp_path, run_type="incremental")
    assert refused.status == "failed" and "overwritten or deleted since the last incremental run" in str(refused.error)
    assert "--full-drop" in str(refused.error)
    again = moved(home, by_watermark, "orders", tmp_path, run_type="incremental", watermark="order_id")
    assert again.rows_read == 0 and any("filtered by the watermark" in w for w in again.warnings)


def test_schema_changes_map_to_iceberg_schema_evolution(tmp_path: Path) -> None:
    home, store = ends(tmp_path)
    base = orders(10).select(["order_id", "quantity", "status"])
    moved(source(tmp_path, base), store, "orders", tmp_path)
    wider = base.set_column(1, "quantity", base.column("quantity").cast(pa.int64())).append_column(
        "note", pa.array([f"n{i}" for i in range(10)]))
    moved(source(tmp_path, wider), store, "orders", tmp_path, run_type="append")
    table = load(tmp_path / "lake", "shop.orders")
    assert [str(f.field_type) for f in table.schema().fields] == ["long", "long", "string", "string"]
    landed = back(tmp_path, home, "orders", "order_id")
    assert landed.schema.field("quantity").type == pa.int64() and landed.column("note").null_count == 10
    # A full_drop replaces the columns too, even where Iceberg could not change one in place.
    retyped = base.set_column(1, "quantity", pc.cast(base.column("quantity"), pa.string()))
    moved(source(tmp_path, retyped), store, "orders", tmp_path)
    assert_equal(back(tmp_path, home, "orders", "order_id"), retyped)
    # A widening Arrow allows and Iceberg cannot do in place (long -> decimal) is refused before anything is written.
    widened = base.set_column(1, "quantity", base.column("quantity").cast(pa.decimal128(24, 2)))
    moved(source(tmp_path, base.set_column(1, "quantity", base.column("quantity").cast(pa.int64()))), store,
          "orders", tmp_path)
    refused = hygge.move(source(tmp_path, widened), store, "orders", root=tmp_path, run_type="append")
    assert refused.status == "failed" and "Iceberg cannot change these columns in place" in str(refused.error)
    assert "quantity: long -> decimal(24, 2)" in str(refused.error)
    assert snapshot_count(load(tmp_path / "lake", "shop.orders")) == 4


@pytest.mark.postgres
def test_a_postgresql_catalog(tmp_path: Path) -> None:
    from tests.services import POSTGRES_URL, postgres_place, postgres_sql

    for place in postgres_place(tmp_path, "iceberg_catalog"):
        postgres_sql(f'CREATE SCHEMA "{place.name}"')
        conn = {"type": "iceberg", "catalog": "sql", "uri": f"{POSTGRES_URL}?options=-csearch_path%3D{place.name}",
                "warehouse": str(tmp_path / "warehouse")}
        store = {"type": "iceberg", "connection": conn, "namespace": "shop"}
        moved(source(tmp_path, orders(500)), store, "orders", tmp_path)
        changed = orders(600).slice(400).set_column(5, "status", pa.array(["changed"] * 200))
        result = moved(source(tmp_path, changed), store, "orders", tmp_path, run_type="merge", keys=["order_id"])
        assert result.rows_in_target == 600
        registered = postgres_sql(f'SELECT table_namespace, table_name FROM "{place.name}".iceberg_tables')
        assert registered == [("shop", "orders")], "the catalog lives in the test's own schema"
        expected = pa.concat_tables([orders(400), changed])
        assert_equal(back(tmp_path, store, "orders", "order_id"), expected)


def test_catalog_settings_are_checked_and_secrets_never_shown(tmp_path: Path) -> None:
    from hygge.errors import ConfigError
    from hygge.lake.iceberg_catalog import resolve

    def problems(raw: dict[str, Any]) -> str:
        with pytest.raises(ConfigError) as caught:
            resolve("lake", {"lake": raw}, tmp_path)
        return str(caught.value)

    assert "a rest catalog needs `uri:`" in problems({"type": "iceberg", "catalog": "rest", "token": "t0ken"})
    assert "either `token:` or `credential:`" in problems(
        {"type": "iceberg", "catalog": "rest", "uri": "https://cat", "token": "t0ken", "credential": "id:s3cret"})
    assert "token belong(s) to a rest catalog" in problems(
        {"type": "iceberg", "path": "c.db", "warehouse": "w", "token": "t0ken"})
    assert "a glue catalog has no `uri:`" in problems({"type": "iceberg", "catalog": "glue", "uri": "x"})
    typo = problems({"type": "iceberg", "path": "c.db", "warehous": "w"})
    assert "did you mean 'warehouse'" in typo
    shown = problems({"type": "iceberg", "catalog": "rest", "uri": "https://cat", "token": 12345})
    assert "12345" not in shown and "connections.lake.token" in shown
    rest = resolve("lake", {"lake": {"type": "iceberg", "catalog": "rest", "uri": "https://cat.example/api",
                                     "warehouse": "prod", "credential": "id:s3cret"}}, tmp_path)
    assert "s3cret" not in rest.display() and rest.properties()["credential"] == "id:s3cret"
    assert rest.properties()["warehouse"] == "prod", "a rest warehouse is a name the server knows"
    # A catalog that cannot be reached is reported without its password.
    unreachable = {"type": "iceberg", "connection": {"type": "iceberg", "uri": "postgresql://hygge:s3cret@127.0.0.1:9/x",
                                                     "warehouse": "w"}}
    failed = hygge.move(source(tmp_path, orders(3)), unreachable, "orders", root=tmp_path)
    assert failed.status == "failed" and "cannot open the iceberg catalog" in str(failed.error)
    assert "s3cret" not in str(failed.error) and "s3cret" not in (failed.traceback or "")


def test_without_pyiceberg_the_registry_names_the_extra() -> None:
    code = ("import sys; sys.modules['pyiceberg'] = None\n"
            "from hygge.core import registry\n"
            "try:\n    registry.load('store', 'iceberg')\nexcept Exception as exc:\n    print(exc.hint)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == 'pip install "hygge[iceberg]"'


def test_history_comes_from_the_snapshots_and_failed_runs_are_kept_beside_the_table(tmp_path: Path) -> None:
    from hygge.stores.iceberg import IcebergStore, IcebergStoreConfig

    _, store = ends(tmp_path)
    moved(source(tmp_path, orders(20)), store, "orders", tmp_path)
    moved(source(tmp_path, orders(30).slice(20)), store, "orders", tmp_path, run_type="append")
    bad = orders(5).set_column(0, "order_id", pa.array([None, 1, 2, 3, 4], pa.int64()))
    failed = hygge.move(source(tmp_path, bad), store, "orders", root=tmp_path, run_type="merge", keys=["order_id"])
    assert failed.status == "failed"
    records = IcebergStore(IcebergStoreConfig.model_validate(store), root=tmp_path).history()
    assert [(r.run_type, r.status, r.rows_in_target) for r in records] == [
        ("full_drop", "ok", 20), ("append", "ok", 30), ("merge", "failed", None)]
    assert "merge keys must identify every row" in (records[-1].error or "")
    assert snapshot_count(load(tmp_path / "lake", "shop.orders")) == 2
    # `hygge reset`: a snapshot without data whose state forgets; it is no run of its own in the history.
    from hygge.core.plan import MovePlan

    plan = MovePlan(flow="api", entity="orders", source="orders", target="orders", home={}, store=store,
                    run_type="incremental", root=str(tmp_path))
    moved(source(tmp_path, orders(40).slice(30)), store, "orders", tmp_path, run_type="incremental",
          watermark="order_id")
    fresh = IcebergStore(IcebergStoreConfig.model_validate(store), root=tmp_path)
    assert fresh.state(plan).watermark is not None and fresh.forget(plan)
    assert fresh.state(plan).watermark is None and len(fresh.history()) == 4


def test_a_partitioned_table_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import IdentityTransform

    from tests.iceberg_tables import open_catalog

    _, store = ends(tmp_path)
    moved(source(tmp_path, orders(5)), store, "orders", tmp_path)
    catalog = open_catalog(tmp_path / "lake")
    schema = catalog.load_table("shop.orders").schema()
    spec = PartitionSpec(PartitionField(source_id=schema.find_field("status").field_id, field_id=1000,
                                        transform=IdentityTransform(), name="status"))
    catalog.create_table("shop.parted", schema=schema, partition_spec=spec)
    result = hygge.move(source(tmp_path, orders(5)), store, "parted", root=tmp_path, source="orders",
                        run_type="append")
    assert result.status == "failed" and "this one is partitioned" in str(result.error)
    assert catalog.load_table("shop.parted").current_snapshot() is None


def test_types_iceberg_lacks_are_kept_exactly_or_refused_by_name(tmp_path: Path) -> None:
    from decimal import Decimal

    home, store = ends(tmp_path)
    day = 86_400_000
    table = pa.table({
        "id": pa.array([1, 2, None], pa.int64()),
        "u64": pa.array([2**64 - 1, 0, None], pa.uint64()),
        "i8": pa.array([-128, 127, None], pa.int8()),
        "f16": pa.array([1.5, -2.0, None], pa.float16()),
        "stockholm": pa.array([1_700_000_000_123, 0, None], pa.timestamp("ms", "Europe/Stockholm")),
        "offset": pa.array([1_700_000_000_123_456, 0, None], pa.timestamp("us", "+05:30")),
        "wait": pa.array([1, -(2**62), None], pa.duration("ns")),
        "clock_s": pa.array([0, 86_399, None], pa.time32("s")),
        "d64": pa.array([0, 19_000 * day, None], pa.date64()),
        "kind": pa.array(["a", "b", None]).dictionary_encode(),
        "triple": pa.array([[1, 2, 3], [4, 5, 6], None], pa.list_(pa.int16(), 3)),
        "point": pa.array([{"x": 1, "tag": "p"}, None, {"x": None, "tag": ""}],
                          pa.struct([("x", pa.uint32()), ("tag", pa.string())])),
        "attrs": pa.array([[("k", 1)], [], None], pa.map_(pa.string(), pa.int8())),
        "wide": pa.array([Decimal("1.5"), None, Decimal("-0.5")], pa.decimal256(30, 2)),
    })
    moved(source(tmp_path, table, "types"), store, "types", tmp_path)
    expected = pq.read_table(tmp_path / "in" / "types.parquet")  # what the parquet home hands over
    landed = back(tmp_path, home, "types", "id")
    assert landed.schema.equals(expected.schema), f"{landed.schema}\n---\n{expected.schema}"
    assert landed.equals(expected.sort_by("id")), "every value, exactly"
    stored_types = {f.name: str(f.field_type) for f in load(tmp_path / "lake", "shop.types").schema().fields}
    assert stored_types["u64"] == "decimal(20, 0)" and stored_types["wait"] == "long"
    assert stored_types["stockholm"] == "timestamptz" and stored_types["d64"] == "date"

    refused = pa.table({"id": pa.array([1], pa.int64()), "huge": pa.array([Decimal(1)], pa.decimal256(40, 0)),
                        "nanos": pa.array([1], pa.time64("ns")), "nothing": pa.nulls(1)})
    result = hygge.move(source(tmp_path, refused, "refused"), store, "refused", root=tmp_path)
    assert result.status == "failed", "Iceberg v2 holds none of these"
    for phrase in ("huge (decimal(40,0)): Iceberg decimals hold at most 38 digits",
                   "nanos (time64[ns]): Iceberg keeps times of day in microseconds",
                   "nothing (null): Iceberg v2 has no null type"):
        assert phrase in str(result.error)
    from pyiceberg.exceptions import NoSuchTableError

    with pytest.raises(NoSuchTableError):
        load(tmp_path / "lake", "shop.refused")
