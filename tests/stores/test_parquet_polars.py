"""Parquet files re-encoded by polars (`parallel_encode`): exact types and values, parts, order, fallbacks."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.formats.parquet_footer import arrow_schema_value, decode, encode, set_arrow_schema
from hygge.samples import orders
from tests.helpers import read_target, staging_debris

NOTE = "1 file(s) re-encoded by polars: nothing about their rows or types changed"


def every_allowed_type(rows: int = 3_000) -> pa.Table:
    """One column per type the polars path takes, with nulls, extremes and non-ASCII text."""
    ints = range(rows)
    return pa.table({
        "i8": pa.array([i % 256 - 128 for i in ints], pa.int8()),
        "i16": pa.array([None if i % 11 == 0 else i - 1500 for i in ints], pa.int16()),
        "i32": pa.array([i % 60_000 * 70_000 - 2**31 + 1 for i in ints], pa.int32()),
        "i64": pa.array([None if i % 7 == 0 else i * 10**14 for i in ints], pa.int64()),
        "u8": pa.array([i % 256 for i in ints], pa.uint8()),
        "u16": pa.array([i * 20 % 65_536 for i in ints], pa.uint16()),
        "u32": pa.array([2**32 - 1 - i for i in ints], pa.uint32()),
        "u64": pa.array([2**64 - 1 - i for i in ints], pa.uint64()),
        "f32": pa.array([i / 3 for i in ints], pa.float32()),
        "f64": pa.array([None if i % 13 == 0 else -i / 7 for i in ints], pa.float64()),
        "flag": pa.array([None if i % 5 == 0 else i % 2 == 0 for i in ints]),
        "text": pa.array([None if i % 9 == 0 else f"värde {i} ✓" for i in ints], pa.string()),
        "large_text": pa.array([f"x{i % 17}" for i in ints], pa.large_string()),
        "blob": pa.array([bytes([i % 256, 0, 255]) for i in ints], pa.binary()),
        "large_blob": pa.array([None if i % 3 == 0 else bytes([i % 256]) for i in ints], pa.large_binary()),
        "day": pa.array([date(1970, 1, 1) + timedelta(days=i * 9 - 10_000) for i in ints], pa.date32()),
        "at_ms": pa.array([i * 86_400_123 for i in ints], pa.timestamp("ms")),
        "at_us": pa.array([i * 1_000_001 for i in ints], pa.timestamp("us")),
        "at_ns": pa.array([i * 1_000_000_007 for i in ints], pa.timestamp("ns")),
        "at_utc": pa.array([i * 3_600_000_000 for i in ints], pa.timestamp("us", "UTC")),
        "at_paris": pa.array([i * 60_000_000_000 for i in ints], pa.timestamp("ns", "Europe/Paris")),
        "amount": pa.array([None if i % 17 == 0 else Decimal(i * 7919 % 10**7) / 100 for i in ints],
                           pa.decimal128(12, 2)),
        "big": pa.array([Decimal(10**37 + i) * (-1) ** i for i in ints], pa.decimal128(38, 0)),
        "small": pa.array([Decimal(i % 999) / 10 for i in ints], pa.decimal128(4, 1)),
    })


def source(tmp: Path, name: str, table: pa.Table, **options) -> None:
    (tmp / "in").mkdir(exist_ok=True)
    pq.write_table(table, tmp / "in" / f"{name}.parquet", **options)


def move(tmp: Path, name: str, store: dict, **kwargs) -> hygge.MoveResult:
    return hygge.move({"type": "parquet", "path": "in"}, {"type": "parquet", **store}, name, root=tmp, **kwargs)


def writers(folder: Path) -> set[str]:
    return {pq.read_metadata(p).created_by.split(" ")[0] for p in folder.glob("part-*.parquet")}


def test_every_allowed_type_reads_back_exactly(tmp_path: Path) -> None:
    table = every_allowed_type()
    source(tmp_path, "t", table)
    result = move(tmp_path, "t", {"path": "out", "compression": "zstd"})
    assert result.ok and result.warnings == [NOTE], result.error
    assert writers(tmp_path / "out" / "t") == {"Polars"}
    back = read_target(tmp_path / "out" / "t")
    assert back.schema == table.schema  # large_string stays large, string stays string, time zones kept
    assert back.equals(table)
    meta = pq.read_metadata(next((tmp_path / "out" / "t").glob("part-*.parquet")))
    assert meta.row_group(0).column(0).compression == "ZSTD"
    # and the same table through hygge's own writer is the same table
    assert move(tmp_path, "t", {"path": "arrow", "compression": "zstd", "parallel_encode": False}).warnings == []
    assert writers(tmp_path / "arrow" / "t") == {"parquet-cpp-arrow"}
    assert read_target(tmp_path / "arrow" / "t").equals(back)


def test_not_a_number_and_infinities_survive(tmp_path: Path) -> None:
    values = [math.nan, math.inf, -math.inf, -0.0, None, 1.5]
    source(tmp_path, "t", pa.table({"x": pa.array(values, pa.float64()), "y": pa.array(values, pa.float32())}))
    assert move(tmp_path, "t", {"path": "out", "compression": "zstd"}).warnings == [NOTE]
    back = read_target(tmp_path / "out" / "t")
    for column in ("x", "y"):
        assert [repr(v) for v in back.column(column).to_pylist()] == [repr(v) for v in values]


@pytest.mark.parametrize("column", [
    pa.array([1, 2, 3], pa.time64("us")),
    pa.array(["a", "b", "a"]).dictionary_encode(),
    pa.array([1, 2, 3], pa.duration("ms")),
    pa.array([[1], [], None], pa.list_(pa.int64())),
    pa.array([b"ab", b"cd", b"ef"], pa.binary(2)),
    pa.array([1.0, 2.0, None], pa.float16()),
], ids=["time", "dictionary", "duration", "list", "fixed_binary", "float16"])
def test_types_polars_would_change_go_through_hygges_writer(tmp_path: Path, column: pa.Array) -> None:
    table = pa.table({"id": [1, 2, 3], "x": column})
    source(tmp_path, "t", table)
    result = move(tmp_path, "t", {"path": "out", "compression": "zstd"})
    assert result.ok and result.warnings == [], result.error
    assert writers(tmp_path / "out" / "t") == {"parquet-cpp-arrow"}
    assert read_target(tmp_path / "out" / "t").equals(table)


def test_a_required_column_reads_back_as_through_hygges_writer(tmp_path: Path) -> None:
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
    source(tmp_path, "t", pa.table({"id": [1, 2], "name": ["a", None]}, schema=schema))
    assert move(tmp_path, "t", {"path": "out", "compression": "zstd"}).warnings == [NOTE]
    assert move(tmp_path, "t", {"path": "arrow", "compression": "zstd", "parallel_encode": False}).warnings == []
    assert read_target(tmp_path / "out" / "t").equals(read_target(tmp_path / "arrow" / "t"))


def test_parts_are_cut_by_size_and_keep_the_file_order(tmp_path: Path) -> None:
    (tmp_path / "in" / "t").mkdir(parents=True)
    whole = orders(60_000)
    # small files gathered into one part, a big file of many row groups cut into several
    for i in range(3):
        pq.write_table(whole.slice(i * 1_000, 1_000), tmp_path / "in" / "t" / f"a{i}.parquet")
    pq.write_table(whole.slice(3_000), tmp_path / "in" / "t" / "b.parquet", row_group_size=5_000)
    big = (tmp_path / "in" / "t" / "b.parquet").stat().st_size
    store = {"path": "out", "compression": "zstd", "target_file_size": big // 3}
    result = move(tmp_path, "t", store)
    assert result.ok and result.warnings == ["4 file(s) re-encoded by polars: nothing about their rows or types "
                                             "changed"], result.error
    names = sorted(p.name for p in (tmp_path / "out" / "t").glob("part-*.parquet"))
    rows = [pq.read_metadata(tmp_path / "out" / "t" / n).num_rows for n in names]
    assert len(names) >= 4 and rows[0] == 3_000 and sum(rows) == 60_000
    # the same rows, in the same order, as hygge's own writer puts them
    arrow = move(tmp_path, "t", {**store, "path": "arrow", "parallel_encode": False})
    assert arrow.ok and read_target(tmp_path / "out" / "t").equals(read_target(tmp_path / "arrow" / "t"))
    assert read_target(tmp_path / "out" / "t").equals(whole)


def test_a_file_rewritten_after_the_move_opened_it_fails_the_move(tmp_path: Path) -> None:
    source(tmp_path, "t", orders(1_000))
    result = move(tmp_path, "t", {"path": "out", "compression": "zstd"}, retries=0,
                  on_event=lambda e: e.kind == "start" and pq.write_table(orders(10), tmp_path / "in" / "t.parquet"))
    assert not result.ok and "changed between opening and copying" in str(result.error)
    assert not (tmp_path / "out" / "t").exists()


def test_a_damaged_source_goes_to_hygges_reader_which_names_it_and_the_last_commit_stays(tmp_path: Path) -> None:
    source(tmp_path, "t", orders(20_000))
    assert move(tmp_path, "t", {"path": "out", "compression": "zstd"}).ok
    path = tmp_path / "in" / "t.parquet"
    with open(path, "r+b") as file:  # garbage in the middle of the data pages, the footer intact
        file.seek(path.stat().st_size // 3)
        file.write(bytes(range(256)) * 8)
    result = move(tmp_path, "t", {"path": "out", "compression": "zstd"}, retries=0)
    assert not result.ok and str(path) in str(result.error) and "could not be decoded" in str(result.error)
    assert any(w.startswith("polars could not re-encode the file(s)") for w in result.warnings)
    assert read_target(tmp_path / "out" / "t").equals(orders(20_000))  # the last commit, untouched
    assert staging_debris(tmp_path / "out") == []


def test_what_polars_refuses_hygges_writer_moves(tmp_path: Path) -> None:
    # bytes that are not UTF-8 in a string column (polars refuses them, Arrow keeps them as they are), and a zstd
    # level polars does not know: polars fails, its parts are dropped, hygge's own reader and writer move the rows
    not_utf8 = pa.array([b"ok", b"\xff\xfe", None], pa.binary()).view(pa.string())
    source(tmp_path, "t", pa.table({"id": [1, 2, 3], "s": not_utf8}))
    source(tmp_path, "n", pa.table({"id": pa.array(range(1000), pa.int64())}))
    for name, store in (("t", {"compression": "zstd"}), ("n", {"compression": "zstd", "compression_level": -1})):
        result = move(tmp_path, name, {"path": "out", **store})
        assert result.ok and len(result.warnings) == 1, (name, result.error)
        assert result.warnings[0].startswith("polars could not re-encode the file(s) (")
        assert result.warnings[0].endswith("hygge's own reader and writer moved them")
        assert writers(tmp_path / "out" / name) == {"parquet-cpp-arrow"}
        assert len(list((tmp_path / "out" / name).glob("part-*"))) == 1 and result.rows_written == result.rows_read
        assert read_target(tmp_path / "out" / name).equals(pq.read_table(tmp_path / "in" / f"{name}.parquet"))


def test_time_zones_polars_cannot_name_keep_hygges_writer(tmp_path: Path) -> None:
    table = pa.table({"at": pa.array([1, 2, 3], pa.timestamp("us", "-05:30"))})
    source(tmp_path, "t", table)
    assert move(tmp_path, "t", {"path": "out", "compression": "zstd"}).warnings == []
    assert read_target(tmp_path / "out" / "t").equals(table)


def test_a_level_for_a_codec_without_levels_is_a_config_error(tmp_path: Path) -> None:
    source(tmp_path, "t", orders(10))
    with pytest.raises(hygge.ConfigError, match="compression_level needs a codec with levels"):
        move(tmp_path, "t", {"path": "out", "compression": "snappy", "compression_level": 3})


def test_footer_codec_writes_back_what_it_read(tmp_path: Path) -> None:
    """The Thrift reader and writer are exact inverses on real footers (many row groups, statistics, key-values)."""
    table = every_allowed_type(20_000)
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=1_000, compression="zstd")
    data = (tmp_path / "a.parquet").read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length:-8]
    assert encode(decode(footer)) == footer
    # the schema set afterwards is the one a reader restores, and the data pages are untouched
    wider = pa.schema([pa.field(f.name, pa.large_string() if f.type == pa.string() else f.type) for f in table.schema])
    set_arrow_schema(tmp_path / "a.parquet", wider)
    assert pq.read_schema(tmp_path / "a.parquet") == wider
    assert pq.read_table(tmp_path / "a.parquet").equals(table.cast(wider))
    assert pq.read_metadata(tmp_path / "a.parquet").metadata[b"ARROW:schema"] == arrow_schema_value(wider)
