"""Guarantees 1-3 for the iceberg Store, with real processes: a SIGKILL while reading, writing or committing leaves
the table at its previous snapshot (or, after the commit, at the new one), the next run removes what the killed
one left, and ends where one clean run ends. Two writers committing to one table at once lose nothing: the later
one is applied on top of the other's snapshot, re-planned, or fails saying so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.samples import orders
from tests.helpers import run_hygge, write_project
from tests.iceberg_tables import catalog_config, debris, load, rows, snapshot_count, stored

OLD = orders(30_000)
CHANGED = orders(40_000).slice(5_000).set_column(5, "status", pa.array(["changed"] * 35_000))
AFTER = {
    "full_drop": CHANGED,
    "append": pa.concat_tables([OLD, CHANGED]),
    "incremental": pa.concat_tables([OLD.slice(0, 5_000), CHANGED]),
}


def project(tmp: Path, run_type: str, store: str = "") -> Path:
    conn = catalog_config(tmp / "lake")
    write_project(tmp, f"""\
        name: kills
        options: {{batch_bytes: 64KiB, retries: 0}}
        connections:
          lake: {{type: iceberg, catalog: sql, path: "{conn['path']}", warehouse: "{conn['warehouse']}"}}
        """, flows={"f": f"""\
        home: {{type: parquet, path: in}}
        store: {{type: iceberg, connection: lake, namespace: shop, target_file_size: 256KiB{store}}}
        run_type: {run_type}
        entities:
          - name: orders
            keys: [order_id]
        """})
    (tmp / "in").mkdir(exist_ok=True)
    return tmp


def set_source(tmp: Path, table: pa.Table, name: str = "a.parquet", keep: bool = False) -> None:
    """The entity's folder holds ``table`` as ``name`` (and, with ``keep``, the files it held before)."""
    folder = tmp / "in" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet") if not keep else ():
        old.unlink()
    pq.write_table(table, folder / name, row_group_size=5_000)


def table(tmp: Path) -> object:
    return load(tmp / "lake", "shop.orders", name="lake")


def same(landed: object, expected: pa.Table) -> bool:
    """The table's rows (as pyiceberg reads them) are exactly ``expected``, in any order."""
    keys = [("order_id", "ascending"), ("status", "ascending")]
    return bool(rows(landed, "order_id").sort_by(keys).equals(stored(expected).sort_by(keys)))


@pytest.mark.parametrize(("run_type", "point"), [
    ("full_drop", "read:20"), ("append", "write:20"), ("incremental", "before-publish"),  # merges, by its keys
    ("incremental", "after-publish"),
])
def test_a_kill_leaves_the_last_snapshot_and_the_rerun_ends_as_one_clean_run(tmp_path: Path, run_type: str,
                                                                              point: str) -> None:
    root = project(tmp_path, run_type)
    set_source(root, OLD)
    assert hygge.run(root).ok
    before = rows(table(root), "order_id")
    if run_type == "incremental":
        set_source(root, CHANGED, "b.parquet", keep=True)  # a file home's incremental run reads the new file only
    else:
        set_source(root, CHANGED)
    killed = run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout
    now = table(root)
    if point == "after-publish":
        assert snapshot_count(now) == 2 and same(now, AFTER[run_type])
    else:
        assert snapshot_count(now) == 1, "nothing of the killed run may be visible"
        assert rows(now, "order_id").equals(before)
        if not point.startswith("read"):  # a kill while reading may come before the first file is opened
            assert debris(now), "the kill left staged files behind (else this test tests nothing)"
    rerun = hygge.run(root)
    assert rerun.ok, rerun.moves[0].error
    healed = table(root)
    assert same(healed, AFTER[run_type])
    assert snapshot_count(healed) == 2 + (point == "after-publish"), "one snapshot per committed run"
    assert debris(healed) == [], "the rerun removes what the killed run left"


