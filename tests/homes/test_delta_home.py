"""Home `delta`: latest version, `as_of`, and incremental runs by table version (change data feed or added files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

import hygge
from hygge.core.plan import MovePlan
from hygge.homes.delta import DeltaHome
from tests.helpers import read_target


def rows(ids: list[int], version: int) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"item {i} v{version}" for i in ids]})


def to_parquet(tmp: Path, home: dict[str, Any], **kwargs: Any) -> hygge.MoveResult:
    result = hygge.move({"type": "delta", "path": "lake", **home}, {"type": "parquet", "path": "out"}, "items",
                        root=tmp, **kwargs)
    assert result.ok, f"{result.error}\n{result.traceback}"
    return result


def test_as_of_reads_a_version_number_or_the_version_current_at_a_time(tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "items"
    import time

    write_deltalake(folder, rows([1], 0))
    write_deltalake(folder, rows([2], 1), mode="append")
    time.sleep(0.2)  # versions 1 and 2 apart, so that a moment between them is the time of version 1 alone
    write_deltalake(folder, rows([3], 2), mode="append")
    at = {h["version"]: h["timestamp"] for h in DeltaTable(folder).history()}
    for as_of, expected in ((0, [1]), (1, [1, 2]), (None, [1, 2, 3])):
        to_parquet(tmp_path, {"as_of": as_of} if as_of is not None else {})
        assert sorted(read_target(tmp_path / "out" / "items").column("id").to_pylist()) == expected
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp((at[1] + at[2]) / 2000, tz=timezone.utc).isoformat()
    result = to_parquet(tmp_path, {"as_of": moment})
    assert result.source.endswith("version 1") and result.rows_read == 2


def test_incremental_runs_read_only_the_versions_since_the_last_run(tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "items"
    write_deltalake(folder, rows([1, 2], 1))
    first = to_parquet(tmp_path, {}, run_type="incremental")
    assert first.rows_read == 2
    write_deltalake(folder, rows([3], 1), mode="append")
    write_deltalake(folder, rows([4, 5], 1), mode="append")
    second = to_parquet(tmp_path, {}, run_type="incremental")
    assert second.rows_read == 3 and second.source.endswith("versions 1..2")
    assert to_parquet(tmp_path, {}, run_type="incremental").rows_read == 0
    target = read_target(tmp_path / "out" / "items").sort_by("id")
    assert target.equals(DeltaTable(folder).to_pyarrow_table().sort_by("id"))
    DeltaTable(folder).delete("id = 1")  # a rewrite: without the change data feed only added rows are seen
    noted = to_parquet(tmp_path, {}, run_type="incremental")
    assert any("removed rows" in w for w in noted.warnings)


@pytest.mark.parametrize("feed", [True, False], ids=["change-data-feed", "added-and-removed-files"])
def test_updates_and_deletes_reach_a_merge_store_exactly(tmp_path: Path, feed: bool) -> None:
    folder = tmp_path / "lake" / "items"
    write_deltalake(folder, rows([1, 2, 3, 4], 1),
                    configuration={"delta.enableChangeDataFeed": "true"} if feed else None)
    home = {"type": "delta", "path": "lake", "deleted_column": "_gone"}
    store = {"type": "delta", "path": "copy"}
    options = {"run_type": "incremental", "keys": ["id"], "delete_column": "_gone"}

    def sync_and_compare() -> None:
        result = hygge.move(home, store, "items", root=tmp_path, **options)
        assert result.ok, f"{result.error}\n{result.traceback}"
        mirrored = DeltaTable(tmp_path / "copy" / "items").to_pyarrow_table().drop_columns(["_gone"])
        assert mirrored.sort_by("id").equals(DeltaTable(folder).to_pyarrow_table().sort_by("id"))

    sync_and_compare()
    table = DeltaTable(folder)
    (table.merge(rows([2, 5], 2), "s.id = t.id", source_alias="s", target_alias="t")
     .when_matched_update_all().when_not_matched_insert_all().execute())
    sync_and_compare()
    DeltaTable(folder).delete("id = 3")
    write_deltalake(folder, rows([6], 3), mode="append")
    sync_and_compare()
    if feed:
        assert list((folder / "_change_data").iterdir()), "the updates were read from the table's change files"


def test_batches_stay_within_the_byte_budget(tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "items"
    big = pa.table({"id": pa.array(range(20_000), pa.int64()), "text": [f"value {i:>40}" for i in range(20_000)]})
    write_deltalake(folder, big)
    plan = MovePlan(flow="f", entity="items", source="items", target="items", home={}, store={}, run_type="full_drop",
                    root=str(tmp_path), batch_bytes=64 * 1024)
    source = DeltaHome(DeltaHome.Config(type="delta", path="lake"), root=tmp_path).open(plan)
    sizes = [batch.nbytes for batch in source.batches()]
    assert len(sizes) > 10 and max(sizes) <= 1.5 * 64 * 1024 and source.estimated_rows == 20_000


def test_a_missing_table_names_the_tables_there(tmp_path: Path) -> None:
    write_deltalake(tmp_path / "lake" / "orders", rows([1], 1))
    result = hygge.move({"type": "delta", "path": "lake"}, {"type": "parquet", "path": "out"}, "order", root=tmp_path)
    assert result.status == "failed" and "the source table does not exist" in str(result.error)
    assert "did you mean 'orders'?" in str(result.error)
