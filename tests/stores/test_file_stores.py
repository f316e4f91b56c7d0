"""File Stores: layout, formats and their options, run types, empty sources, locks, the commit protocol."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.core.plan import MovePlan
from hygge.core.planner import open_store
from hygge.errors import StateError
from hygge.progress.events import Event
from hygge.samples import events, orders, users
from hygge.state.journal import RunRecord
from hygge.state.manifest import Manifest
from tests.helpers import assert_same_rows, read_target, staging_debris


def source(tmp: Path, name: str, table: pa.Table) -> None:
    (tmp / "in").mkdir(exist_ok=True)
    pq.write_table(table, tmp / "in" / f"{name}.parquet")


def move(tmp: Path, name: str, store: dict | None = None, **kwargs) -> hygge.MoveResult:
    return hygge.move({"type": "parquet", "path": "in"}, store or {"type": "parquet", "path": "out"}, name,
                      root=tmp, **kwargs)


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_layout_manifest_and_history(tmp_path: Path) -> None:
    source(tmp_path, "users", users(100))
    result = move(tmp_path, "users")
    assert result.ok and result.rows_in_target == 100
    folder = tmp_path / "out" / "users"
    assert parts(folder) == ["part-00000.parquet"]
    manifest = json.loads((folder / ".hygge-manifest.json").read_text())
    assert manifest["parts"][0]["rows"] == 100 and manifest["run_id"] == result.run_id
    assert set(manifest) == {f.name for f in dataclasses.fields(Manifest)}  # every field is written
    assert Manifest.from_dict(manifest).to_dict() == manifest
    assert manifest["state"]["columns"][4] == {"name": "balance", "type": "decimal(12,2)"}
    # the run recorded with the data knows what it wrote (it was taken before the commit counted the bytes)
    assert manifest["state"]["last_run"]["bytes_written"] == manifest["parts"][0]["bytes"] == result.bytes_written > 0
    history = [json.loads(line) for line in (tmp_path / "out" / ".hygge" / "history.jsonl").read_text().splitlines()]
    assert history[-1]["status"] == "ok" and history[-1]["rows_written"] == 100
    for store in ({"type": "parquet", "path": "out", "compression": "zstd"}, {"type": "csv", "path": "out"}):
        encoded = move(tmp_path, "users", store)  # parts written and closed by hygge, not copied
        last = json.loads((folder / ".hygge-manifest.json").read_text())
        assert last["state"]["last_run"]["bytes_written"] == last["parts"][0]["bytes"] == encoded.bytes_written > 0
    assert staging_debris(tmp_path / "out") == []


def test_parquet_compression_row_groups_and_file_size(tmp_path: Path) -> None:
    source(tmp_path, "orders", orders(600_000))
    store = {"type": "parquet", "path": "out", "compression": "zstd", "row_group_bytes": "1MiB",
             "target_file_size": "1MB"}
    result = hygge.move({"type": "parquet", "path": "in"}, store, "orders", root=tmp_path)
    assert result.ok, result.error
    files = parts(tmp_path / "out" / "orders")
    assert len(files) >= 3, "a 1 MB target file size must split the entity into several part files"
    meta = pq.read_metadata(tmp_path / "out" / "orders" / files[0])
    assert meta.num_row_groups >= 2 and meta.row_group(0).column(0).compression == "ZSTD"
    assert_same_rows(read_target(tmp_path / "out" / "orders"), orders(600_000))


def test_two_appends_keep_every_row_and_never_touch_earlier_parts(tmp_path: Path) -> None:
    source(tmp_path, "events", events(1000, 0))
    assert move(tmp_path, "events", run_type="append").ok
    first = tmp_path / "out" / "events" / "part-00000.parquet"
    before = (first.stat().st_ino, first.stat().st_mtime_ns, first.read_bytes())
    source(tmp_path, "events", events(500, 1000))
    result = move(tmp_path, "events", run_type="append")
    assert result.ok and result.rows_written == 500 and result.rows_in_target == 1500
    assert parts(tmp_path / "out" / "events") == ["part-00000.parquet", "part-00001.parquet"]
    assert (first.stat().st_ino, first.stat().st_mtime_ns, first.read_bytes()) == before
    assert_same_rows(read_target(tmp_path / "out" / "events"), pa.concat_tables([events(1000, 0), events(500, 1000)]))


def test_full_drop_replaces_everything(tmp_path: Path) -> None:
    source(tmp_path, "users", users(50))
    move(tmp_path, "users", run_type="append")
    move(tmp_path, "users", run_type="append")
    source(tmp_path, "users", users(7))
    result = move(tmp_path, "users")
    assert result.rows_in_target == 7 and parts(tmp_path / "out" / "users") == ["part-00002.parquet"]


def test_a_folder_not_written_by_hygge_is_never_overwritten(tmp_path: Path) -> None:
    source(tmp_path, "users", users(5))
    (tmp_path / "out" / "users").mkdir(parents=True)
    (tmp_path / "out" / "users" / "precious.parquet").write_bytes(b"mine")
    result = move(tmp_path, "users")
    assert result.status == "failed"
    assert "the target folder exists and was not written by hygge" in str(result.error)
    assert (tmp_path / "out" / "users" / "precious.parquet").read_bytes() == b"mine"


def test_csv_store_options_and_what_it_refuses(tmp_path: Path) -> None:
    source(tmp_path, "users", users(20))
    store = {"type": "csv", "path": "out", "delimiter": "|", "compression": "gzip"}
    assert move(tmp_path, "users", store).ok
    text = gzip.decompress((tmp_path / "out" / "users" / "part-00000.csv.gz").read_bytes()).decode()
    assert text.splitlines()[0] == '"user_id"|"name"|"city"|"signup_date"|"balance"|"is_active"|"last_seen"'
    source(tmp_path, "events", events(5))
    result = move(tmp_path, "events", {"type": "csv", "path": "out"})
    assert result.status == "failed"
    assert "csv files cannot hold some columns faithfully" in str(result.error)
    assert "tags (list<string>)" in str(result.error) and "payload (binary)" in str(result.error)
    assert not (tmp_path / "out" / "events").exists()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_csv_writes_zoned_timestamps_as_arrow_formats_them(tmp_path: Path, unit: str) -> None:
    """UTC columns take a quicker path than other zones; the text must be Arrow's own either way."""
    values = [0, 1_700_000_000_123_456_789 // {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit], None]
    table = pa.table({"utc": pa.array(values, pa.timestamp(unit, "UTC")),
                      "oslo": pa.array(values, pa.timestamp(unit, "Europe/Oslo")),
                      "plus": pa.array(values, pa.timestamp(unit, "+00:00"))})
    source(tmp_path, "t", table)
    table = pq.read_table(tmp_path / "in" / "t.parquet")  # parquet keeps seconds as milliseconds
    assert move(tmp_path, "t", {"type": "csv", "path": "out", "quoting": "none"}).ok
    rows = [line.split(",") for line in (tmp_path / "out" / "t" / "part-00000.csv").read_text().splitlines()[1:]]
    for i, name in enumerate(table.column_names):
        expected = [v if v is not None else "" for v in table.column(name).cast(pa.string()).to_pylist()]
        assert [row[i] for row in rows] == expected, name
    back = hygge.move({"type": "csv", "path": "out"}, {"type": "parquet", "path": "back"}, "t", root=tmp_path)
    assert back.ok, back.error
    utc = table.column("utc")
    assert read_target(tmp_path / "back" / "t").column("utc").cast(utc.type).equals(utc)


def test_parquet_dictionaries_stop_at_dictionary_page_bytes(tmp_path: Path) -> None:
    """Unique values are written plain from the start (their dictionary would outgrow the page); few distinct
    values keep their dictionary; a page big enough for every value gives the unique column one too."""
    rows = 100_000
    source(tmp_path, "t", pa.table({"unique": pa.array(range(rows), pa.int64()),
                                    "few": pa.array([i % 7 for i in range(rows)], pa.int64())}))

    def dictionary_bytes(folder: str) -> dict[str, int]:
        meta = pq.read_metadata(tmp_path / folder / "t" / "part-00000.parquet").row_group(0)
        chunks = [meta.column(i) for i in range(meta.num_columns)]
        return {c.path_in_schema: c.data_page_offset - c.dictionary_page_offset for c in chunks
                if c.has_dictionary_page}

    # the polish forces a re-encode: unchanged files would be copied whole
    assert move(tmp_path, "t", {"type": "parquet", "path": "small"}, polish={"select": ["unique", "few"]}).ok
    assert move(tmp_path, "t", {"type": "parquet", "path": "big", "dictionary_page_bytes": "4MB"},
                polish={"select": ["unique", "few"]}).ok
    small, big = dictionary_bytes("small"), dictionary_bytes("big")
    # 800 KB of unique values: no dictionary under the default 64 KiB page, a 4 MB one holds them all
    assert "unique" not in small and big["unique"] > 64 * 2**10
    assert small["few"] < 1024 and big["few"] < 1024
    assert read_target(tmp_path / "small" / "t").equals(read_target(tmp_path / "big" / "t"))


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_text_stores_write_string_views_as_text(tmp_path: Path, kind: str) -> None:
    """Parquet written by Arrow-native tools (TPC-H's tpchgen, DataFusion, polars) may hold string_view columns."""
    table = pa.table({"id": [1, 2, 3], "s": pa.array(["a", None, "x,y"], pa.string_view())})
    source(tmp_path, "t", table)
    assert pq.read_schema(tmp_path / "in" / "t.parquet").field("s").type == pa.string_view()
    result = move(tmp_path, "t", {"type": kind, "path": "out"})
    assert result.ok, result.error
    back = hygge.move({"type": kind, "path": "out"}, {"type": "parquet", "path": "back"}, "t", root=tmp_path)
    assert back.ok, back.error
    assert read_target(tmp_path / "back" / "t").column("s").to_pylist() == ["a", None, "x,y"]


def test_jsonl_store_keeps_values_exact(tmp_path: Path) -> None:
    source(tmp_path, "events", events(3))
    source(tmp_path, "users", users(3))
    assert move(tmp_path, "events", {"type": "jsonl", "path": "out"}).ok
    assert move(tmp_path, "users", {"type": "jsonl", "path": "out"}).ok
    first_event = json.loads((tmp_path / "out" / "events" / "part-00000.jsonl").read_text().splitlines()[1])
    assert first_event["payload"] == "AQM=" and first_event["tags"] == ["t1", "t1"]
    assert first_event["device"] == {"os": "ios", "version": 1}
    first_user = json.loads((tmp_path / "out" / "users" / "part-00000.jsonl").read_text().splitlines()[1])
    assert first_user["balance"] == "0.37" and first_user["name"] == "Bjørn 1"


def test_jsonl_refuses_nan_instead_of_writing_null(tmp_path: Path) -> None:
    source(tmp_path, "m", pa.table({"x": [1.0, float("nan")]}))
    result = move(tmp_path, "m", {"type": "jsonl", "path": "out"})
    assert result.status == "failed" and "holds NaN or infinity, which JSON cannot represent" in str(result.error)


def test_empty_source_is_reported_and_never_wipes_a_target(tmp_path: Path) -> None:
    source(tmp_path, "users", users(0))
    first = move(tmp_path, "users")
    assert first.status == "empty" and first.warnings == ["the source had no rows"]
    assert pq.read_table(tmp_path / "out" / "users").schema.names[0] == "user_id"
    source(tmp_path, "users", users(10))
    assert move(tmp_path, "users").rows_in_target == 10
    source(tmp_path, "users", users(0))
    refused = move(tmp_path, "users")
    assert refused.status == "failed"
    assert "a full_drop would replace 10 rows in the target with nothing" in str(refused.error)
    assert "allow_empty: true" in str(refused.error)
    assert read_target(tmp_path / "out" / "users").num_rows == 10
    allowed = move(tmp_path, "users", allow_empty=True)
    assert allowed.status == "empty" and allowed.rows_in_target == 0


@pytest.mark.parametrize("publish", ["exchange", "rename"])
def test_both_publish_paths_give_the_same_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 publish: str) -> None:
    monkeypatch.setenv("HYGGE_PUBLISH", publish)
    source(tmp_path, "users", users(30))
    move(tmp_path, "users")
    source(tmp_path, "users", users(40))
    assert move(tmp_path, "users").rows_in_target == 40
    assert read_target(tmp_path / "out" / "users").num_rows == 40
    assert staging_debris(tmp_path / "out") == []


