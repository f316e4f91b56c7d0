"""Store `open_mirroring`: the landing zone as the published format describes it, checked by replaying it.

The Fabric replicator cannot run here; instead, after every run the test applies the row markers of
every landed file, in sequence order, to a Delta table with a Delta MERGE (as the mirror does) and
compares the result with the source, row for row.
"""

from __future__ import annotations

import json
import signal
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

import hygge
from hygge.lake.mirroring import ROW_MARKER, SEQUENCE
from tests.contract.alltypes import all_types
from tests.helpers import run_hygge

BASE = datetime(2024, 5, 1, tzinfo=timezone.utc)


def change(ids: list[int], version: int, minute: int, gone: list[bool] | None = None) -> pa.Table:
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "name": [f"item {i} v{version}" for i in ids],
        "updated_at": pa.array([BASE + timedelta(minutes=minute + n) for n in range(len(ids))],
                               pa.timestamp("us", tz="UTC")),
        "gone": pa.array(gone or [False] * len(ids), pa.bool_()),
    })


CHANGES = [
    change([1, 2, 3, 4, 5], 1, 0),
    pa.concat_tables([change([6, 7], 1, 100), change([2, 3], 2, 110)]),  # inserts and updates
    pa.concat_tables([change([4, 6], 3, 200, [True, True]), change([2], 3, 210), change([8], 1, 220)]),  # deletes
    pa.concat_tables([change([4], 4, 300), change([8], 2, 310, [True])]),  # a deleted key back; a new one gone
]


def expected_after(changes: list[pa.Table]) -> pa.Table:
    latest: dict[int, dict[str, Any]] = {}
    for table in changes:
        for row in table.to_pylist():
            if row["gone"]:
                latest.pop(row["id"], None)
            else:
                latest[row["id"]] = row
    return pa.Table.from_pylist([latest[k] for k in sorted(latest)], schema=changes[0].schema)


def landed(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if SEQUENCE.match(p.name))


def replay(folder: Path, keys: list[str], work: Path) -> pa.Table:
    """What the mirror builds from the landing zone: every file in order, its row markers applied by MERGE."""
    target = work / f"replay-{len(list(work.glob('replay-*')))}"
    for path in landed(folder):
        rows = pq.read_table(path)
        if ROW_MARKER not in rows.column_names:  # the initial load: inserts
            write_deltalake(target, rows, mode="append")
            continue
        assert rows.column_names[-1] == ROW_MARKER, "the row marker is the last column"
        data = [c for c in rows.column_names if c != ROW_MARKER]
        marker = f"s.{ROW_MARKER}"
        (DeltaTable(target).merge(rows, " AND ".join(f"s.{k} = t.{k}" for k in keys), source_alias="s",
                                  target_alias="t")
         .when_matched_delete(f"{marker} = 2")
         .when_matched_update({c: f"s.{c}" for c in data}, f"{marker} IN (1, 4)")
         .when_not_matched_insert({c: f"s.{c}" for c in data}, f"{marker} <> 2")
         .execute())
    return DeltaTable(target).to_pyarrow_table().sort_by("id")


def project(root: Path, store: str = "{type: open_mirroring, path: landing}") -> Path:
    (root / "changes").mkdir(parents=True, exist_ok=True)
    (root / "hygge.yml").write_text(textwrap.dedent(f"""\
        name: om
        options: {{batch_bytes: 1KiB, retries: 0}}
        flows:
          shop:
            home: {{type: parquet, path: changes}}
            store: {store}
            run_type: incremental
            entities:
              - name: items
                source: "*.parquet"
                keys: [id]
                watermark: updated_at
                delete_column: gone
        """))
    return root


def add_change(root: Path, number: int) -> None:
    pq.write_table(CHANGES[number], root / "changes" / f"change-{number:03d}.parquet")


def go(root: Path, **kwargs: Any) -> hygge.RunResult:
    """One `hygge go` of the project, in this process (the kill tests run the real command)."""
    result = hygge.run(root, **kwargs)
    assert result.ok, [str(m.error) for m in result.moves]
    return result


