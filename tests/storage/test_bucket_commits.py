"""The commit protocol on a bucket: one conditional write publishes; kills, races and stalls never mix versions.

Each family's server is real (tests/buckets.py). A SIGKILL while parts upload or at the publish leaves the
published version whole, and the next run equals one clean run and removes what the killed run left; two
writers on one entity never both publish; a writer whose lease was taken over cannot publish, however long it
stalled (the manifest's ETag or generation is the fencing token).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hygge.errors import StateError
from hygge.state.manifest import Manifest
from hygge.storage.manifest_object import HeldManifest, read_published
from tests.buckets import Bucket
from tests.helpers import run_hygge, write_project


def project(tmp_path: Path, bucket: Bucket, **options: object) -> Path:
    settings = {"batch_bytes": "64KiB", "retries": 0, **options}
    write_project(tmp_path, f"""\
        name: commits
        options: {json.dumps(settings)}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {{type: parquet, path: "{bucket.url('lake')}", target_file_size: 256KiB}}
            entities: [t]
        """)
    (tmp_path / "in").mkdir(exist_ok=True)
    return tmp_path


def source(tmp_path: Path, rows: int, version: int) -> pa.Table:
    table = pa.table({"id": pa.array(range(rows), pa.int64()), "v": [f"v{version}-{i:08d}" for i in range(rows)]})
    pq.write_table(table, tmp_path / "in" / "t.parquet", row_group_size=5_000)
    return table


def landed(tmp_path: Path, bucket: Bucket) -> pa.Table:
    return bucket.read_back(tmp_path, "t")


@pytest.mark.parametrize("point", ["write:3", "before-publish", "after-publish"])
def test_a_kill_while_uploading_or_publishing_leaves_a_whole_version_and_the_rerun_heals(
        tmp_path: Path, bucket: Bucket, point: str) -> None:
    root = project(tmp_path, bucket)
    old = source(tmp_path, 2_000, 1)
    run_hygge("go", cwd=root, check=0)
    new = source(tmp_path, 60_000, 2)
    killed = run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    published = read_published(bucket.storage(), "lake/t/.hygge-manifest.json")
    assert published is not None
    assert published.rows == (new.num_rows if point == "after-publish" else old.num_rows)
    run_hygge("go", cwd=root, check=0)
    assert landed(tmp_path, bucket).equals(new)
    manifest = read_published(bucket.storage(), "lake/t/.hygge-manifest.json")
    assert manifest is not None
    referenced = {p.file for p in manifest.parts} | {r["file"] for r in manifest.replaced}
    objects = {e.name for e in bucket.storage().entries("lake/t")} - {".hygge-manifest.json"}
    assert objects == referenced, "the killed run's parts were removed by the next run"
    history = run_hygge("history", "--json", cwd=root, check=0).stdout
    if point != "after-publish":
        assert "interrupted" in history


def test_two_writers_on_one_entity_never_both_publish(tmp_path: Path, bucket: Bucket) -> None:
    root = project(tmp_path, bucket)
    source(tmp_path, 40_000, 1)
    release = tmp_path / "release"  # the first writer pauses with its lease held until the second has tried
    env = {"HYGGE_PAUSE_AT": "write:2:120", "HYGGE_PAUSE_UNTIL": str(release)}
    first = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json"], cwd=root, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**_env(), **env})
    try:
        _wait_for_lease(bucket)
        second = run_hygge("go", "--json", cwd=root)
        assert second.returncode == 1
        error = json.loads(second.stdout)["moves"][0]["error"]
        assert "another hygge run is writing this entity" in error["message"], error
        release.touch()
        out, _ = first.communicate(timeout=120)
        assert first.returncode == 0, out
    finally:
        if first.poll() is None:
            first.kill()
    assert landed(tmp_path, bucket).num_rows == 40_000


def test_a_dead_writers_lease_is_taken_over_at_once_on_its_own_host(tmp_path: Path, bucket: Bucket) -> None:
    root = project(tmp_path, bucket)
    source(tmp_path, 40_000, 1)
    killed = run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": "write:2"})
    assert killed.returncode == -signal.SIGKILL
    found = bucket.storage().read("lake/t/.hygge-manifest.json")
    assert found is not None and json.loads(found[0])["lease"] is not None, "the dead run left its lease"
    run_hygge("go", cwd=root, check=0)  # its process is gone: no need to wait out the lease
    assert landed(tmp_path, bucket).num_rows == 40_000


def test_a_stalled_writer_whose_lease_was_taken_over_cannot_publish(bucket: Bucket) -> None:
    storage = bucket.storage()
    key = "fence/t/.hygge-manifest.json"
    stalled = HeldManifest(storage, key, "t", "run-stalled", lease_seconds=0.5)
    stalled._stop.set()  # it stops renewing, as a process that stalls would
    time.sleep(1.0)
    taker = HeldManifest(storage, key, "t", "run-taker")
    assert taker.taken_over is not None and taker.taken_over.run_id == "run-stalled"
    with pytest.raises(StateError, match="took it over"):
        stalled.publish(Manifest(entity="t", flow="f", run_id="run-stalled", committed_at="x", run_type="full_drop"))
    taker.publish(Manifest(entity="t", flow="f", run_id="run-taker", committed_at="x", run_type="full_drop"))
    published = read_published(storage, key)
    assert published is not None and published.run_id == "run-taker"


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}


def _wait_for_lease(bucket: Bucket, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = bucket.storage().read("lake/t/.hygge-manifest.json")
        if found is not None and json.loads(found[0]).get("lease"):
            return
        time.sleep(0.1)
    raise AssertionError("the first writer never took the lease")
