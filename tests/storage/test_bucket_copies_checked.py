"""Parquet files taken whole from a bucket into a local parquet store: every page is decoded while the file
downloads, row group by row group, and what lands is the object as the move opened it.

The check used to start once the download ended (S3 → parquet, 10M rows: 0.6 s download + 1.0-1.3 s decode);
it now follows the bytes as they arrive, with the footer read when the move opened the file. An object replaced
in between must still fail the move as changed (and a retry land the new version), never as damaged, and never
land bytes nobody checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.errors import ReadError
from hygge.formats.parquet import check_arriving, row_group_end
from tests.buckets import Bucket
from tests.helpers import go_paused_at, read_target, write_project
from tests.stores.test_damaged_parquet import damage

COPIED = "2 file(s) copied whole: nothing about their rows changed"


def table(rows: int, version: int, start: int = 0) -> pa.Table:
    return pa.table({"id": pa.array(range(start, start + rows), pa.int64()),
                     "v": [f"v{version}-{i:07d}" for i in range(start, start + rows)]})


def write(path: Path, data: pa.Table) -> Path:
    """Several row groups, snappy and no dictionary: a garbled page never decodes by chance."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, path, compression="snappy", row_group_size=max(1, data.num_rows // 4), use_dictionary=False)
    return path


def put(bucket: Bucket, local: Path, name: str) -> None:
    bucket.storage().upload(local, f"raw/t/{name}")


def landed_files(root: Path) -> list[Path]:
    return sorted((root / "out" / "t").glob("*.parquet"))


@pytest.mark.parametrize("run_type", ["full_drop", "append"])
def test_files_from_a_bucket_land_as_they_are(tmp_path: Path, bucket: Bucket, run_type: str) -> None:
    sources = [write(tmp_path / "src" / "a.parquet", table(4_000, 1)),
               write(tmp_path / "src" / "b.parquet", table(6_000, 1, start=4_000))]
    for source in sources:
        put(bucket, source, source.name)
    home, store = {"type": "parquet", "path": bucket.url("raw")}, {"type": "parquet", "path": "out"}
    if run_type == "append":  # into an entity an earlier run made
        assert hygge.move(home, store, "t", root=tmp_path).ok
    moved = hygge.move(home, store, "t", root=tmp_path, run_type=run_type)
    assert moved.ok and moved.warnings == [COPIED], (moved.error, moved.warnings)
    copies = landed_files(tmp_path)[-2:]
    assert sorted(p.read_bytes() for p in copies) == sorted(p.read_bytes() for p in sources)
    rows = 10_000 * (2 if run_type == "append" else 1)
    assert moved.rows_in_target == rows and read_target(tmp_path / "out" / "t").num_rows == rows


