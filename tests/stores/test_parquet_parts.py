"""Parquet parts made of row groups encoded on several threads and joined in order (formats/parquet_join.py)."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.errors import WriteError
from hygge.formats.parquet import ParquetPartWriter
from hygge.formats.parquet_join import copy_range
from hygge.samples import orders
from hygge.stores.parquet import ParquetStoreConfig
from tests.stores.test_parquet_polars import every_allowed_type, source


def only_part(folder: Path) -> Path:
    (part,) = folder.glob("part-*.parquet")
    return part


def test_row_groups_encoded_apart_make_one_exact_file(tmp_path: Path) -> None:
    table = every_allowed_type(20_000)
    source(tmp_path, "t", table)
    result = hygge.move({"type": "parquet", "path": "in"},
                        {"type": "parquet", "path": "out", "copy_unchanged": False, "row_group_bytes": "64KiB"},
                        "t", root=tmp_path)
    assert result.ok, result.error
    part = only_part(tmp_path / "out" / "t")
    meta = pq.read_metadata(part)
    assert meta.num_rows == 20_000 and meta.num_row_groups >= 20
    handle = pq.ParquetFile(part, page_checksum_verification=True)  # every page's checksum still holds
    assert handle.read().equals(table)
    start = 0
    for i in range(meta.num_row_groups):  # each row group's offsets lead to its own pages, in order
        group = handle.read_row_group(i)
        assert group.equals(table.slice(start, group.num_rows))
        stats = meta.row_group(i).column(table.schema.get_field_index("u32")).statistics
        assert (stats.min, stats.max) == (2**32 - start - group.num_rows, 2**32 - 1 - start)
        start += group.num_rows
    # another engine that checks offsets strictly reads the same rows
    total = duckdb.connect().execute(f"SELECT count(*), sum(i64), count(text) FROM read_parquet('{part}')").fetchone()
    expected = sum(v for v in table["i64"].to_pylist() if v is not None)
    assert total == (20_000, expected, 20_000 - table["text"].null_count)
    assert not list(part.parent.glob(".part-*"))  # no encoder files left beside it


def test_a_part_of_many_row_groups_rotates_near_the_target_size(tmp_path: Path) -> None:
    source(tmp_path, "t", orders(200_000))
    result = hygge.move({"type": "parquet", "path": "in"},
                        {"type": "parquet", "path": "out", "copy_unchanged": False, "row_group_bytes": "256KiB",
                         "target_file_size": "1MiB"}, "t", root=tmp_path)
    assert result.ok, result.error
    parts = sorted((tmp_path / "out" / "t").glob("part-*.parquet"))
    sizes = [p.stat().st_size for p in parts]
    assert len(parts) >= 3 and max(sizes[:-1]) < 2 * 2**20, sizes  # what is still encoding counts toward the size
    assert pa.concat_tables([pq.read_table(p) for p in parts]).equals(orders(200_000))


def test_an_empty_part_holds_the_schema(tmp_path: Path) -> None:
    schema = every_allowed_type(1).schema
    writer = ParquetPartWriter(tmp_path / "part-00001.parquet", schema, ParquetStoreConfig(type="parquet", path="x"))
    writer.close()
    assert pq.read_table(tmp_path / "part-00001.parquet").equals(schema.empty_table())
    assert [p.name for p in tmp_path.iterdir()] == ["part-00001.parquet"]


def test_an_encoder_failure_is_a_write_error_and_leaves_only_the_part(tmp_path: Path) -> None:
    schema = pa.schema([("gap", pa.month_day_nano_interval())])  # parquet has no such type
    writer = ParquetPartWriter(tmp_path / "part-00001.parquet", schema, ParquetStoreConfig(type="parquet", path="x"))
    writer.write(pa.record_batch([pa.array([(1, 2, 3)], pa.month_day_nano_interval())], schema=schema))
    with pytest.raises(WriteError, match="parquet cannot hold this schema"):
        writer.close()
    assert [p.name for p in tmp_path.iterdir()] == ["part-00001.parquet"]  # the landing throws the part away


def test_row_groups_are_copied_through_user_space_where_the_kernel_cannot(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4_000
    with open(tmp_path / "joined", "wb", buffering=0) as sink:
        sink.write(b"head")
        copy_range(io.BytesIO(data), sink, 100, 700_000)  # an in-memory file has no descriptor to copy from
        with open(tmp_path / "source", "wb") as file:
            file.write(data)
        with open(tmp_path / "source", "rb") as file:
            copy_range(file, sink, 5, 10)  # and a real file goes through copy_file_range
    assert (tmp_path / "joined").read_bytes() == b"head" + data[100:700_100] + data[5:15]
