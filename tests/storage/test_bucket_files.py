"""File Homes and Stores on each bucket family (S3, Azure Blob, GCS), against real servers on 127.0.0.1.

A newcomer's flow from a local folder into a bucket and back is exact, for every file format and run type;
credentials come from each cloud's environment or a named connection and never show; a URL hygge cannot
serve is refused instead of becoming a local folder named `s3:`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.buckets import Bucket
from tests.contract import test_csv, test_jsonl
from tests.contract.alltypes import all_types
from tests.contract.suite import Place, assert_equal, source_dir
from tests.helpers import read_target, run_hygge, write_project

TEXT_ENGINES = {"csv": test_csv.ENGINE, "jsonl": test_jsonl.ENGINE}


def back(tmp_path: Path, home: dict[str, object], entity: str, target: str) -> pa.Table:
    result = hygge.move(home, {"type": "parquet", "path": "back"}, entity, root=tmp_path, target=target)
    assert result.ok, result.error
    return read_target(tmp_path / "back" / target).sort_by("id")


@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl"])
def test_the_all_types_table_into_a_bucket_and_back_is_exact(tmp_path: Path, bucket: Bucket, kind: str) -> None:
    table = all_types()
    dropped = TEXT_ENGINES[kind].unsupported() if kind in TEXT_ENGINES else []
    data = table.drop_columns(dropped)
    source = source_dir(tmp_path, "alltypes", data)
    store = {"type": kind, "path": bucket.url("lake")}
    moved = hygge.move(source, store, "alltypes", root=tmp_path)
    assert moved.ok and moved.rows_in_target == data.num_rows, moved.error
    if kind in TEXT_ENGINES:
        home = {**TEXT_ENGINES[kind].home_for(Place(tmp_path, "x"), data.schema), "path": bucket.url("lake")}
        expected = TEXT_ENGINES[kind].expected(table)
    else:
        home, expected = dict(store), table
    assert_equal(back(tmp_path, home, "alltypes", f"alltypes_{kind}"), expected)


def test_every_run_type_on_a_bucket_keeps_old_or_new_and_reads_what_the_manifest_says(tmp_path: Path,
                                                                                     bucket: Bucket) -> None:
    (tmp_path / "in").mkdir()
    store = {"type": "parquet", "path": bucket.url("lake")}

    def write(ids: range, version: int) -> None:
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "v": [f"v{version}-{i}" for i in ids]}),
                       tmp_path / "in" / "t.parquet")

    def move(**settings: object) -> hygge.MoveResult:
        result = hygge.move({"type": "parquet", "path": "in"}, store, "t", root=tmp_path, **settings)
        assert result.ok, result.error
        return result

    write(range(100), 1)
    assert move().rows_in_target == 100
    assert move(run_type="append").rows_in_target == 200
    write(range(50, 150), 2)
    assert move(run_type="merge", keys=["id"]).rows_in_target == 150
    landed = back(tmp_path, store, "t", "merged")
    assert landed.column("v").to_pylist() == [f"v1-{i}" for i in range(50)] + [f"v2-{i}" for i in range(50, 150)]
    assert move().rows_in_target == 100  # full_drop: only this run's rows
    # The bucket holds the replaced versions' parts too (kept for their readers): hygge's Home reads the manifest.
    assert len(bucket.storage().entries("lake/t")) > len(read_target_parts(bucket))
    assert back(tmp_path, store, "t", "replaced").num_rows == 100


def read_target_parts(bucket: Bucket) -> list[str]:
    found = bucket.storage().read("lake/t/.hygge-manifest.json")
    assert found is not None
    return [part["file"] for part in json.loads(found[0])["parts"]]


def test_an_incremental_bucket_home_skips_objects_already_loaded(tmp_path: Path, bucket: Bucket) -> None:
    storage = bucket.storage()
    for day in (1, 2):
        local = tmp_path / f"day{day}.parquet"
        pq.write_table(pa.table({"id": pa.array(range(day * 10, day * 10 + 10), pa.int64())}), local)
        storage.upload(local, f"drops/events/day{day}.parquet")
        result = hygge.move({"type": "parquet", "path": bucket.url("drops")}, {"type": "parquet", "path": "out"},
                            "events", root=tmp_path, run_type="incremental")
        assert result.ok and result.rows_read == 10, result.error
    assert read_target(tmp_path / "out" / "events").num_rows == 20


def test_credentials_from_a_named_connection_never_show(tmp_path: Path, bucket: Bucket,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for key in bucket.env:
        monkeypatch.delenv(key, raising=False)  # only the connection says where and who
    secret = bucket.settings.secret_key or bucket.settings.account_key
    connection = {k: (f"${{LAKE_{k.upper()}}}" if k in ("secret_access_key", "account_key") else v)
                  for k, v in bucket.connection().items()}
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": pa.array(range(5), pa.int64())}), tmp_path / "in" / "t.parquet")
    write_project(tmp_path, f"""\
        name: buckets
        connections:
          lake: {json.dumps(connection)}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {{type: parquet, path: "{bucket.url('lake')}", connection: lake}}
            entities: [t]
        """)
    env = {f"LAKE_{k.upper()}": str(secret) for k in ("secret_access_key", "account_key")}
    outputs = [run_hygge("go", "--json", cwd=tmp_path, env=env, check=0), run_hygge("debug", cwd=tmp_path, env=env),
               run_hygge("history", cwd=tmp_path, env=env, check=0)]
    report = json.loads(outputs[0].stdout)
    assert report["moves"][0]["rows_in_target"] == 5
    assert "writing and deleting allowed" in outputs[1].stdout, outputs[1].stdout + outputs[1].stderr
    for proc in outputs:
        if secret:
            assert secret not in proc.stdout + proc.stderr


def test_a_url_hygge_cannot_serve_is_refused_not_written_as_a_folder(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": [1]}), tmp_path / "in" / "t.parquet")
    write_project(tmp_path, """\
        name: urls
        flows:
          f:
            home: {type: parquet, path: in}
            store: {type: parquet, path: "ftp://example.invalid/lake"}
            entities: [t]
        """)
    proc = run_hygge("go", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ftp://" in proc.stdout + proc.stderr and "s3://" in proc.stdout + proc.stderr
    assert not (tmp_path / "ftp:").exists()


def test_quarantine_of_bad_csv_rows_is_refused_on_a_bucket_with_what_to_do(tmp_path: Path, bucket: Bucket) -> None:
    local = tmp_path / "x.csv"
    local.write_text("a,b\n1,2\n3\n")
    bucket.storage().upload(local, "exports/x.csv")
    result = hygge.move({"type": "csv", "path": bucket.url("exports"), "on_bad_rows": "quarantine"},
                        {"type": "parquet", "path": "out"}, "x", root=tmp_path)
    assert result.status == "failed" and result.error is not None and result.error.kind == "config"
    assert "on_bad_rows: fail" in str(result.error)


@pytest.mark.parametrize("name", ["x.csv", "x.csv.gz"])
def test_an_unclosed_quote_in_a_csv_on_a_bucket_is_refused_and_nothing_lands(tmp_path: Path, bucket: Bucket,
                                                                            name: str) -> None:
    # The quotes are counted on the one download the reader makes (formats/quotes.py), compressed or not.
    import gzip

    home = {"type": "csv", "path": bucket.url("exports")}
    local = tmp_path / name

    def put(text: str) -> None:
        local.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
        bucket.storage().upload(local, f"exports/{name}")

    put("a,b\n" + "".join(f'{i},"v{i}"\n' for i in range(5_000)))
    first = hygge.move(home, {"type": "parquet", "path": "out"}, "x", root=tmp_path, batch_bytes=1 << 16)
    assert first.ok and first.rows_written == 5_000, first.error
    put("a,b\n" + "".join(f'{i},"v{i}"\n' for i in range(5_000)) + '5000,"stray\n')
    second = hygge.move(home, {"type": "parquet", "path": "out"}, "x", root=tmp_path, batch_bytes=1 << 16, retries=0)
    assert second.status == "failed" and "a quote in this CSV file is never closed" in str(second.error)
    assert name in str(second.error) and "odd number (10,001)" in str(second.error)
    assert read_target(tmp_path / "out" / "x").num_rows == 5_000