def plan(tmp: Path, lock_wait: float = 0.0) -> MovePlan:
    return MovePlan(flow="f", entity="users", source="users", target="users", home={}, root=str(tmp),
                    store={"type": "parquet", "path": "out"}, run_type="full_drop", lock_wait=lock_wait)


def record(run_id: str) -> RunRecord:
    return RunRecord(run_id=run_id, flow="f", entity="users", run_type="full_drop", started_at="now")


def test_one_writer_per_entity(tmp_path: Path) -> None:
    store = open_store(tmp_path, {"type": "parquet", "path": "out"}, {})
    first = store.landing(plan(tmp_path), record("run-1"))
    try:
        with pytest.raises(StateError) as caught:
            store.landing(plan(tmp_path), record("run-2"))
        assert "another hygge run is writing this entity right now" in str(caught.value)
        assert "run run-1 (pid" in str(caught.value)
        released = threading.Timer(0.3, lambda: (first.abort(), first.close()))
        released.start()
        second = store.landing(plan(tmp_path, lock_wait=10), record("run-3"))
        second.abort()
        second.close()
    finally:
        first.close()


def test_leftover_staging_is_cleaned_by_the_next_run(tmp_path: Path) -> None:
    debris = tmp_path / "out" / ".hygge" / "staging" / "users" / "20240101T000000-dead"
    debris.mkdir(parents=True)
    (debris / "part-00000.parquet").write_bytes(b"half a file")
    source(tmp_path, "users", users(3))
    assert move(tmp_path, "users").ok
    assert staging_debris(tmp_path / "out") == []