def test_a_sequence_of_inserts_updates_and_deletes_replays_to_the_source(tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    folder = root / "landing" / "items"
    for number in range(len(CHANGES)):
        add_change(root, number)
        go(root)
        assert [p.name for p in landed(folder)] == [f"{n:020d}.parquet" for n in range(1, number + 2)]
        assert replay(folder, ["id"], tmp_path).equals(expected_after(CHANGES[: number + 1]))
    first, *later = (pq.read_table(p) for p in landed(folder))
    assert ROW_MARKER not in first.column_names, "the initial load carries no row markers"
    assert all(t.column_names[-1] == ROW_MARKER for t in later)
    assert pq.read_table(landed(folder)[2]).column(ROW_MARKER).to_pylist() == [2, 2, 4, 4]
    assert json.loads((folder / "_metadata.json").read_text()) == {"keyColumns": ["id"]}
    events = json.loads((root / "landing" / "_partnerEvents.json").read_text())
    assert events["partnerName"] == "hygge" and events["sourceInfo"]["sourceType"] == "parquet"
    assert go(root) and len(landed(folder)) == len(CHANGES), "nothing new, no file"


@pytest.mark.parametrize("point", ["write:1", "after-publish"])
def test_a_killed_run_leaves_no_numbered_file_and_the_sequence_goes_on_without_gap(tmp_path: Path,
                                                                                   point: str) -> None:
    root = project(tmp_path / "proj")
    folder = root / "landing" / "items"
    add_change(root, 0)
    go(root)
    add_change(root, 1)
    killed = run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL
    published = point == "after-publish"
    assert len(landed(folder)) == (2 if published else 1), "a file gets its number only when it is complete"
    assert list((folder / "_hygge").glob("*.tmp")), "the killed run's file stayed under its temporary name"
    go(root)
    add_change(root, 2)
    go(root)
    assert [p.name for p in landed(folder)] == [f"{n:020d}.parquet" for n in (1, 2, 3)], "no gap, no reuse"
    assert not list((folder / "_hygge").glob("*.tmp"))
    assert replay(folder, ["id"], tmp_path).equals(expected_after(CHANGES[:3]))


def test_key_columns_never_change_and_a_table_is_never_replaced_in_place(tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    add_change(root, 0)
    go(root)
    (root / "hygge.yml").write_text((root / "hygge.yml").read_text().replace("keys: [id]", "keys: [name]"))
    add_change(root, 1)
    error = str(hygge.run(root).moves[0].error)
    assert "cannot change a table's key columns once they are set" in error and "next step" in error
    error = str(hygge.run(root, run_type="full_drop").moves[0].error)
    assert "cannot replace a table's rows in place" in error and "delete the table folder" in error
    assert len(landed(root / "landing" / "items")) == 1


def test_schemas_codecs_and_every_type_of_the_table(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    table = all_types()
    pq.write_table(table, tmp_path / "in" / "alltypes.parquet")
    store = {"type": "open_mirroring", "path": "landing", "compression": "zstd"}
    result = hygge.move({"type": "parquet", "path": "in"}, store, "alltypes", root=tmp_path, target="sales.alltypes")
    assert result.ok, result.error
    path = tmp_path / "landing" / "sales.schema" / "alltypes" / "00000000000000000001.parquet"
    assert pq.read_metadata(path).row_group(0).column(0).compression == "ZSTD"
    back = pq.read_table(path)
    assert back.column_names == table.column_names
    types = {f.name: f.type for f in back.schema}
    assert types["u8"] == pa.int16() and types["u64"] == pa.decimal128(20, 0) and types["clock"] == pa.time64("us")
    assert back.column("u64").to_pylist() == [8, 9223372036854775807, None, 0]
    assert back.column("uid").to_pylist()[0] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert back.column("ints").to_pylist() == ["[1,2,3]", "[]", None, "[null]"], "complex types as JSON text"
    assert back.column("words").to_pylist()[1] == '["ü",""]'
    for name in ("id", "i64", "dec", "dec_wide", "text", "Mixed Case", "blob", "day", "ts", "ts_tz", "flag"):
        assert back.column(name).to_pylist() == table.column(name).to_pylist(), name
    assert back.column("ts_ms").to_pylist() == table.column("ts_ms").to_pylist()
