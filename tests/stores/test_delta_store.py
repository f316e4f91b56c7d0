"""Store `delta`: one commit per run holding rows, state and run record; read back by other engines exactly."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

import hygge
from hygge.lake.heal import Intent, heal, record_intent
from hygge.lake.location import table_location
from hygge.lake.log import app_id, commit_properties
from hygge.lake.table import guarded
from hygge.state.journal import EntityState
from tests.helpers import read_target

STORE = {"type": "delta", "path": "lake"}


def rows(ids: list[int], version: int, deleted: list[bool | None] | None = None) -> pa.Table:
    table = pa.table({
        "id": pa.array(ids, pa.int64()),
        "name": [f"item {i} v{version}" for i in ids],
        "price": pa.array([Decimal(i) / 4 for i in ids], pa.decimal128(10, 2)),
        "day": pa.array([date(2024, 1, 1 + i % 28) for i in ids], pa.date32()),
    })
    if deleted is not None:
        table = table.append_column("gone", pa.array(deleted, pa.bool_()))
    return table


def move(tmp: Path, table: pa.Table, store: dict[str, Any] | None = None, **kwargs: Any) -> hygge.MoveResult:
    (tmp / "in").mkdir(exist_ok=True)
    pq.write_table(table, tmp / "in" / "items.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, store or STORE, "items", root=tmp, **kwargs)
    assert result.ok, f"{result.error}\n{result.traceback}"
    return result


def polars_rows(folder: Path) -> pa.Table:
    """The table as polars' own Delta reader gives it (not hygge's Home)."""
    return pl.read_delta(str(folder)).sort("id").to_arrow()


def test_every_run_is_one_version_read_back_exactly_by_polars_and_deltalake(tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "items"
    first = move(tmp_path, rows([1, 2, 3], 1))
    assert first.rows_in_target == 3 and DeltaTable(folder).version() == 0
    move(tmp_path, rows([4], 1), run_type="append")
    merged = move(tmp_path, rows([2, 5], 2), run_type="merge", keys=["id"])
    assert merged.rows_in_target == 5
    assert DeltaTable(folder).version() == 2, "one table version per run"
    expected = pa.concat_tables([rows([1], 1), rows([2], 2), rows([3, 4], 1), rows([5], 2)])
    theirs = polars_rows(folder)
    assert theirs.column_names == expected.column_names
    assert [theirs.column(n).to_pylist() for n in theirs.column_names] == [
        expected.column(n).to_pylist() for n in expected.column_names]
    ours = DeltaTable(folder).to_pyarrow_table().sort_by("id")
    assert ours.schema == expected.schema and ours.equals(expected), "delta-rs reads the same rows and types"
    assert move(tmp_path, rows([9], 3)).rows_in_target == 1  # full_drop replaces, still one version
    assert DeltaTable(folder).version() == 3 and polars_rows(folder).column("id").to_pylist() == [9]


def test_state_and_run_record_are_committed_in_the_same_log_entry_as_the_rows(tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "items"
    for number in range(3):
        result = move(tmp_path, rows([number], 1), run_type="incremental")
    entry = [json.loads(line) for line in (folder / "_delta_log" / f"{2:020d}.json").read_text().splitlines()]
    info = next(a["commitInfo"] for a in entry if "commitInfo" in a)["hygge"]
    txn = next(a["txn"] for a in entry if "txn" in a)
    adds = [a["add"] for a in entry if "add" in a]
    assert txn == {"appId": app_id("api", "items"), "version": 3}, "the counter grows by one per committed run"
    assert info["counter"] == 3 and info["run"]["run_id"] == result.run_id and len(adds) == 1
    assert info["state"]["loaded_files"] == {"in/items.parquet": info["state"]["loaded_files"]["in/items.parquet"]}
    assert info["run"]["rows_in_target"] == result.rows_in_target == 3
    assert DeltaTable(folder).transaction_version(app_id("api", "items")) == 3


def test_a_retried_commit_of_the_same_run_is_a_no_op(tmp_path: Path) -> None:
    move(tmp_path, rows([1], 1))
    location = table_location(tmp_path, "lake", "items")
    app = app_id("api", "items")
    stale, schema = DeltaTable(location.uri), DeltaTable(location.uri).schema()
    props = commit_properties(app, 2, None, EntityState())
    guarded(lambda: DeltaTable(location.uri).create_write_transaction([], "append", schema, commit_properties=props),
            location, app, 2, "items")
    assert DeltaTable(location.uri).version() == 1
    # The same commit again, from the version the run read: it lands nowhere and is no error.
    assert guarded(lambda: stale.create_write_transaction([], "append", schema, commit_properties=props),
                   location, app, 2, "items") is None
    assert DeltaTable(location.uri).version() == 1


def test_new_columns_are_added_and_widened_columns_rewritten_exactly(tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "items"
    move(tmp_path, pa.table({"id": pa.array([1, 2], pa.int64()), "n": pa.array([1, 2], pa.int32())}))
    added = move(tmp_path, pa.table({"id": pa.array([3], pa.int64()), "n": pa.array([3], pa.int32()), "tag": ["x"]}),
                 run_type="append")
    assert any("new column tag" in w for w in added.warnings)
    assert [h["operation"] for h in DeltaTable(folder).history()][:2] == ["WRITE", "ADD COLUMN"]
    widened = pa.table({"id": pa.array([4], pa.int64()), "n": pa.array([2**40], pa.int64()), "tag": ["y"]})
    assert move(tmp_path, widened, run_type="append").rows_in_target == 4
    back = polars_rows(folder)
    assert back.schema.field("n").type == pa.int64()
    assert back.column("n").to_pylist() == [1, 2, 3, 2**40] and back.column("tag").to_pylist() == [None, None, "x", "y"]
    before = DeltaTable(folder).version()
    lossy = pa.table({"id": pa.array([5], pa.int64()), "n": pa.array([1.5], pa.float64()), "tag": ["z"]})
    (tmp_path / "in" / "items.parquet").unlink()
    pq.write_table(lossy, tmp_path / "in" / "items.parquet")
    refused = hygge.move({"type": "parquet", "path": "in"}, STORE, "items", root=tmp_path, run_type="append")
    assert refused.status == "failed" and "n: int64 -> float64 (could lose values)" in str(refused.error)
    assert DeltaTable(folder).version() == before, "a refused run commits nothing"


def test_a_merge_widens_and_adds_columns_then_merges(tmp_path: Path) -> None:
    merge = {"run_type": "merge", "keys": ["id"], "delete_column": "d"}
    move(tmp_path, pa.table({"id": pa.array([1, 2, 2], pa.int64()), "v": pa.array([1, 2, 3], pa.int32()),
                             "d": [False, False, True]}), **merge)
    move(tmp_path, pa.table({"id": pa.array([3], pa.int64()), "v": pa.array([2**40], pa.int64()), "d": [False]}),
         **merge)
    last = move(tmp_path, pa.table({"id": pa.array([1], pa.int64()), "v": pa.array([7], pa.int64()), "d": [False],
                                    "x": ["new"]}), **merge)
    assert last.rows_in_target == 2
    table = DeltaTable(tmp_path / "lake" / "items")
    assert [h["operation"] for h in table.history()] == ["MERGE", "ADD COLUMN", "MERGE", "WRITE", "CREATE TABLE"]
    assert table.to_pyarrow_table().sort_by("id").to_pylist() == [
        {"id": 1, "v": 7, "d": False, "x": "new"}, {"id": 3, "v": 2**40, "d": False, "x": None}]


def test_partitioned_tables_keep_awkward_partition_values(tmp_path: Path) -> None:
    table = pa.table({"id": pa.array([1, 2, 3, 4], pa.int64()), "region": ["a b/c:d%e=f", None, "ü東", "plain"],
                      "day": pa.array([date(2024, 1, d) for d in (1, 1, 2, 2)], pa.date32())})
    store = {"type": "delta", "path": "lake", "partition_by": ["region", "day"]}
    move(tmp_path, table, store)
    move(tmp_path, table.slice(3), store, run_type="append")
    folder = tmp_path / "lake" / "items"
    assert DeltaTable(folder).metadata().partition_columns == ["region", "day"]
    assert (folder / "region=plain" / "day=2024-01-02").is_dir()
    expected = pa.concat_tables([table, table.slice(3)]).sort_by("id")
    theirs = pl.read_delta(str(folder)).select(["id", "region", "day"]).sort("id").to_arrow()
    assert theirs.column("region").to_pylist() == expected.column("region").to_pylist()
    assert theirs.column("day").to_pylist() == expected.column("day").to_pylist()
    assert hygge.move({"type": "delta", "path": "lake"}, {"type": "parquet", "path": "back"}, "items",
                      root=tmp_path).ok
    assert read_target(tmp_path / "back" / "items").sort_by("id").equals(expected)


def test_a_sequence_of_merges_with_deletes_equals_a_clean_full_load(tmp_path: Path) -> None:
    merge = {"run_type": "merge", "keys": ["id"], "delete_column": "gone"}
    changes = [rows([1, 2, 3, 4], 1, [False] * 4), rows([2, 5, 3], 2, [False, None, True]),
               rows([4, 3, 6], 3, [True, False, False]), rows([7], 4, [True])]
    latest: dict[int, dict[str, Any]] = {}
    for change in changes:
        move(tmp_path, change, **merge)
        for row in change.to_pylist():
            if row["gone"]:
                latest.pop(row["id"], None)
            else:
                latest[row["id"]] = row
        expected = pa.Table.from_pylist([latest[k] for k in sorted(latest)], schema=changes[0].schema)
        assert DeltaTable(tmp_path / "lake" / "items").to_pyarrow_table().sort_by("id").equals(expected)
        assert polars_rows(tmp_path / "lake" / "items").to_pylist() == expected.to_pylist()
    assert DeltaTable(tmp_path / "lake" / "items").version() == len(changes) - 1


def test_optimize_and_vacuum_run_after_a_successful_run_when_asked(tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "items"
    move(tmp_path, rows([1], 1))
    for number in range(2, 5):
        move(tmp_path, rows([number], 1), run_type="append")
    store = {**STORE, "optimize": True, "vacuum": {"retention_hours": 0, "enforce_retention_duration": False}}
    result = move(tmp_path, rows([5], 1), store, run_type="append")
    assert result.rows_in_target == 5
    operations = [h["operation"] for h in DeltaTable(folder).history()]
    assert operations[:4] == ["VACUUM END", "VACUUM START", "OPTIMIZE", "WRITE"]
    assert len(DeltaTable(folder).file_uris()) == 1
    assert len(list(folder.glob("*.parquet"))) == 1, "vacuum removed the files compaction replaced"
    assert polars_rows(folder).column("id").to_pylist() == [1, 2, 3, 4, 5]


def test_healing_removes_what_a_killed_merge_wrote_and_keeps_every_version_readable(tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "items"
    move(tmp_path, rows([1, 2], 1))
    move(tmp_path, rows([3], 1), run_type="append")
    table = DeltaTable(folder)
    # A merge killed inside delta-rs: its files are named by delta-rs, not by the run; an uncommitted run's own.
    record_intent(folder, Intent("20240101T000000-dead0000", app_id("api", "items"), table.version(), 0.0, 0.0))
    orphans = [folder / "part-00001-0b5e0000-c000.snappy.parquet",
               folder / "part-00000-hygge-20240101T000000-dead0000-c000.snappy.parquet"]
    for orphan in orphans:
        pq.write_table(rows([99], 9), orphan)
    # A schema commit the dead run made before its data commit failed: its file is the table's now.
    kept = "part-00000-hygge-20240101T000000-dead0000-rewrite-c000.snappy.parquet"
    pq.write_table(rows([1, 2, 3], 1), folder / kept)
    from deltalake.transaction import AddAction

    add = AddAction(kept, (folder / kept).stat().st_size, {}, 0, True, '{"numRecords": 3}')
    table.create_write_transaction([add], "overwrite", table.schema())
    notes = heal(folder, DeltaTable(folder), "20250101T000000-live0000")
    assert notes == ["removed 2 file(s) of run 20240101T000000-dead0000, which did not commit"]
    assert not any(p.exists() for p in orphans) and (folder / kept).exists()
    for version, expected in ((0, [1, 2]), (1, [1, 2, 3])):
        old = DeltaTable(folder, version=version).to_pyarrow_table()
        assert sorted(old.column("id").to_pylist()) == expected, "time travel still finds every file"


def test_a_killed_write_leaves_unreferenced_files_that_the_next_run_removes(tmp_path: Path) -> None:
    from tests.helpers import run_hygge, write_project

    root = write_project(tmp_path / "proj", "name: k\noptions: {batch_bytes: 1KiB, retries: 0}\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: delta, path: lake, target_file_size: 2KiB}
        entities: [items]
        """})
    (root / "in").mkdir()
    pq.write_table(rows(list(range(50)), 1), root / "in" / "items.parquet")
    assert hygge.run(root).ok
    folder = root / "lake" / "items"
    pq.write_table(rows(list(range(2000)), 2), root / "in" / "items.parquet")
    assert run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": "write:20"}).returncode == -9
    referenced = {Path(u).name for u in DeltaTable(folder).file_uris()}
    left = {p.name for p in folder.glob("*.parquet")} - referenced
    assert left, "the killed run left staged files behind"
    assert DeltaTable(folder).version() == 0 and polars_rows(folder).num_rows == 50
    assert hygge.run(root).ok
    assert not left & {p.name for p in folder.glob("*.parquet")}, "the next run removed them"
    assert DeltaTable(folder).version() == 1 and polars_rows(folder).num_rows == 2000
    assert DeltaTable(folder, version=0).to_pyarrow_table().num_rows == 50


