"""The first run of an incremental entity with keys is a full load into a table keyed on them: rows that repeat
a key are refused, naming it, and nothing is published. The parquet store published every version of a row of
a CDC folder (exit 0) where the database stores refused, and so did Delta, Iceberg and parquet on a bucket (a
later merge of such a key then updated both rows); `merge` keeps the latest of each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.errors import WriteError
from tests.buckets import Bucket, make_bucket
from tests.contract import test_iceberg
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target

engine, place = engine_fixtures({**MERGE_ENGINES, "iceberg": test_iceberg.ENGINE})


def cdc_folder(root: Path) -> dict[str, Any]:
    folder = root / "src" / "t"
    folder.mkdir(parents=True)
    for name, ids, v in (("1.parquet", [1, 2], 1), ("2.parquet", [2], 2)):  # key 2 again, a later version
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "v": pa.array([v] * len(ids), pa.int64())}),
                       folder / name)
    return {"type": "parquet", "path": str(root / "src")}


def refused_then_merged(root: Path, home: dict[str, Any], store: dict[str, Any], back: dict[str, Any]) -> None:
    refused = hygge.move(home, store, "t", run_type="incremental", root=root, keys=["id"], watermark="v")
    assert not refused.ok and isinstance(refused.error, WriteError) and not refused.committed, refused.error
    assert "the rows repeat values of `keys` (id)" in str(refused.error) and "id=2" in str(refused.error)
    merged = hygge.move(home, store, "t", run_type="merge", root=root, keys=["id"], watermark="v")
    assert merged.ok, merged.error
    checked = hygge.move(back, {"type": "parquet", "path": str(root / "check")}, "t", root=root)
    assert checked.ok, checked.error
    assert sorted(read_target(root / "check" / "t").to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "v": 1}, {"id": 2, "v": 2}]


def test_repeated_keys_in_the_first_keyed_load_are_refused_and_merge_takes_them(engine: Engine, place: Place) -> None:
    refused_then_merged(place.root, cdc_folder(place.root), engine.store(place), engine.home(place))


def bucket_ends(family: str, bucket: Bucket, root: Path) -> dict[str, Any]:
    if family == "delta":
        return {"type": "delta", "path": bucket.url("lake"), "connection": bucket.connection()}
    if family == "iceberg":
        return {"type": "iceberg", "namespace": "hygge", "connection": {
            "type": "iceberg", "catalog": "sql", "path": str(root / "catalog.db"),
            "warehouse": bucket.url("warehouse"), "storage": bucket.connection()}}
    return {"type": "parquet", "path": bucket.url("lake"), "connection": bucket.connection()}


# The lake tables write through the same code on every bucket family: S3 stands for them.
@pytest.mark.parametrize(("family", "server"), [("parquet", "s3"), ("parquet", "azure"), ("parquet", "gcs"),
                                                ("delta", "s3"), ("iceberg", "s3")])
def test_on_a_bucket_too(tmp_path: Path, family: str, server: str) -> None:
    bucket = make_bucket(server, f"first-keyed-{family}")
    ends = bucket_ends(family, bucket, tmp_path)
    refused_then_merged(tmp_path, cdc_folder(tmp_path), ends, ends)


def test_the_key_spool_compares_uuids_and_dictionary_keys_by_value() -> None:
    """Keys of every Arrow type a Home gives: UUIDs (an extension over fixed-size binary) and dictionary-encoded
    text repeat by their values, also across batches."""
    import uuid

    from hygge.core.plan import MovePlan
    from hygge.stores.key_spool import KeySpool

    plan = MovePlan(flow="f", entity="t", source="t", target="t", home={}, store={}, run_type="full_drop", root=".",
                    keys=("u", "c"), key_tables=True)
    same = uuid.UUID(int=7).bytes
    first = pa.table({"u": pa.array([same, uuid.UUID(int=8).bytes], pa.uuid()),
                      "c": pa.array(["a", "b"]).dictionary_encode(), "v": [1, 2]})
    again = pa.table({"u": pa.array([same], pa.uuid()), "c": pa.array(["a"]).dictionary_encode(), "v": [3]})
    spool = KeySpool(plan)
    try:
        spool.write(first)
        spool.refuse_repeats("here")  # no key repeats within the first batch
    finally:
        spool.close()
    spool = KeySpool(plan)
    try:
        for table in (first, again):
            for batch in table.to_batches():
                spool.write(batch)
        with pytest.raises(WriteError, match=r"the rows repeat values of `keys` \(u, c\)") as refused:
            spool.refuse_repeats("here")
        assert "c='a' (2 rows)" in str(refused.value), refused.value
    finally:
        spool.close()
    assert not spool.folder.exists()
