"""Store `open_mirroring` on buckets: the landing zone on Azure (Azurite, as OneLake's ADLS is reached), S3 (moto)
and GCS (fake-gcs-server), with the guarantees of the local folder (tests/stores/test_open_mirroring.py).

As there, the Fabric replicator cannot run here: after each run the test downloads the numbered files and applies
their row markers, in order, to a Delta table with a Delta MERGE (as the mirror does), and compares with the source.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.lake.mirroring import ROW_MARKER, SEQUENCE
from tests.buckets import Bucket, make_bucket
from tests.helpers import run_here, run_hygge
from tests.stores.test_open_mirroring import CHANGES, add_change, expected_after, project, replay

ENTITY = "items"


@pytest.fixture(params=["azure", "s3", "gcs"])
def zone(request: pytest.FixtureRequest) -> Bucket:
    return make_bucket(request.param, request.node.name)


@pytest.fixture
def azure(request: pytest.FixtureRequest) -> Bucket:
    return make_bucket("azure", request.node.name)


def bucket_project(root: Path, bucket: Bucket) -> Path:
    connection = {k: v for k, v in bucket.connection().items() if k != "type"}
    project(root, store=f'{{type: open_mirroring, path: "{bucket.url("zone")}", connection: zone}}')
    text = (root / "hygge.yml").read_text()
    (root / "hygge.yml").write_text(text.replace(
        "name: om\n", f"name: om\nconnections:\n  zone: {json.dumps({'type': bucket.family, **connection})}\n", 1))
    return root


def numbered(bucket: Bucket, table: str = ENTITY) -> list[str]:
    return [e.name for e in bucket.storage().entries(f"zone/{table}", recursive=False) if SEQUENCE.match(e.name)]


def download(bucket: Bucket, into: Path, table: str = ENTITY) -> Path:
    """The table's numbered files as they are on the bucket, in a local folder (a fresh one each time)."""
    folder = into / f"zone-{len(list(into.glob('zone-*')))}"
    folder.mkdir(parents=True)
    storage = bucket.storage()
    for name in numbered(bucket, table):
        storage.download(f"zone/{table}/{name}", folder / name)
    return folder


def go(root: Path, **kwargs: Any) -> hygge.RunResult:
    result = hygge.run(root, **kwargs)
    assert result.ok, [str(m.error) for m in result.moves]
    return result


def statuses(root: Path) -> list[str]:
    shown = run_here("history", "--json", cwd=root, check=0)
    runs = sorted(json.loads(shown.stdout)["runs"], key=lambda r: r["started_at"])
    return [r["status"] for r in runs]


def test_a_sequence_of_inserts_updates_and_deletes_on_a_bucket_replays_to_the_source(
        tmp_path: Path, zone: Bucket) -> None:
    root = bucket_project(tmp_path / "proj", zone)
    for number in range(len(CHANGES)):
        add_change(root, number)
        go(root)
        assert numbered(zone) == [f"{n:020d}.parquet" for n in range(1, number + 2)]
        assert replay(download(zone, tmp_path), ["id"], tmp_path).equals(expected_after(CHANGES[: number + 1]))
    files = download(zone, tmp_path)
    first, *later = (pq.read_table(p) for p in sorted(files.iterdir()))
    assert ROW_MARKER not in first.column_names, "the initial load carries no row markers"
    assert all(t.column_names[-1] == ROW_MARKER for t in later)
    storage = zone.storage()
    assert json.loads(storage.read(f"zone/{ENTITY}/_metadata.json")[0]) == {"keyColumns": ["id"]}
    events = json.loads(storage.read("zone/_partnerEvents.json")[0])
    assert events["partnerName"] == "hygge" and events["sourceInfo"]["sourceType"] == "parquet"
    assert go(root) and len(numbered(zone)) == len(CHANGES), "nothing new, no file"
    assert statuses(root) == ["ok"] * len(CHANGES) + ["empty"], "`hygge history` reads the runs on the bucket"


@pytest.mark.parametrize("point", ["write:1", "before-publish", "after-publish"])
def test_a_run_killed_on_azure_leaves_no_numbered_file_and_the_sequence_goes_on_without_gap(
        tmp_path: Path, azure: Bucket, point: str) -> None:
    root = bucket_project(tmp_path / "proj", azure)
    add_change(root, 0)
    go(root)
    add_change(root, 1)
    killed = run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    published = point == "after-publish"
    assert len(numbered(azure)) == (2 if published else 1), "a file gets its number only when it is complete"
    again = go(root)
    notes = " ".join(w for m in again.moves for w in m.warnings)
    assert "was interrupted before it ended" in notes, notes
    assert ("found its data file published" if published else "found no numbered file of it") in notes, notes
    add_change(root, 2)
    go(root)
    assert numbered(azure) == [f"{n:020d}.parquet" for n in (1, 2, 3)], "no gap, no reuse"
    assert replay(download(azure, tmp_path), ["id"], tmp_path).equals(expected_after(CHANGES[:3]))
    assert not any((root / ".hygge" / "mirror-work").rglob("*.tmp")), "the killed run's local file was removed"
    assert statuses(root) == ["ok", "interrupted", "empty" if published else "ok", "ok"]