def test_another_writer_committing_meanwhile_makes_the_run_retry_and_nothing_is_lost(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from tests.helpers import write_project

    root = write_project(tmp_path / "proj", "name: w\noptions: {retries: 1, retry_backoff: 0}\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: delta, path: lake}
        run_type: append
        entities: [items]
        """})
    (root / "in").mkdir()
    pq.write_table(rows([1, 2], 1), root / "in" / "items.parquet")
    folder = root / "lake" / "items"
    write_deltalake(folder, rows([100], 0))
    import os

    release = root / "release"  # hygge waits at its commit until the other engine has committed
    env = {**os.environ, "HYGGE_PAUSE_AT": "before-publish:1:120", "HYGGE_PAUSE_UNTIL": str(release)}
    env.pop("HYGGE_KILL_AT", None)
    slow = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json"], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list((folder / "_hygge" / "runs").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    write_deltalake(folder, rows([200], 0), mode="append")  # another engine commits while hygge waits
    release.touch()
    out, err = slow.communicate(timeout=120)
    assert slow.returncode == 0, out + err
    report = json.loads(out)
    assert report["moves"][0]["attempts"] == 2, "the first attempt lost the race and was retried whole"
    assert polars_rows(folder).column("id").to_pylist() == [1, 2, 100, 200]


def test_a_second_hygge_run_on_the_table_is_refused_and_nothing_is_lost(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    from tests.helpers import run_hygge, write_project

    root = write_project(tmp_path / "proj", "name: w\noptions: {retries: 0}\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: delta, path: lake}
        run_type: append
        entities: [items]
        """})
    (root / "in").mkdir()
    pq.write_table(rows([1], 1), root / "in" / "items.parquet")
    assert hygge.run(root).ok
    release = tmp_path / "release"  # the first run stays paused until the second has been refused
    env = {**os.environ, "HYGGE_PAUSE_AT": "read:1:120", "HYGGE_PAUSE_UNTIL": str(release)}
    env.pop("HYGGE_KILL_AT", None)
    first = subprocess.Popen([sys.executable, "-m", "hygge", "go"], cwd=root, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs = root / "lake" / "items" / "_hygge" / "runs"
    deadline = time.monotonic() + 60
    while not list(runs.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = run_hygge("go", cwd=root, check=1)
    release.touch()
    assert "another hygge run is writing this entity right now" in second.stdout and f"pid {first.pid}" in second.stdout
    assert first.wait(timeout=60) == 0
    assert polars_rows(root / "lake" / "items").num_rows == 2, "the first run committed; the second wrote nothing"


def test_types_beyond_the_all_types_table_round_trip_exactly(tmp_path: Path) -> None:
    from datetime import datetime, time, timedelta

    table = pa.table({
        "id": pa.array([1, 2, None], pa.int64()),
        "half": pa.array([1.5, -2.0, None], pa.float16()),
        "wide": pa.array([Decimal("1.5"), Decimal("-99999999999999999999999999999999.9999"), None],
                         pa.decimal256(38, 4)),
        "ms_day": pa.array([date(2024, 2, 29), date(1, 1, 1), None], pa.date64()),
        "big_text": pa.array(["a", "", None], pa.large_string()),
        "view": pa.array(["b", "ü", None], pa.string_view()),
        "fixed": pa.array([b"abcd", b"\x00\x00\x00\x00", None], pa.binary(4)),
        "codes": pa.array(["x", "y", None]).dictionary_encode(),
        "ms_clock": pa.array([time(1, 2, 3, 4000), time(23, 59, 59, 999000), None], pa.time32("ms")),
        "ns_clock": pa.array([1, 86_399_999_999_999, None], pa.time64("ns")),
        "oslo": pa.array([datetime(2024, 3, 31, 1, 30), datetime(1900, 1, 1), None], pa.timestamp("s", "Europe/Oslo")),
        "ns_span": pa.array([timedelta(microseconds=1), timedelta(days=-1), None], pa.duration("ns")),
        "small_ints": pa.array([[1, 255], [], None], pa.list_(pa.uint8())),
        "pair": pa.array([{"u": 65535, "s": "x"}, {"u": 0, "s": None}, None],
                         pa.struct([("u", pa.uint16()), ("s", pa.string())])),
        "tags": pa.array([[("k", 1)], [], None], pa.map_(pa.string(), pa.int32())),
    })
    move(tmp_path, table)
    table = pq.read_table(tmp_path / "in" / "items.parquet")  # as the source hands it on (date64 is date32 there)
    assert hygge.move({"type": "delta", "path": "lake"}, {"type": "parquet", "path": "back"}, "items",
                      root=tmp_path).ok
    back = read_target(tmp_path / "back" / "items")
    for field in table.schema:
        assert back.schema.field(field.name).type == field.type, field.name
        assert back.column(field.name).combine_chunks().equals(table.column(field.name).combine_chunks()), field.name


def test_a_run_that_waited_while_another_committed_the_entity_starts_again(tmp_path: Path) -> None:
    """Its state was read before the other run committed: going on would read those rows again."""
    from hygge.core.plan import MovePlan
    from hygge.core.planner import open_store
    from hygge.errors import StateError
    from hygge.state.journal import RunRecord

    move(tmp_path, rows([1], 1), run_type="incremental")
    plan = MovePlan(flow="api", entity="items", source="items", target="items", home={}, store=STORE,
                    run_type="append", root=str(tmp_path))
    store = open_store(tmp_path, STORE, {})
    assert store.state(plan) is not None
    move(tmp_path, rows([2], 1), run_type="append")  # another run commits meanwhile
    with pytest.raises(StateError) as caught:
        store.landing(plan, RunRecord("r", "api", "items", "append", "now"))
    assert caught.value.transient and "after this one read its state" in str(caught.value)
