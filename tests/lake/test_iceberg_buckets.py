"""Iceberg tables with their warehouse on a bucket, S3 (moto), Azure Blob (Azurite, no hierarchical namespace) and
GCS (fake-gcs-server): a SQLite catalog on this machine, the tables' metadata and data files in the bucket,
reached through hygge's own FileIO (lake/iceberg_io.py) with the same bucket settings as every other Store on a
bucket."""

from __future__ import annotations

import json
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.lake.bucket import iceberg_properties
from hygge.storage.address import parse
from hygge.storage.settings import settings_for
from tests.buckets import Bucket, make_bucket
from tests.helpers import run_hygge, write_project


@pytest.fixture(params=["s3", "azure", "gcs"])
def lake(request: pytest.FixtureRequest) -> Bucket:
    return make_bucket(request.param, request.node.name)


def catalog(tmp: Path, bucket: Bucket, warehouse: str | None = None) -> dict[str, Any]:
    return {"type": "iceberg", "catalog": "sql", "path": str(tmp / "catalog.db"),
            "warehouse": warehouse or bucket.url("warehouse"), "storage": bucket.connection()}


def rows(ids: list[int], version: int) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"item {i} v{version}" for i in ids],
                     "price": pa.array([Decimal(i) / 4 for i in ids], pa.decimal128(10, 2))})


def store_of(tmp: Path, bucket: Bucket, warehouse: str | None = None) -> dict[str, Any]:
    return {"type": "iceberg", "connection": catalog(tmp, bucket, warehouse), "namespace": "shop"}


def move(tmp: Path, bucket: Bucket, table: pa.Table, warehouse: str | None = None, ok: bool = True,
         **kwargs: Any) -> hygge.MoveResult:
    (tmp / "in").mkdir(exist_ok=True)
    pq.write_table(table, tmp / "in" / "items.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, store_of(tmp, bucket, warehouse), "items", root=tmp,
                        retries=0, **kwargs)
    assert result.ok == ok, f"{result.error}\n{result.traceback}"
    return result


def pyiceberg_table(tmp: Path, bucket: Bucket, warehouse: str | None = None) -> Any:
    """The table as pyiceberg's own SQL catalog opens it, with the bucket's FileIO properties."""
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = warehouse or bucket.url("warehouse")
    settings = settings_for(parse(warehouse), bucket.connection(), {})
    return SqlCatalog("inline", uri=f"sqlite:///{tmp / 'catalog.db'}", warehouse=warehouse,
                      **iceberg_properties(settings)).load_table("shop.items")


def test_full_drop_append_and_merge_land_in_a_bucket_warehouse_one_snapshot_each(
        tmp_path: Path, lake: Bucket) -> None:
    move(tmp_path, lake, rows([1, 2, 3], 1))
    move(tmp_path, lake, rows([4], 1), run_type="append")
    merged = move(tmp_path, lake, rows([2, 5], 2), run_type="merge", keys=["id"])
    assert merged.rows_in_target == 5
    table = pyiceberg_table(tmp_path, lake)
    assert table.location().startswith(lake.url("warehouse")), "the table lives in the bucket"
    assert len(table.snapshots()) == 3, "one snapshot per run"
    expected = pa.concat_tables([rows([1], 1), rows([2], 2), rows([3, 4], 1), rows([5], 2)])
    got = table.scan().to_arrow().sort_by("id")
    assert got.column("id").to_pylist() == [1, 2, 3, 4, 5]
    assert got.column("name").to_pylist() == expected.column("name").to_pylist()
    assert got.column("price").to_pylist() == expected.column("price").to_pylist()


def test_the_iceberg_home_reads_a_bucket_warehouse_and_full_drop_replaces(tmp_path: Path, lake: Bucket) -> None:
    expected = rows([1, 2, 3], 1)
    move(tmp_path, lake, expected)
    back = tmp_path / "back"
    home = {"type": "iceberg", "connection": catalog(tmp_path, lake), "namespace": "shop"}
    read = hygge.move(home, {"type": "parquet", "path": str(back)}, "items", root=tmp_path)
    assert read.ok, read.error
    assert pq.read_table(back / "items").sort_by("id").equals(expected), "hygge's iceberg Home reads it exactly"
    assert move(tmp_path, lake, rows([9], 3)).rows_in_target == 1, "full_drop replaces"
    assert pyiceberg_table(tmp_path, lake).scan().to_arrow().column("id").to_pylist() == [9]


def test_incremental_with_a_watermark_and_keys_merges_only_what_is_new(tmp_path: Path, lake: Bucket) -> None:
    def source(versions: dict[int, int]) -> pa.Table:
        return rows(list(versions), 1).set_column(1, "name", pa.array(
            [f"item {i} v{v}" for i, v in versions.items()])).append_column(
            "updated", pa.array(list(versions.values()), pa.int64()))

    settings = {"run_type": "incremental", "watermark": "updated", "keys": ["id"]}
    move(tmp_path, lake, source({1: 1, 2: 1, 3: 1}), **settings)
    newer = source({1: 1, 2: 2, 3: 1, 4: 2})
    assert move(tmp_path, lake, newer, **settings).rows_written == 2, "only rows past the watermark are read"
    again = move(tmp_path, lake, newer, **settings)
    assert again.rows_written == 0 and again.rows_in_target == 4, "a rerun adds nothing"
    table = pyiceberg_table(tmp_path, lake)
    got = table.scan().to_arrow().sort_by("id")
    assert got.column("name").to_pylist() == ["item 1 v1", "item 2 v2", "item 3 v1", "item 4 v2"]