def test_the_sequence_is_recovered_from_the_last_file_the_mirror_leaves(tmp_path: Path, azure: Bucket) -> None:
    root = bucket_project(tmp_path / "proj", azure)
    for number in range(2):
        add_change(root, number)
        go(root)
    storage = azure.storage()
    first = f"zone/{ENTITY}/{1:020d}.parquet"
    storage.delete([first])  # processed: the mirror deletes it, and leaves the last one
    add_change(root, 2)
    go(root)
    assert numbered(azure) == [f"{n:020d}.parquet" for n in (2, 3)], "the next number after the last one"
    assert pq.read_table(download(azure, tmp_path) / f"{3:020d}.parquet").num_rows == len(CHANGES[2]), \
        "the state came from the last file's footer: only the new rows"
    for number in (2, 3):  # moved aside to the mirror's own folder, as it also does
        name = f"{number:020d}.parquet"
        storage.download(f"zone/{ENTITY}/{name}", tmp_path / name)
        storage.create_file(tmp_path / name, f"zone/{ENTITY}/_ProcessedFiles/{name}")
        storage.delete([f"zone/{ENTITY}/{name}"])
    add_change(root, 3)
    go(root)
    assert numbered(azure) == [f"{4:020d}.parquet"], "numbers go on after the files moved aside"
    assert pq.read_table(download(azure, tmp_path) / f"{4:020d}.parquet").num_rows == len(CHANGES[3])


def test_key_columns_on_a_bucket_never_change_and_a_table_is_never_replaced(tmp_path: Path, azure: Bucket) -> None:
    root = bucket_project(tmp_path / "proj", azure)
    add_change(root, 0)
    go(root)
    (root / "hygge.yml").write_text((root / "hygge.yml").read_text().replace("keys: [id]", "keys: [name]"))
    add_change(root, 1)
    error = str(hygge.run(root).moves[0].error)
    assert "cannot change a table's key columns once they are set" in error and "next step" in error, error
    assert azure.url("zone", ENTITY) in error and "flow shop, entity items" in error, error
    assert re.search(r"expected:\s+id\n", error) and re.search(r"found:\s+name\n", error), error
    error = str(hygge.run(root, run_type="full_drop").moves[0].error)
    assert "cannot replace a table's rows in place" in error and "delete the table folder" in error
    assert numbered(azure) == [f"{1:020d}.parquet"]
    assert json.loads(azure.storage().read(f"zone/{ENTITY}/_metadata.json")[0]) == {"keyColumns": ["id"]}


def paused_at_publish(root: Path, bucket: Bucket, release: Path) -> subprocess.Popen[str]:
    """A real `hygge go` that holds the table's lease, paused just before it publishes until ``release`` exists."""
    run = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json"], cwd=root, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env={**os.environ, "HYGGE_PAUSE_AT": "before-publish:1:60",
                                "HYGGE_PAUSE_UNTIL": str(release)})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and run.poll() is None:
        found = bucket.storage().read(f"zone/{ENTITY}/_hygge/lease.json")
        if found and json.loads(found[0]).get("lease") and list((root / ".hygge" / "mirror-work").rglob("*.tmp")):
            return run
        time.sleep(0.1)
    raise AssertionError(f"the run did not reach its publish: {run.poll()}")


def test_a_second_writer_is_refused_while_the_first_holds_the_lease(tmp_path: Path, azure: Bucket) -> None:
    """One writer at a time: a run that finds the table's lease held by a live run is refused, naming it."""
    root = bucket_project(tmp_path / "proj", azure)
    add_change(root, 0)
    release = tmp_path / "release"
    first = paused_at_publish(root, azure, release)
    try:
        second = hygge.run(root)
        error = str(second.moves[0].error)
        assert not second.ok and "another hygge run is writing this entity right now" in error, error
    finally:
        release.touch()
        output = first.communicate(timeout=60)[0]
    assert first.returncode == 0, output
    assert numbered(azure) == [f"{1:020d}.parquet"]


