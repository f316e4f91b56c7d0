"""Parquet files a move changes nothing about are uploaded to a bucket as they are, checked first.

As into a local parquet store (tests/stores/test_file_stores.py): the part is the source's bytes, its footer's
rows are the rows the move opened, every page decodes before it is uploaded, and a kill leaves the last version.
Each test runs on every bucket family (S3, Azure Blob, GCS).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.storage.manifest_object import read_published
from tests.buckets import Bucket
from tests.helpers import run_hygge, write_project
from tests.stores.test_damaged_parquet import damage

WHOLE = "1 file(s) uploaded whole: nothing about their rows changed"


def table(rows: int, version: int) -> pa.Table:
    return pa.table({"id": pa.array(range(rows), pa.int64()), "v": [f"v{version}-{i:07d}" for i in range(rows)]})


def write(path: Path, rows: int, version: int) -> pa.Table:
    """zstd in two row groups: hygge's own writer would choose snappy and one, so a copy is told by its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = table(rows, version)
    pq.write_table(data, path, compression="zstd", row_group_size=rows // 2 or 1, use_dictionary=False)
    return data


def parts(bucket: Bucket, entity: str = "t") -> list[str]:
    published = read_published(bucket.storage(), f"lake/{entity}/.hygge-manifest.json")
    assert published is not None
    return [p.file for p in published.parts]


def object_bytes(bucket: Bucket, key: str) -> bytes:
    found = bucket.storage().read(key)
    assert found is not None, key
    return bytes(found[0])


def test_full_drop_and_append_upload_the_files_as_they_are(tmp_path: Path, bucket: Bucket) -> None:
    store = {"type": "parquet", "path": bucket.url("lake")}
    first = write(tmp_path / "in" / "t.parquet", 6_000, 1)
    moved = hygge.move({"type": "parquet", "path": "in"}, store, "t", root=tmp_path)
    assert moved.ok and moved.rows_in_target == 6_000 and moved.warnings == [WHOLE], (moved.error, moved.warnings)
    [part] = parts(bucket)
    assert object_bytes(bucket, f"lake/t/{part}") == (tmp_path / "in" / "t.parquet").read_bytes()

    second = write(tmp_path / "in" / "t.parquet", 4_000, 2)
    appended = hygge.move({"type": "parquet", "path": "in"}, store, "t", root=tmp_path, run_type="append")
    assert appended.ok and appended.rows_in_target == 10_000 and WHOLE in appended.warnings, appended.warnings
    assert len(parts(bucket)) == 2
    landed = bucket.read_back(tmp_path, "t", key="v")
    assert landed.equals(pa.concat_tables([first, second]).sort_by("v"))

    replaced = hygge.move({"type": "parquet", "path": "in"}, store, "t", root=tmp_path)
    assert replaced.ok and replaced.rows_in_target == 4_000 and replaced.warnings == [WHOLE], replaced.error
    [part] = parts(bucket)
    assert object_bytes(bucket, f"lake/t/{part}") == (tmp_path / "in" / "t.parquet").read_bytes()


def test_a_file_on_a_bucket_goes_to_another_prefix_as_it_is(tmp_path: Path, bucket: Bucket) -> None:
    write(tmp_path / "in" / "t.parquet", 3_000, 1)
    assert hygge.move({"type": "parquet", "path": "in"}, {"type": "parquet", "path": bucket.url("raw")}, "t",
                      root=tmp_path).ok
    [raw] = parts_of(bucket, "raw")
    moved = hygge.move({"type": "parquet", "path": bucket.url("raw")}, {"type": "parquet", "path": bucket.url("lake")},
                       "t", root=tmp_path)
    assert moved.ok and moved.rows_in_target == 3_000 and moved.warnings == [WHOLE], (moved.error, moved.warnings)
    [part] = parts(bucket)
    assert object_bytes(bucket, f"lake/t/{part}") == object_bytes(bucket, f"raw/t/{raw}")


def parts_of(bucket: Bucket, prefix: str) -> list[str]:
    published = read_published(bucket.storage(), f"{prefix}/t/.hygge-manifest.json")
    assert published is not None
    return [p.file for p in published.parts]


def test_a_damaged_page_is_never_uploaded_and_the_last_version_stays(tmp_path: Path, bucket: Bucket) -> None:
    store = {"type": "parquet", "path": bucket.url("lake")}
    source = tmp_path / "in" / "t.parquet"
    good = write(source, 6_000, 1)
    assert hygge.move({"type": "parquet", "path": "in"}, store, "t", root=tmp_path).ok
    before = {e.name for e in bucket.storage().entries("lake/t")}
    pq.write_table(table(6_000, 2), source, compression="snappy", use_dictionary=False)  # zstd garbled may decode
    damage(source, 1, "garble")
    with pytest.raises((OSError, pa.ArrowException)):
        pq.read_table(source)  # the footer reads, the pages do not
    failed = hygge.move({"type": "parquet", "path": "in"}, store, "t", root=tmp_path, retries=0)
    assert not failed.ok and "damaged" in str(failed.error) and "t.parquet" in str(failed.error), failed.error
    assert {e.name for e in bucket.storage().entries("lake/t")} == before, "nothing of the failed run was left"
    assert bucket.read_back(tmp_path, "t").equals(good)


@pytest.mark.parametrize("point", ["write:1", "before-publish", "after-publish"])
def test_a_kill_while_files_go_up_whole_leaves_a_whole_version_and_the_rerun_heals(
        tmp_path: Path, bucket: Bucket, point: str) -> None:
    write_project(tmp_path, f"""\
        name: whole
        options: {{retries: 0}}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {{type: parquet, path: "{bucket.url('lake')}"}}
            entities: [t]
        """)
    old = write(tmp_path / "in" / "t.parquet", 2_000, 1)
    run_hygge("go", cwd=tmp_path, check=0)
    new = write(tmp_path / "in" / "t.parquet", 8_000, 2)
    killed = run_hygge("go", cwd=tmp_path, env={"HYGGE_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    published = read_published(bucket.storage(), "lake/t/.hygge-manifest.json")
    assert published is not None
    assert published.rows == (new.num_rows if point == "after-publish" else old.num_rows)
    rerun = json.loads(run_hygge("go", "--json", cwd=tmp_path, check=0).stdout)["moves"][0]
    assert rerun["status"] == "ok" and rerun["rows_in_target"] == new.num_rows, rerun
    assert bucket.read_back(tmp_path, "t").equals(new)
    manifest = read_published(bucket.storage(), "lake/t/.hygge-manifest.json")
    assert manifest is not None
    referenced = {p.file for p in manifest.parts} | {r["file"] for r in manifest.replaced}
    objects = {e.name for e in bucket.storage().entries("lake/t")} - {".hygge-manifest.json"}
    assert objects == referenced, "the killed run's uploads were removed by the next run"