def paused(root: Path, point: str = "before-publish:1:120") -> subprocess.Popen[str]:
    """`hygge go` in its own process, stopped just before its catalog commit (its manifests are written) until
    ``resumed``."""
    env = {**{k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}, "HYGGE_PAUSE_AT": point,
           "HYGGE_PAUSE_UNTIL": str(root / "release")}
    metadata = root / "lake" / "warehouse" / "shop" / "orders" / "metadata"
    lists = set(metadata.glob("snap-*.avro"))
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go"], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while set(metadata.glob("snap-*.avro")) == lists and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the first writer should be waiting at its commit"
    return proc


def resumed(root: Path, proc: subprocess.Popen[str]) -> str:
    """What the paused run printed once it went on (after the other writer) to its end."""
    (root / "release").touch()
    return proc.communicate(timeout=120)[0]


def other_writer(root: Path, table_rows: pa.Table) -> hygge.MoveResult:
    """A second writer (this test's own process) appending to the same table."""
    (root / "other").mkdir(exist_ok=True)
    pq.write_table(table_rows, root / "other" / "orders.parquet")
    store = {"type": "iceberg", "connection": catalog_config(root / "lake"), "namespace": "shop"}
    store["connection"]["name"] = "lake"
    result = hygge.move({"type": "parquet", "path": "other"}, store, "orders", root=root, run_type="append")
    assert result.ok, result.error
    return result


EXTRA = orders(50_000).slice(45_000)


def test_an_append_that_lost_the_race_is_applied_on_top_of_the_other_writers_snapshot(tmp_path: Path) -> None:
    root = project(tmp_path, "append")
    set_source(root, OLD)
    assert hygge.run(root).ok
    set_source(root, CHANGED)
    first = paused(root)
    other_writer(root, EXTRA)
    out = resumed(root, first)
    assert first.returncode == 0, out
    now = table(root)
    assert same(now, pa.concat_tables([OLD, CHANGED, EXTRA]))
    history = now.metadata.snapshots
    assert len(history) == 3 and history[-1].parent_snapshot_id == history[-2].snapshot_id
    assert debris(now) == []


def test_a_full_drop_that_lost_the_race_is_planned_again_on_the_newest_snapshot(tmp_path: Path) -> None:
    root = project(tmp_path, "full_drop")
    set_source(root, OLD)
    assert hygge.run(root).ok
    set_source(root, CHANGED)
    first = paused(root)
    other_writer(root, EXTRA)
    out = resumed(root, first)
    assert first.returncode == 0, out
    now = table(root)
    assert same(now, CHANGED), "replaced after the other append, as if run after it"
    assert snapshot_count(now) == 3 and debris(now) == []


def test_with_no_retries_left_the_loser_fails_clearly_and_nothing_is_lost(tmp_path: Path) -> None:
    root = project(tmp_path, "full_drop", store=", commit_retries: 0")
    set_source(root, OLD)
    assert hygge.run(root).ok
    set_source(root, CHANGED)
    first = paused(root)
    other_writer(root, EXTRA)
    out = resumed(root, first)
    assert first.returncode == 1
    assert "other writers kept changing the table while this run committed; nothing of this run was committed" in out
    assert "commit_retries" in out
    now = table(root)
    assert same(now, pa.concat_tables([OLD, EXTRA]))
    assert snapshot_count(now) == 2 and debris(now) == []


def test_a_merge_that_lost_the_race_matches_the_rows_the_other_writer_added(tmp_path: Path) -> None:
    """The merge only inserts new keys, and the other writer appends rows with some of those keys meanwhile:
    run after it, the merge replaces them. A blind re-apply of the merge's files would leave both."""
    root = project(tmp_path, "merge")
    set_source(root, OLD)
    assert hygge.run(root).ok
    merged = orders(55_000).slice(50_000).set_column(5, "status", pa.array(["merged"] * 5_000))
    set_source(root, merged)
    first = paused(root)
    other_writer(root, orders(50_010).slice(50_000))  # keys 50001-50010, also in the merge
    out = resumed(root, first)
    assert first.returncode == 0, out
    now = table(root)
    assert same(now, pa.concat_tables([OLD, merged])), "every key once, the merge's row winning"
    assert snapshot_count(now) == 3 and debris(now) == []