def test_a_damaged_page_in_a_later_row_group_is_never_published(tmp_path: Path, bucket: Bucket) -> None:
    good = [write(tmp_path / "src" / "a.parquet", table(4_000, 1)),
            write(tmp_path / "src" / "b.parquet", table(6_000, 1, start=4_000))]
    for source in good:
        put(bucket, source, source.name)
    home, store = {"type": "parquet", "path": bucket.url("raw")}, {"type": "parquet", "path": "out"}
    assert hygge.move(home, store, "t", root=tmp_path).ok
    before = {p.name: p.read_bytes() for p in landed_files(tmp_path)}
    bad = write(tmp_path / "src" / "b2.parquet", table(6_000, 2, start=4_000))
    meta = pq.read_metadata(bad).row_group(2).column(1)  # the third row group's text column
    with open(bad, "r+b") as handle:
        handle.seek(meta.data_page_offset + meta.total_compressed_size // 2)
        handle.write(b"\xff" * 64)
    with pytest.raises((OSError, pa.ArrowException)):
        pq.read_table(bad)
    put(bucket, bad, "b.parquet")
    failed = hygge.move(home, store, "t", root=tmp_path, retries=0)
    assert not failed.ok and "damaged" in str(failed.error) and "b.parquet" in str(failed.error), failed.error
    assert {p.name: p.read_bytes() for p in landed_files(tmp_path)} == before, "the last version stays"


def test_the_check_decodes_each_row_group_once_its_bytes_are_there(tmp_path: Path) -> None:
    whole = write(tmp_path / "whole.parquet", table(8_000, 1))
    footer = pq.read_metadata(whole)
    ends = [row_group_end(footer.row_group(i)) for i in range(footer.num_row_groups)]
    assert footer.num_row_groups == 4 and ends == sorted(ends) and ends[-1] < whole.stat().st_size
    data, partial = whole.read_bytes(), tmp_path / "partial.parquet"
    partial.write_bytes(data[:ends[1]])  # two row groups have arrived, the download then ended
    asked: list[int] = []

    def held(offset: int) -> bool:
        asked.append(offset)
        return offset <= partial.stat().st_size

    assert check_arriving(partial, footer, held, "partial.parquet", 1 << 20) is False
    assert asked == ends[:3], "it waited for each row group's end, and stopped at the first that never came"

    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(data)
    damage(damaged, 1, "garble")  # row group 0's text column
    with pytest.raises(ReadError, match="damaged"):
        check_arriving(damaged, footer, lambda offset: True, "damaged.parquet", 1 << 20)
    assert check_arriving(whole, footer, lambda offset: True, "whole.parquet", 1 << 20) is True


@pytest.mark.parametrize("retries", [0, 2])
def test_an_object_replaced_after_the_move_opened_it_fails_as_changed_or_lands_on_the_retry(
        tmp_path: Path, bucket: Bucket, retries: int) -> None:
    """Both files are replaced while the first one downloads: the move says a file changed (not that one is
    damaged), lands nothing, and a retry lands the new versions."""
    a = write(tmp_path / "src" / "a.parquet", table(4_000, 1))
    b = write(tmp_path / "src" / "b.parquet", table(6_000, 1, start=4_000))
    for source in (a, b):
        put(bucket, source, source.name)
    write_project(tmp_path, f"""\
        name: replaced
        options: {{retries: {retries}, retry_backoff: 0}}
        flows:
          f:
            home: {{type: parquet, path: "{bucket.url('raw')}"}}
            store: {{type: parquet, path: out}}
            entities: [t]
        """)
    proc, release = go_paused_at(tmp_path, "download:1")
    for name, rows, start in (("a", 4_000, 0), ("b", 6_000, 4_000)):  # longer values: other page offsets
        put(bucket, write(tmp_path / "src" / f"{name}-new.parquet", table(rows, 22, start=start)), f"{name}.parquet")
    release.touch()
    out, err = proc.communicate(timeout=120)
    [move] = json.loads(out)["moves"]
    if retries == 0:
        assert proc.returncode != 0 and move["status"] == "failed", out + err
        error = json.dumps(move["error"])
        assert "changed between opening and copying" in error and "damaged" not in error, error
        assert not (tmp_path / "out" / "t").exists() or not landed_files(tmp_path)
        return
    assert proc.returncode == 0 and move["status"] == "ok", out + err
    expected = pa.concat_tables([table(4_000, 22), table(6_000, 22, start=4_000)])
    assert read_target(tmp_path / "out" / "t").sort_by("id").equals(expected)


def test_bytes_that_are_not_the_file_of_the_opened_footer_are_checked_by_their_own(tmp_path: Path,
                                                                                  bucket: Bucket) -> None:
    """The object replaced between the footer the check follows and the download: decoding the new bytes by the
    old footer fails, yet the file is not damaged; it is checked again by its own footer, and the move then
    fails as changed (refuse_changed). A new version that is damaged is still refused as damaged."""
    from concurrent.futures import ThreadPoolExecutor

    from hygge.homes.base import WholeParquet
    from hygge.storage.blob import Blob
    from hygge.stores.parquet_landing import copy_checked, refuse_changed

    old = write(tmp_path / "old.parquet", table(6_000, 1))
    new = write(tmp_path / "new.parquet", table(6_000, 22))
    with pytest.raises((OSError, pa.ArrowException)):
        pq.ParquetFile(new, metadata=pq.read_metadata(old)).read()  # the old footer does not read the new bytes
    put(bucket, new, "b.parquet")
    blob = Blob(bucket.storage(), "raw/t/b.parquet")
    whole = WholeParquet(files=[blob], schema=pq.read_schema(old), footer=lambda source: pq.read_metadata(old),
                         rows_of=lambda source: 6_000, changed=lambda source: True, show=str)
    copy = tmp_path / "copy.parquet"
    with ThreadPoolExecutor(1) as checker:
        copy_checked(blob, copy, whole, 1 << 20, checker, True).result()
    assert copy.read_bytes() == new.read_bytes()
    with pytest.raises(ReadError, match="changed between opening and copying") as changed:
        refuse_changed("t", pq.read_metadata(copy).num_rows, 6_000, [blob], whole)
    assert changed.value.transient

    damage(new, 1, "garble")
    put(bucket, new, "b.parquet")
    with ThreadPoolExecutor(1) as checker, pytest.raises(ReadError, match="damaged"):
        copy_checked(blob, tmp_path / "copy2.parquet", whole, 1 << 20, checker, True).result()
