"""File Homes: paths, folders, globs, discovery, streaming, CSV options and schema unification."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.core.plan import MovePlan
from hygge.core.planner import open_home
from hygge.errors import ReadError
from hygge.samples import events, orders, users
from tests.helpers import assert_same_rows, read_target


def plan_for(tmp: Path, home: dict, source: str, batch_bytes: int = 32 << 20) -> MovePlan:
    return MovePlan(flow="f", entity=source or "e", source=source, target="t", home=home, store={},
                    run_type="full_drop", root=str(tmp), batch_bytes=batch_bytes)


def read_all(tmp: Path, home: dict, source: str, batch_bytes: int = 32 << 20) -> tuple[pa.Table, int]:
    h = open_home(tmp, home, {})
    src = h.open(plan_for(tmp, home, source, batch_bytes))
    batches = list(src.batches())
    return pa.Table.from_batches(batches, schema=src.schema), len(batches)


def test_a_source_may_be_a_file_a_folder_or_a_glob(tmp_path: Path) -> None:
    (tmp_path / "in" / "ev").mkdir(parents=True)
    pq.write_table(users(10), tmp_path / "in" / "users.parquet")
    pq.write_table(events(5, 0), tmp_path / "in" / "ev" / "a.parquet")
    pq.write_table(events(5, 5), tmp_path / "in" / "ev" / "b.parquet")
    home = {"type": "parquet", "path": "in"}
    assert read_all(tmp_path, home, "users")[0].num_rows == 10  # name without extension
    assert read_all(tmp_path, home, "users.parquet")[0].num_rows == 10
    assert read_all(tmp_path, home, "ev")[0].num_rows == 10  # folder
    assert read_all(tmp_path, home, "ev/b*.parquet")[0].num_rows == 5  # glob
    assert read_all(tmp_path, {"type": "parquet", "path": "in/ev/*.parquet"}, "anything")[0].num_rows == 10
    assert read_all(tmp_path, {"type": "parquet", "path": "in/users.parquet"}, "x")[0].num_rows == 10


def test_discovery_turns_files_and_folders_into_entities(tmp_path: Path) -> None:
    (tmp_path / "in" / "events").mkdir(parents=True)
    pq.write_table(users(3), tmp_path / "in" / "users.parquet")
    pq.write_table(orders(3), tmp_path / "in" / "orders.pq")
    pq.write_table(events(3), tmp_path / "in" / "events" / "x.parquet")
    (tmp_path / "in" / "_SUCCESS").write_text("")
    (tmp_path / "in" / ".hidden.parquet").write_bytes(b"")
    (tmp_path / "in" / "notes.txt").write_text("not data")
    home = open_home(tmp_path, {"type": "parquet", "path": "in"}, {})
    assert home.discover() == [("events", "events"), ("orders", "orders.pq"), ("users", "users.parquet")]


def test_missing_source_says_what_exists(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(users(3), tmp_path / "in" / "users.parquet")
    with pytest.raises(ReadError) as caught:
        read_all(tmp_path, {"type": "parquet", "path": "in"}, "userz")
    text = str(caught.value)
    assert "the source does not exist" in text and "in/userz" in text and "did you mean 'users'?" in text
    with pytest.raises(ReadError, match="the source does not exist"):
        read_all(tmp_path, {"type": "parquet", "path": "nowhere"}, "users")


def test_reads_stream_in_batches_bounded_by_bytes(tmp_path: Path) -> None:
    table = orders(200_000)
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=50_000)
    whole, count = read_all(tmp_path, {"type": "parquet", "path": "big.parquet"}, "", batch_bytes=1 << 20)
    assert count > 10, "a 1 MiB batch budget must split 200,000 rows into many batches"
    assert_same_rows(whole, table)
    h = open_home(tmp_path, {"type": "parquet", "path": "big.parquet"}, {})
    src = h.open(plan_for(tmp_path, {"type": "parquet", "path": "big.parquet"}, "", batch_bytes=1 << 20))
    assert max(b.nbytes for b in src.batches()) < 4 << 20


def test_parquet_files_that_disagree_are_named(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(users(3), tmp_path / "in" / "a.parquet")
    pq.write_table(users(3).drop_columns(["city"]), tmp_path / "in" / "b.parquet")
    with pytest.raises(ReadError) as caught:
        read_all(tmp_path, {"type": "parquet", "path": "in"}, "")
    assert "do not share one schema" in str(caught.value) and "b.parquet" in str(caught.value)
    assert "missing column(s) city" in str(caught.value)


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def test_csv_options_delimiter_quote_encoding_nulls_and_types(tmp_path: Path) -> None:
    write_csv(tmp_path / "in" / "p.csv", "id;name;amount;day\n1;'Zoë; the first';12.50;2024-01-02\n2;NA;;2024-01-03\n",
              encoding="latin-1")
    home = {"type": "csv", "path": "in", "delimiter": ";", "quote": "'", "encoding": "latin-1",
            "null_values": ["", "NA"], "columns": {"amount": "decimal(10,2)", "id": "int32"}}
    table, _ = read_all(tmp_path, home, "p")
    assert table.schema.field("amount").type == pa.decimal128(10, 2)
    assert table.schema.field("id").type == pa.int32()
    assert table.schema.field("day").type == pa.date32()
    assert table.column("name").to_pylist() == ["Zoë; the first", None]
    assert table.column("amount").to_pylist()[1] is None


def test_csv_without_header_and_quoted_newlines(tmp_path: Path) -> None:
    write_csv(tmp_path / "in.csv", '1,"two\nlines"\n2,plain\n')
    home = {"type": "csv", "path": "in.csv", "header": False, "column_names": ["n", "text"]}
    table, _ = read_all(tmp_path, home, "")
    assert table.to_pydict() == {"n": [1, 2], "text": ["two\nlines", "plain"]}


def test_csv_schema_is_unified_across_files_and_disagreement_is_explained(tmp_path: Path) -> None:
    write_csv(tmp_path / "in" / "a.csv", "id,v,note\n1,2,\n")
    write_csv(tmp_path / "in" / "b.csv", "id,v,note\n2,2.5,hello\n")
    table, _ = read_all(tmp_path, {"type": "csv", "path": "in"}, "")
    assert table.schema.field("v").type == pa.float64()  # int in one file, float in the other
    assert table.schema.field("note").type == pa.string()  # empty in one file, text in the other
    assert table.column("v").to_pylist() == [2.0, 2.5]
    write_csv(tmp_path / "in" / "c.csv", "id,v,note\nthree,1,x\n")
    with pytest.raises(ReadError) as caught:
        read_all(tmp_path, {"type": "csv", "path": "in"}, "")
    text = str(caught.value)
    assert "column id holds different kinds of values in different files" in text and "c.csv" in text
    assert "columns: {id: string}" in text
    write_csv(tmp_path / "in" / "c.csv", "id,v\n3,1\n")
    with pytest.raises(ReadError, match="do not have the same columns"):
        read_all(tmp_path, {"type": "csv", "path": "in"}, "")


def test_csv_value_that_breaks_the_inferred_type_names_the_column(tmp_path: Path) -> None:
    lines = "".join(f"{i},{i}\n" for i in range(50_000)) + "oops,1\n"
    write_csv(tmp_path / "big.csv", "id,v\n" + lines)
    with pytest.raises(ReadError) as caught:
        read_all(tmp_path, {"type": "csv", "path": "big.csv"}, "", batch_bytes=1 << 16)
    assert "column id has a value that is not int64" in str(caught.value)
    table, _ = read_all(tmp_path, {"type": "csv", "path": "big.csv", "columns": {"id": "string"}}, "",
                        batch_bytes=1 << 16)
    assert table.num_rows == 50_001


def test_csv_ragged_rows_and_bad_encoding_are_explained(tmp_path: Path) -> None:
    write_csv(tmp_path / "ragged.csv", "a,b\n1,2\n3,4,5\n")
    with pytest.raises(ReadError, match="ragged rows"):
        read_all(tmp_path, {"type": "csv", "path": "ragged.csv"}, "")
    (tmp_path / "latin.csv").write_bytes("name\nZoë\n".encode("latin-1"))
    with pytest.raises(ReadError, match="not in the expected text encoding"):
        read_all(tmp_path, {"type": "csv", "path": "latin.csv"}, "")


def test_csv_round_trip_keeps_nulls_apart_from_empty_strings(tmp_path: Path) -> None:
    table = pa.table({"s": ["a", "", None, 'x,"y"\nz'], "n": [1, None, 3, 4]})
    (tmp_path / "in").mkdir()
    pcsv.write_csv(table, tmp_path / "in" / "t.csv")
    result = hygge.move({"type": "csv", "path": "in"}, {"type": "parquet", "path": "out"}, "t", root=tmp_path)
    assert result.ok, result.error
    assert read_target(tmp_path / "out" / "t").to_pydict() == table.to_pydict()


def test_jsonl_with_inferred_and_explicit_types(tmp_path: Path) -> None:
    write_csv(tmp_path / "in" / "e.jsonl",
              '{"id": 1, "day": "2024-01-02", "amount": "1.10", "tags": ["a"], "blob": "AAE="}\n'
              '{"id": 2, "day": null, "amount": "2.25", "tags": [], "blob": null}\n')
    table, _ = read_all(tmp_path, {"type": "jsonl", "path": "in"}, "e")
    assert table.schema.field("id").type == pa.int64() and table.column("tags").to_pylist() == [["a"], []]
    typed, _ = read_all(tmp_path, {"type": "jsonl", "path": "in",
                                   "columns": {"day": "date32", "amount": "decimal(8,2)", "blob": "binary"}}, "e")
    assert str(typed.column("day")[0]) == "2024-01-02"
    assert str(typed.column("amount")[0]) == "1.10" and typed.schema.field("amount").type == pa.decimal128(8, 2)
    assert typed.column("blob").to_pylist() == [b"\x00\x01", None]


def test_jsonl_that_is_not_json_is_explained(tmp_path: Path) -> None:
    write_csv(tmp_path / "bad.jsonl", '{"a": 1}\n{"a": \n')
    with pytest.raises(ReadError, match="could not be parsed"):
        read_all(tmp_path, {"type": "jsonl", "path": "bad.jsonl"}, "")


@pytest.mark.parametrize("store", ["parquet", "csv"])
def test_partitions_read_and_stage_in_parallel_and_keep_row_order(tmp_path: Path, store: str) -> None:
    """Files and parquet row groups are split into contiguous runs, one writer each; the target reads in order."""
    (tmp_path / "in" / "ev").mkdir(parents=True)
    pq.write_table(events(30_000, 0), tmp_path / "in" / "ev" / "a.parquet", row_group_size=4_000)
    pq.write_table(events(5_000, 30_000), tmp_path / "in" / "ev" / "b.parquet")
    home = {"type": "parquet", "path": "in", "partitions": 3}
    parts = open_home(tmp_path, home, {}).open(plan_for(tmp_path, home, "ev")).parts()
    assert len(parts) == 3
    # A constant makes every row change, so the files cannot be copied whole.
    polish = {"constants": {"k": 1}, "drop": ["tags", "payload", "device"]}
    run = hygge.move(home, {"type": store, "path": "out"}, "ev", polish=polish, run_type="incremental",
                     root=tmp_path)
    assert run.ok, run.error
    assert run.rows_written == 35_000
    folder = tmp_path / "out" / "ev"
    written = sorted(p for p in folder.iterdir() if not p.name.startswith((".", "_")))
    assert len(written) == 3  # one part file per partition
    got = read_target(folder) if store == "parquet" else pa.concat_tables([pcsv.read_csv(p) for p in written])
    assert got.column("event_id").to_pylist() == list(range(35_000))
    again = hygge.move(home, {"type": store, "path": "out"}, "ev", polish=polish, run_type="incremental",
                       root=tmp_path)
    assert again.ok and again.rows_read == 0  # both files, split over partitions, were recorded as loaded


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="partitions: auto means one per core; this machine has one")
def test_auto_partitions_split_a_big_entity_by_core_and_keep_row_order(tmp_path: Path) -> None:
    """By default an entity of 256 MB or more is written by one writer per core, in order; a small one by one."""
    rows = 34_000_000  # 272 MB of incompressible int64, stored uncompressed
    ids = pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(os.urandom(rows * 8))])
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"v": ids}), tmp_path / "in" / "big.parquet", compression="none",
                   row_group_size=2_000_000)
    assert (tmp_path / "in" / "big.parquet").stat().st_size >= 256 * 2**20
    # snappy chosen for the store, none in the source: the file cannot be copied whole, it is re-encoded (by hygge's
    # own writers: polars, which would otherwise re-encode it, uses every core by itself)
    big = hygge.move({"type": "parquet", "path": "in"}, {"type": "parquet", "path": "out", "compression": "snappy",
                                                          "parallel_encode": False}, "big", root=tmp_path)
    assert big.ok and big.rows_in_target == rows, big.error
    written = sorted(p for p in (tmp_path / "out" / "big").iterdir() if not p.name.startswith((".", "_")))
    assert len(written) == min(os.cpu_count() or 1, 17)  # a part file per partition, at most one per row group
    assert read_target(tmp_path / "out" / "big").column("v").equals(pa.chunked_array([ids]))
    del ids
    pq.write_table(users(100), tmp_path / "in" / "small.parquet", compression="none")
    small = hygge.move({"type": "parquet", "path": "in"}, {"type": "parquet", "path": "out"}, "small",
                       root=tmp_path)
    assert small.ok and [p.name for p in (tmp_path / "out" / "small").glob("part-*")] == ["part-00000.parquet"]




@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="partitions: auto means one per core; this machine has one")
def test_auto_partitions_keep_a_wide_entity_to_one_writer_when_two_would_not_fit_in_memory(tmp_path: Path) -> None:
    """Arrow holds a page per column while reading: 300 columns of ~0.5 MB chunks leave room for one reader only."""
    columns, rows = 300, 112_000  # 269 MB of incompressible int64 in two row groups
    raw = os.urandom(columns * rows * 8)
    table = pa.table({f"c{i}": pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(raw[i * rows * 8:
                      (i + 1) * rows * 8])]) for i in range(columns)})
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "wide.parquet", compression="none", row_group_size=rows // 2)
    assert (tmp_path / "in" / "wide.parquet").stat().st_size >= 256 * 2**20
    home = {"type": "parquet", "path": "in"}
    assert len(open_home(tmp_path, home, {}).open(plan_for(tmp_path, home, "wide")).parts()) == 1
    asked = {**home, "partitions": 2}  # a number the user sets is taken as it is
    assert len(open_home(tmp_path, asked, {}).open(plan_for(tmp_path, asked, "wide")).parts()) == 2
    wide = hygge.move(home, {"type": "parquet", "path": "out", "compression": "snappy"}, "wide",
                      root=tmp_path)  # re-encoded (the source is uncompressed), not copied whole
    assert wide.ok and wide.rows_in_target == rows, wide.error
    assert [p.name for p in (tmp_path / "out" / "wide").glob("part-*")] == ["part-00000.parquet"]
    assert read_target(tmp_path / "out" / "wide").equals(table)
@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_row_longer_than_a_read_block_is_read_whole_in_order(tmp_path: Path, kind: str) -> None:
    # Reads use blocks of an eighth of the batch budget (64 KiB here); a 300 KB value straddles several of them.
    long = "x" * 300_000
    values = [f"v{i}" for i in range(4_000)]
    values[2_500] = long
    if kind == "csv":
        write_csv(tmp_path / "t.csv", "id,s\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    else:
        write_csv(tmp_path / "t.jsonl", "".join(f'{{"id": {i}, "s": "{v}"}}\n' for i, v in enumerate(values)))
    table, batches = read_all(tmp_path, {"type": kind, "path": f"t.{kind}"}, "", batch_bytes=1 << 16)
    assert batches > 1
    assert table.column("id").to_pylist() == list(range(4_000)) and table.column("s").to_pylist() == values


def test_bad_rows_before_a_long_row_are_set_aside_once(tmp_path: Path) -> None:
    rows = [f"{i},v{i}\n" for i in range(4_000)]
    rows[10] = "10,v,extra\n"
    rows[3_000] = "3000," + "x" * 300_000 + "\n"
    write_csv(tmp_path / "in" / "t.csv", "id,s\n" + "".join(rows))
    result = hygge.move({"type": "csv", "path": "in", "on_bad_rows": "quarantine"}, {"type": "parquet", "path": "out"},
                        "t", root=tmp_path, batch_bytes=1 << 16)
    assert result.ok and result.rows_written == 3_999, result.error
    (note,) = result.warnings
    side = Path(note.split(" set aside in ")[1])
    assert side.read_text().splitlines()[1:] == [f"{tmp_path / 'in' / 't.csv'},12,2,3,\"10,v,extra\""]
    ids = read_target(tmp_path / "out" / "t").column("id").to_pylist()
    assert ids == [i for i in range(4_000) if i != 10]
