"""Delta tables on buckets: the delta Store and Home on S3 (moto) and Azure (Azurite), with the guarantees of a
local disk. Every client gets the emulator's endpoint and test credentials (tests/buckets.py); nothing reaches a
real cloud.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

import hygge
from hygge.errors import ConfigError
from hygge.lake.bucket import delta_options, refuse_unsafe
from hygge.storage.address import parse
from hygge.storage.settings import settings_for
from tests.buckets import Bucket, make_bucket


@pytest.fixture(params=["s3", "azure"])
def lake(request: pytest.FixtureRequest) -> Bucket:
    return make_bucket(request.param, request.node.name)


@pytest.fixture
def s3(request: pytest.FixtureRequest) -> Bucket:
    return make_bucket("s3", request.node.name)


def rows(ids: list[int], version: int) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"item {i} v{version}" for i in ids],
                     "price": pa.array([Decimal(i) / 4 for i in ids], pa.decimal128(10, 2))})


def store(bucket: Bucket) -> dict[str, Any]:
    return {"type": "delta", "path": bucket.url("lake"), "connection": bucket.connection()}


def move(tmp: Path, bucket: Bucket, table: pa.Table | None, file: str = "part.parquet",
         **kwargs: Any) -> hygge.MoveResult:
    """One run from the local folder ``in/items/`` (``file`` written with ``table`` first) to the bucket."""
    (tmp / "in" / "items").mkdir(parents=True, exist_ok=True)
    if table is not None:
        pq.write_table(table, tmp / "in" / "items" / file)
    result = hygge.move({"type": "parquet", "path": "in"}, store(bucket), "items", root=tmp, retries=0, **kwargs)
    assert result.ok, f"{result.error}\n{result.traceback}"
    return result


def delta(bucket: Bucket) -> DeltaTable:
    address = parse(bucket.url("lake", "items"))
    return DeltaTable(address.url, storage_options=delta_options(settings_for(address, bucket.connection(), {})))


def read_back(tmp: Path, bucket: Bucket) -> pa.Table:
    """The table as hygge's delta Home on the bucket reads it, landed in a local parquet folder."""
    back = tmp / "back"
    result = hygge.move({"type": "delta", "path": bucket.url("lake"), "connection": bucket.connection()},
                        {"type": "parquet", "path": str(back)}, "items", root=tmp)
    assert result.ok, f"{result.error}\n{result.traceback}"
    return pq.read_table(back / "items").sort_by("id")


def test_every_run_type_lands_on_the_bucket_as_one_version_and_reads_back_through_the_delta_home(
        tmp_path: Path, lake: Bucket) -> None:
    assert move(tmp_path, lake, rows([1, 2, 3], 1)).rows_in_target == 3
    assert delta(lake).version() == 0
    move(tmp_path, lake, rows([4], 1), run_type="append")
    merged = move(tmp_path, lake, rows([2, 5], 2), run_type="merge", keys=["id"])
    assert merged.rows_in_target == 5 and delta(lake).version() == 2, "one table version per run"
    expected = pa.concat_tables([rows([1], 1), rows([2], 2), rows([3, 4], 1), rows([5], 2)])
    assert read_back(tmp_path, lake).equals(expected), "the delta Home on the bucket reads what was merged"
    assert delta(lake).to_pyarrow_table().sort_by("id").equals(expected), "delta-rs itself reads the same"
    assert move(tmp_path, lake, rows([9], 3)).rows_in_target == 1, "full_drop replaces the table"
    assert delta(lake).version() == 3 and delta(lake).to_pyarrow_table().column("id").to_pylist() == [9]
    work = tmp_path / ".hygge" / "lake-work"
    assert not work.exists() or not any(work.iterdir()), "each run's work folder is gone after it"


def test_incremental_on_the_bucket_adds_only_new_files_and_its_state_is_in_the_log(
        tmp_path: Path, s3: Bucket) -> None:
    move(tmp_path, s3, rows([1, 2], 1), run_type="incremental")
    move(tmp_path, s3, rows([3], 1), file="more.parquet", run_type="incremental")
    again = move(tmp_path, s3, None, run_type="incremental")
    assert again.rows_written == 0 and again.rows_in_target == 3, "files already loaded are not loaded again"
    table = delta(s3)
    assert sorted(table.to_pyarrow_table().column("id").to_pylist()) == [1, 2, 3]
    assert table.version() == 2, "the run that found nothing new still commits its state: one version"