def test_an_abfss_warehouse_url_keeps_its_account_out_of_the_container(tmp_path: Path) -> None:
    """abfss://container@account.dfs.core.windows.net/: pyiceberg's PyArrowFileIO took `container@account` for
    the container (Azurite: InvalidResourceName); the table's locations keep the URL as written."""
    azure = make_bucket("azure", "abfss")
    container = azure.url().split("://", 1)[1].split("/", 1)[0]
    warehouse = f"abfss://{container}@{azure.settings.account_name}.dfs.core.windows.net/{azure.prefix}/warehouse"
    move(tmp_path, azure, rows([1, 2], 1), warehouse=warehouse)
    move(tmp_path, azure, rows([3], 1), warehouse=warehouse, run_type="append")
    table = pyiceberg_table(tmp_path, azure, warehouse)
    assert table.location().startswith(warehouse)
    assert all(f.file.file_path.startswith(warehouse) for f in table.scan().plan_files())
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [1, 2, 3]
    assert [e.key for e in azure.storage().entries("warehouse") if e.key.endswith(".parquet")], \
        "the files are in the container, below the prefix"


def test_a_failed_run_on_a_bucket_warehouse_is_in_the_history(tmp_path: Path, lake: Bucket) -> None:
    from hygge.stores.iceberg import IcebergStore, IcebergStoreConfig

    move(tmp_path, lake, rows([1, 2], 1))
    bad = rows([1, 2, 3], 2).set_column(0, "id", pa.array([None, 1, 2], pa.int64()))
    failed = move(tmp_path, lake, bad, ok=False, run_type="merge", keys=["id"])
    store = IcebergStore(IcebergStoreConfig.model_validate(store_of(tmp_path, lake)), root=tmp_path)
    records = store.history()
    assert [(r.run_type, r.status, r.run_id) for r in records] == [
        ("full_drop", "ok", records[0].run_id), ("merge", "failed", failed.run_id)]
    assert "merge keys must identify every row" in (records[-1].error or "")
    assert [e.key for e in lake.storage().entries("warehouse") if "/_hygge/failed/" in e.key], \
        "the record is kept beside the table, in the bucket"


def test_an_azure_warehouse_without_an_account_key_is_refused_by_name(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from hygge.errors import ConfigError
    from hygge.lake.iceberg_catalog import resolve

    for name in ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(name, raising=False)
    lake = {"type": "iceberg", "catalog": "sql", "path": "catalog.db", "warehouse": "az://lake/warehouse",
            "storage": {"type": "azure", "account_name": "acct", "sas_token": "sv=x"}}
    with pytest.raises(ConfigError, match="needs the account key") as caught:
        resolve("lake", {"lake": lake}, tmp_path)
    assert "account_key" in str(caught.value) and "sv=x" not in str(caught.value)


def project(root: Path, bucket: Bucket) -> None:
    conn = {**catalog(root, bucket), "name": "inline"}  # the catalog name pyiceberg_table opens
    write_project(root, f"""\
        name: ice-kills
        options: {{batch_bytes: 16KiB, retries: 0}}
        connections:
          lake: {json.dumps(conn)}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {{type: iceberg, connection: lake, namespace: shop, target_file_size: 8KiB}}
            entities: [items]
            run_type: incremental
        """)


def part(root: Path, name: str, first: int, count: int) -> None:
    (root / "in" / "items").mkdir(parents=True, exist_ok=True)
    ids = range(first, first + count)
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "v": [f"row {i:08d}" for i in ids]}),
                   root / "in" / "items" / name, row_group_size=1_000)


def orphans(tmp: Path, bucket: Bucket) -> list[str]:
    """Data files in the bucket that no snapshot of the table references."""
    from hygge.lake.iceberg_heal import _referenced

    table = pyiceberg_table(tmp, bucket)
    used = _referenced(table.metadata, table.io)
    files = [f"{bucket.url()}/{e.key}" for e in bucket.storage().entries("warehouse") if "/data/" in e.key]
    return [f for f in files if f not in used]


@pytest.mark.parametrize("point", ["write:5", "before-publish"])
def test_a_killed_run_on_a_bucket_warehouse_leaves_the_last_snapshot_and_the_rerun_heals(
        tmp_path: Path, lake: Bucket, point: str) -> None:
    project(tmp_path, lake)
    part(tmp_path, "a.parquet", 0, 500)
    assert hygge.run(tmp_path).ok
    part(tmp_path, "b.parquet", 500, 6_000)
    killed = run_hygge("go", cwd=tmp_path, env={"HYGGE_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert len(pyiceberg_table(tmp_path, lake).snapshots()) == 1, "nothing of the killed run is visible"
    assert orphans(tmp_path, lake), "the kill left uploaded files behind (else this test tests nothing)"
    rerun = hygge.run(tmp_path)
    assert rerun.ok, rerun.moves[0].error
    table = pyiceberg_table(tmp_path, lake)
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == list(range(6_500)), "exactly once"
    assert len(table.snapshots()) == 2
    assert orphans(tmp_path, lake) == [], "the rerun deleted what the killed run left in the bucket"