def test_many_entities_at_once_into_one_store(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for i in range(120):
        pq.write_table(pa.table({"id": pa.array([i], pa.int64())}), tmp_path / "in" / f"t{i:03d}.parquet")
    from tests.helpers import write_project

    write_project(tmp_path, "name: many\noptions: {concurrency: 8}\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: parquet, path: out}
        """})
    for _ in range(2):  # the second run replaces every entity while the others are replaced too
        result = hygge.run(tmp_path)
        assert result.ok, [str(m.error) for m in result.failed][:3]
        assert len(result.moves) == 120
    assert staging_debris(tmp_path / "out") == []


RE_ENCODED = "1 file(s) re-encoded by polars: nothing about their rows or types changed"


def assert_copied_whole(tmp: Path, table: pa.Table, compression: str) -> None:
    """``table`` written as in/orders.parquet with ``compression``, then moved by default: the same bytes land."""
    (tmp / "in").mkdir()
    pq.write_table(table, tmp / "in" / "orders.parquet", compression=compression)
    copied = move(tmp, "orders")
    assert copied.ok and copied.warnings == ["1 file(s) copied whole: nothing about their rows changed"]
    part = tmp / "out" / "orders" / "part-00000.parquet"
    assert part.read_bytes() == (tmp / "in" / "orders.parquet").read_bytes()


def test_unchanged_parquet_is_copied_whole_and_anything_else_is_re_encoded(tmp_path: Path) -> None:
    table = orders(20_000)
    assert_copied_whole(tmp_path, table, "snappy")
    assert_same_rows(read_target(tmp_path / "out" / "orders"), table)
    # another codec: re-encoded by polars (test_parquet_polars.py); a polish, or copy_unchanged: false: by hygge
    for store, polish, notes in (({"compression": "zstd"}, {}, [RE_ENCODED]), ({}, {"drop": ["status"]}, []),
                                 ({"copy_unchanged": False}, {}, [])):
        result = move(tmp_path, "orders", {"type": "parquet", "path": "out", **store}, polish=polish)
        assert result.ok and result.warnings == notes, (store, polish)
        assert read_target(tmp_path / "out" / "orders").num_rows == 20_000


def test_a_file_rewritten_after_the_move_opened_it_is_not_copied_but_retried(tmp_path: Path) -> None:
    # The copy is checked against the footer read when the move opened the file, not one read again later:
    # a file replaced in between would otherwise be published in place of the rows the move planned.
    (tmp_path / "in").mkdir()
    pq.write_table(orders(1_000), tmp_path / "in" / "orders.parquet")
    bigger = orders(3_000)
    rewrites: list[int] = []

    def rewrite_once(event: Event) -> None:
        if event.kind == "start" and not rewrites:
            rewrites.append(1)
            pq.write_table(bigger, tmp_path / "in" / "orders.parquet")  # same schema, more rows

    result = move(tmp_path, "orders", on_event=rewrite_once, retries=1, retry_backoff=0)
    assert rewrites and result.ok and result.attempts == 2, result.error
    assert_same_rows(read_target(tmp_path / "out" / "orders"), bigger)
    failed = move(tmp_path, "orders", retries=0, on_event=lambda e: e.kind == "start" and pq.write_table(
        orders(10), tmp_path / "in" / "orders.parquet"))
    assert not failed.ok and "changed between opening and copying" in str(failed.error)
    assert "3,000 rows" in str(failed.error) and "10 rows" in str(failed.error)
    assert_same_rows(read_target(tmp_path / "out" / "orders"), bigger)  # the last commit is untouched
    # the same number of rows, another column: the schema was checked on the old file, so this is refused too
    pq.write_table(bigger, tmp_path / "in" / "orders.parquet")
    widened = bigger.append_column("extra", pa.array(range(3_000), pa.int64()))
    same_count = move(tmp_path, "orders", retries=0, on_event=lambda e: e.kind == "start" and pq.write_table(
        widened, tmp_path / "in" / "orders.parquet"))
    # (the footer read for the copy check shows the new schema, so the rows go through the reader, which refuses)
    assert not same_count.ok and "changed while the move was reading it" in str(same_count.error)
    assert read_target(tmp_path / "out" / "orders").schema.names == bigger.schema.names


def test_a_copy_keeps_the_source_codec_unless_the_user_chose_one(tmp_path: Path) -> None:
    # The default compression (snappy) is how hygge encodes; it is no reason to re-encode a zstd file.
    table = orders(20_000)
    assert_copied_whole(tmp_path, table, "zstd")
    chosen = move(tmp_path, "orders", {"type": "parquet", "path": "out", "compression": "snappy"})
    assert chosen.ok and chosen.warnings == [RE_ENCODED]
    (name,) = parts(tmp_path / "out" / "orders")
    meta = pq.read_metadata(tmp_path / "out" / "orders" / name)
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"SNAPPY"}
    assert_same_rows(read_target(tmp_path / "out" / "orders"), table)


def test_a_copy_keeps_its_size_unless_the_user_chose_a_part_size(tmp_path: Path) -> None:
    # A 520 MB file, above the default part size (512 MiB), is copied whole: re-encoding it only to cut it would
    # cost far more than the copy. Only a target_file_size the user wrote splits a file, by re-encoding it.
    blob = os.urandom(4 << 20)  # incompressible, so the file is as large as its values
    big = pa.table({"id": pa.array(range(130), pa.int64()), "blob": pa.array([blob] * 130, pa.binary())})
    (tmp_path / "in").mkdir()
    pq.write_table(big, tmp_path / "in" / "big.parquet", compression="snappy", use_dictionary=False,
                   row_group_size=10)
    del big
    size = (tmp_path / "in" / "big.parquet").stat().st_size
    assert size > 512 * 2**20
    copied = move(tmp_path, "big")
    assert copied.ok and copied.warnings == ["1 file(s) copied whole: nothing about their rows changed"]
    (only,) = parts(tmp_path / "out" / "big")
    assert (tmp_path / "out" / "big" / only).stat().st_size == size
    table = orders(40_000)
    pq.write_table(table, tmp_path / "in" / "orders.parquet", compression="snappy", row_group_size=5_000)
    # a fifth of the source: hygge's re-encode is smaller than the source (no dictionaries for unique columns)
    chosen = (tmp_path / "in" / "orders.parquet").stat().st_size // 5
    split = move(tmp_path, "orders", {"type": "parquet", "path": "out", "target_file_size": chosen,
                                      "row_group_bytes": "256KiB"})
    assert split.ok and split.warnings == [RE_ENCODED]
    assert len(parts(tmp_path / "out" / "orders")) >= 3
    assert_same_rows(read_target(tmp_path / "out" / "orders"), table)