def test_unsafe_commit_settings_are_refused_with_what_to_do(s3: Bucket) -> None:
    settings = settings_for(parse(s3.url("lake")), s3.connection(), {})
    with pytest.raises(ConfigError) as caught:
        refuse_unsafe(settings, {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"})
    text = str(caught.value)
    assert "AWS_S3_ALLOW_UNSAFE_RENAME=true" in text and "conditional" in text
    refuse_unsafe(settings, {"AWS_S3_ALLOW_UNSAFE_RENAME": "false"})  # said off: nothing to refuse
    assert delta_options(settings)["conditional_put"] == "etag"


def test_credentials_never_appear_in_errors_or_run_reports(tmp_path: Path, s3: Bucket) -> None:
    secret = s3.connection()["secret_access_key"]
    ok = move(tmp_path, s3, rows([1], 1))
    assert secret not in repr(ok) and secret not in str(ok.location)
    missing = {**store(s3), "path": "s3://no-such-bucket-hygge/lake"}
    failed = hygge.move({"type": "parquet", "path": "in"}, missing, "items", root=tmp_path, retries=0)
    assert not failed.ok and failed.error is not None
    shown = f"{failed.error}\n{failed.traceback}\n{failed!r}"
    assert "no-such-bucket-hygge" in shown, "the error names the table"
    assert secret not in shown, "the secret is never in the error"


def test_delta_on_the_gcs_emulator_fails_loudly_naming_the_table(tmp_path: Path) -> None:
    """fake-gcs-server does not serve the XML API that delta-rs (object_store) writes through: the move fails
    with the table's address and the server's answer, and leaves nothing committed. Should a newer emulator
    serve it, this test fails and the README's GCS note is to be revised."""
    gcs = make_bucket("gcs", "delta-on-gcs")
    (tmp_path / "in" / "items").mkdir(parents=True)
    pq.write_table(rows([1], 1), tmp_path / "in" / "items" / "part.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, store(gcs), "items", root=tmp_path, retries=0)
    assert not result.ok and result.error is not None
    assert gcs.url("lake") in str(result.error) and "invalid uploadType" in str(result.error)
    assert not [e for e in gcs.storage().entries("lake") if "/_delta_log/" in e.key], "nothing was committed"


class _NoConditions:
    """A bucket server that ignores If-None-Match: hygge's storage on moto, with every create a plain put."""

    def __init__(self, storage: Any):
        self.inner = storage

    def create(self, key: str, data: bytes) -> str:
        self.inner.put(key, data)
        return ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_server_without_conditional_writes_is_refused_before_anything_is_written(s3: Bucket) -> None:
    from hygge.lake.bucket import LakeBucket, check_conditional_put, open_bucket

    real = open_bucket(s3.url("lake", "other"), s3.connection(), {})
    check_conditional_put(real)  # moto honours If-None-Match
    blind = LakeBucket(parse(s3.url("lake", "blind")), real.settings, _NoConditions(real.storage))  # type: ignore[arg-type]
    import hygge.lake.bucket as lake_bucket

    lake_bucket._checked.clear()
    with pytest.raises(ConfigError) as caught:
        check_conditional_put(blind)
    assert "conditional writes" in str(caught.value) and real.settings.secret not in str(caught.value)
    assert not real.storage.entries(blind.key("_hygge")), "the probe object is deleted"


def test_another_writer_committing_meanwhile_makes_the_move_retry_and_nothing_is_lost(
        tmp_path: Path, s3: Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hygge run paused just before its commit while another writer (delta-rs itself) commits to the table:
    the conditional put refuses hygge's stale commit, the move is retried whole, and every row is there once."""
    import threading
    import time

    from deltalake import write_deltalake

    from hygge.core import faults

    move(tmp_path, s3, rows([1, 2], 1))
    address = parse(s3.url("lake", "items"))
    options = delta_options(settings_for(address, s3.connection(), {}))
    pq.write_table(rows([3], 1), tmp_path / "in" / "items" / "more.parquet")
    faults._counts.clear()
    monkeypatch.setenv("HYGGE_PAUSE_AT", "before-publish:1:1")
    outcome: list[hygge.MoveResult] = []
    runner = threading.Thread(target=lambda: outcome.append(hygge.move(
        {"type": "parquet", "path": "in"}, store(s3), "items", root=tmp_path, run_type="incremental", retries=1,
        retry_backoff=0)))
    runner.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until the paused run's data file is uploaded (the first run's is there)
        if len([e for e in s3.storage().entries("lake/items") if e.key.endswith(".parquet")]) > 1:
            break
        time.sleep(0.05)
    write_deltalake(address.url, rows([100], 9), mode="append", storage_options=options)  # the other writer
    runner.join(60)
    result = outcome[0]
    assert result.ok, result.error
    assert result.attempts == 2, "the stale commit was refused and the move retried whole"
    ids = sorted(delta(s3).to_pyarrow_table().column("id").to_pylist())
    assert ids == [1, 2, 3, 100], "the other writer's row and the run's rows, each once"


def test_every_type_of_the_all_types_table_round_trips_exactly_through_delta_on_s3(
        tmp_path: Path, s3: Bucket) -> None:
    from tests.contract import test_delta
    from tests.contract.alltypes import all_types
    from tests.contract.suite import assert_equal, source_dir

    data = all_types().drop_columns(sorted(test_delta.ENGINE.unsupported()))
    source_dir(tmp_path, "items", data)
    landed = hygge.move({"type": "parquet", "path": "src"}, store(s3), "items", root=tmp_path, retries=0)
    assert landed.ok, landed.error
    assert_equal(read_back(tmp_path, s3), test_delta.ENGINE.expected(data).sort_by("id"))


def test_debug_checks_a_delta_store_and_home_on_a_bucket(tmp_path: Path, s3: Bucket) -> None:
    from hygge.core.registry import load

    move(tmp_path, s3, rows([1], 1))
    connections = {"lake": s3.connection()}
    delta_store = load("store", "delta")(load("store", "delta").Config.model_validate(
        {"type": "delta", "path": s3.url("lake"), "connection": "lake"}), root=tmp_path, connections=connections)
    [check] = delta_store.check()
    assert check.ok and "writing and deleting allowed" in check.detail, check
    wrong = load("store", "delta")(load("store", "delta").Config.model_validate(
        {"type": "delta", "path": "s3://no-such-bucket-hygge/lake", "connection": "lake"}), root=tmp_path,
        connections=connections)
    [bad] = wrong.check()
    assert not bad.ok and s3.connection()["secret_access_key"] not in f"{bad}"
    delta_home = load("home", "delta")(load("home", "delta").Config.model_validate(
        {"type": "delta", "path": s3.url("lake"), "connection": "lake"}), root=tmp_path, connections=connections)
    [found] = delta_home.check()
    assert found.ok and "1 Delta table(s)" in found.detail, found
    assert delta_home.discover() == [("items", "items")]


def test_the_cloud_environment_is_enough_without_a_connection(
        tmp_path: Path, s3: Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "in" / "items").mkdir(parents=True)
    pq.write_table(rows([1, 2], 1), tmp_path / "in" / "items" / "part.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "delta", "path": s3.url("lake")}, "items",
                        root=tmp_path, retries=0)
    assert result.ok, result.error
    assert sorted(delta(s3).to_pyarrow_table().column("id").to_pylist()) == [1, 2]


def test_an_abfss_address_of_an_azure_account_is_a_bucket_table(tmp_path: Path) -> None:
    azure = make_bucket("azure", "abfss")
    account = azure.settings.account_name
    address = f"abfss://{azure.settings.bucket}@{account}.dfs.core.windows.net/{azure.prefix}/lake"
    (tmp_path / "in" / "items").mkdir(parents=True)
    pq.write_table(rows([1, 2, 3], 1), tmp_path / "in" / "items" / "part.parquet")
    config = {"type": "delta", "path": address, "connection": azure.connection()}
    assert hygge.move({"type": "parquet", "path": "in"}, config, "items", root=tmp_path, retries=0).ok
    back = hygge.move(config, {"type": "parquet", "path": "back"}, "items", root=tmp_path)
    assert back.ok, back.error
    assert pq.read_table(tmp_path / "back" / "items").sort_by("id").equals(rows([1, 2, 3], 1))
    assert [e for e in azure.storage().entries("lake/items") if "/_delta_log/" in f"/{e.key}"], "in the container"
