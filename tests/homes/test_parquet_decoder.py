"""Who decodes a parquet home's pages (`decoder`, formats/parquet_decode.py): polars or pyarrow, same rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import hygge
from hygge.formats.parquet_decode import polars_decodes
from hygge.formats.parquet_footer import pages_carry_checksums
from hygge.samples import orders
from tests.helpers import read_target
from tests.stores.test_parquet_polars import every_allowed_type, source


def move(tmp: Path, name: str, decoder: str) -> hygge.MoveResult:
    # copy_unchanged: false, or the store would copy the files whole without decoding a page
    return hygge.move({"type": "parquet", "path": "in", "decoder": decoder},
                      {"type": "parquet", "path": "out", "copy_unchanged": False}, name, root=tmp)


def decodes(tmp: Path, name: str, setting: str) -> bool:
    path = tmp / "in" / f"{name}.parquet"
    handle = pq.ParquetFile(path)
    meta = handle.metadata
    return polars_decodes(setting, path, meta, handle.schema_arrow, handle.schema_arrow,
                          list(range(meta.num_row_groups)))


def test_polars_decodes_every_allowed_type_exactly(tmp_path: Path) -> None:
    table = every_allowed_type(20_000)
    source(tmp_path, "t", table, row_group_size=3_000)
    assert decodes(tmp_path, "t", "polars") and not decodes(tmp_path, "t", "pyarrow")
    assert not decodes(tmp_path, "t", "auto")  # a small file: importing polars would cost more than it saves
    result = move(tmp_path, "t", "polars")
    assert result.ok and result.warnings == [], result.error
    back = read_target(tmp_path / "out" / "t")
    assert back.schema == table.schema and back.equals(table)


def test_what_polars_cannot_decode_pyarrow_reads_from_that_row_group_on(tmp_path: Path) -> None:
    texts = [f"row {i}".encode() for i in range(3_000)]
    texts[1_500] = b"\xff\xfe not UTF-8"  # Arrow keeps such bytes as they are; polars refuses them
    table = pa.table({"id": pa.array(range(3_000), pa.int64()), "s": pa.array(texts, pa.binary()).view(pa.string())})
    source(tmp_path, "t", table, row_group_size=1_000)
    assert decodes(tmp_path, "t", "polars")
    result = move(tmp_path, "t", "polars")
    assert result.ok, result.error
    (note,) = result.warnings
    assert note.startswith("t.parquet: polars could not decode row group 1 (")
    assert note.endswith("pyarrow read the file from there on")
    assert read_target(tmp_path / "out" / "t").equals(table)  # row group 0 from polars, 1 and 2 from pyarrow


def test_a_damaged_file_is_named_whoever_decodes_it(tmp_path: Path) -> None:
    source(tmp_path, "plain", orders(50_000))
    source(tmp_path, "checked", orders(50_000), write_page_checksum=True)
    assert decodes(tmp_path, "plain", "polars")
    assert not decodes(tmp_path, "checked", "polars")  # pages with checksums go to pyarrow, which verifies them
    for name in ("plain", "checked"):
        path = tmp_path / "in" / f"{name}.parquet"
        with open(path, "r+b") as file:  # garbage in the middle of the data pages, the footer intact
            file.seek(path.stat().st_size // 3)
            file.write(bytes(range(256)) * 8)
        result = move(tmp_path, name, "polars")
        assert result.status == "failed", name
        assert "could not be decoded" in str(result.error) and f"{name}.parquet" in str(result.error)
        assert not (tmp_path / "out" / name).exists()


def test_int96_timestamps_stay_with_pyarrow(tmp_path: Path) -> None:
    table = pa.table({"at": pa.array([0, 1_000_000_007, None], pa.timestamp("ns"))})
    source(tmp_path, "t", table, use_deprecated_int96_timestamps=True)
    assert not decodes(tmp_path, "t", "polars")
    assert move(tmp_path, "t", "polars").ok
    assert read_target(tmp_path / "out" / "t").equals(table)


def test_checksums_are_found_in_the_first_page_header(tmp_path: Path) -> None:
    table = pa.table({"id": range(1_000), "s": ["x"] * 1_000})
    for checksums in (False, True):
        for dictionary in (False, True):
            path = tmp_path / f"{checksums}-{dictionary}.parquet"
            pq.write_table(table, path, write_page_checksum=checksums, use_dictionary=dictionary)
            assert pages_carry_checksums(path, pq.read_metadata(path)) is checksums


def test_partitions_decode_their_own_row_groups(tmp_path: Path) -> None:
    table = every_allowed_type(12_000)
    source(tmp_path, "t", table, row_group_size=1_000)
    result = hygge.move({"type": "parquet", "path": "in", "decoder": "polars", "partitions": 2},
                        {"type": "parquet", "path": "out", "copy_unchanged": False}, "t", root=tmp_path)
    assert result.ok and result.warnings == [], result.error
    assert len(list((tmp_path / "out" / "t").glob("part-*.parquet"))) == 2
    assert read_target(tmp_path / "out" / "t").equals(table)  # each part its own run of row groups, in order