def test_a_file_published_by_someone_else_meanwhile_makes_the_run_start_over_and_nothing_lands_twice(
        tmp_path: Path, azure: Bucket) -> None:
    """The numbered files are the commit: a run whose table got a new file after it read the state (a writer outside
    the lease, or one that stalled past it) publishes nothing from that state; it starts over."""
    root = bucket_project(tmp_path / "proj", azure)
    add_change(root, 0)
    go(root)
    add_change(root, 1)
    release = tmp_path / "release"
    run = paused_at_publish(root, azure, release)
    try:
        storage = azure.storage()
        storage.download(f"zone/{ENTITY}/{1:020d}.parquet", tmp_path / "copy.parquet")
        storage.create_file(tmp_path / "copy.parquet", f"zone/{ENTITY}/{2:020d}.parquet")  # the state of run 1
    finally:
        release.touch()
        output = run.communicate(timeout=60)[0]
    assert run.returncode == 0, output
    assert numbered(azure) == [f"{n:020d}.parquet" for n in (1, 2, 3)]
    third = pq.read_table(download(azure, tmp_path) / f"{3:020d}.parquet")
    assert sorted(third.column("id").to_pylist()) == sorted(CHANGES[1].column("id").to_pylist()), \
        "started over from the state the new file carries: its rows once, under the next number"
    assert statuses(root) == ["ok", "restarted", "ok"]


def test_a_numbered_object_is_created_once_and_never_replaced(tmp_path: Path, zone: Bucket) -> None:
    """The publish of a data file: create-only, also for a file larger than one upload part (16 MiB)."""
    from hygge.storage.base import Conflict

    big = tmp_path / "big.parquet"
    big.write_bytes(os.urandom(20 * 2**20))
    storage = zone.storage()
    key = f"zone/{ENTITY}/{1:020d}.parquet"
    assert storage.create_file(big, key).size == 20 * 2**20
    other = tmp_path / "other.parquet"
    other.write_bytes(b"another writer's file")
    with pytest.raises(Conflict):
        storage.create_file(other, key)
    back = tmp_path / "back"
    storage.download(key, back)
    assert back.read_bytes() == big.read_bytes(), "the first file's bytes stay"


def test_a_onelake_landing_zone_is_reached_at_its_blob_endpoint(tmp_path: Path) -> None:
    """Real OneLake cannot be reached here: what is checked is where hygge would send the objects."""
    from hygge.storage.remote import RemoteStorage
    from hygge.stores.open_mirroring import OpenMirroringStore, OpenMirroringStoreConfig

    path = "abfss://Sales@onelake.dfs.fabric.microsoft.com/Shop.MountedRelationalDatabase/Files/LandingZone"
    config = OpenMirroringStoreConfig.model_validate({
        "type": "open_mirroring", "path": path,
        "connection": {"tenant_id": "t", "client_id": "c", "client_secret": "s"}})
    storage = OpenMirroringStore(config, root=tmp_path).storage
    assert isinstance(storage, RemoteStorage)
    address = storage.address
    assert (address.bucket, address.prefix) == ("Sales", "Shop.MountedRelationalDatabase/Files/LandingZone")
    settings = storage.settings
    assert (settings.account, settings.endpoint) == ("onelake", "https://onelake.blob.fabric.microsoft.com")
    assert (settings.tenant_id, settings.client_id) == ("t", "c")
    assert storage.show("items") == "az://Sales/Shop.MountedRelationalDatabase/Files/LandingZone/items"


def test_a_run_killed_between_the_blocks_and_their_commit_on_azure_publishes_nothing(
        tmp_path: Path, azure: Bucket) -> None:
    """A file over one block (16 MiB) is staged in blocks that no reader sees and committed create-only."""
    connection = {"type": "azure", **{k: v for k, v in azure.connection().items() if k != "type"}}
    root = tmp_path / "proj"
    (root / "in" / "blobs").mkdir(parents=True)
    (root / "hygge.yml").write_text(f"""\
name: big
connections:
  zone: {json.dumps(connection)}
options: {{retries: 0}}
flows:
  f:
    home: {{type: parquet, path: in}}
    store: {{type: open_mirroring, path: "{azure.url('zone')}", connection: zone, compression: none}}
    run_type: incremental
    entities: [blobs]
""")
    def blobs(name: str, count: int) -> None:
        pq.write_table(pa.table({"b": pa.array([os.urandom(2**20) for _ in range(count)], pa.binary())}),
                       root / "in" / "blobs" / name, compression="none")

    blobs("a.parquet", 1)
    go(root)
    blobs("b.parquet", 17)
    killed = run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": "publish-gap"})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert numbered(azure, "blobs") == [f"{1:020d}.parquet"], "staged blocks are no object"
    go(root)
    assert numbered(azure, "blobs") == [f"{n:020d}.parquet" for n in (1, 2)]
    second = download(azure, tmp_path, "blobs") / f"{2:020d}.parquet"
    assert second.stat().st_size > 17 * 2**20 and pq.read_table(second).num_rows == 17
