"""The same project on a Dask cluster started by hand, as a user would: scheduler and worker processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hygge.samples import orders, write_sample_source
from tests.helpers import read_target, run_here, run_hygge, write_project
from tests.services import POSTGRES_URL, postgres_place, postgres_sql

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """`dask scheduler` and `dask worker` processes, each a process of its own."""

    def __init__(self, workers: int, env: dict[str, str] | None = None):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.env = {**os.environ, **(env or {})}
        host, port = self.address[6:].split(":")
        self.scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", host, "--port", port,
                                           "--no-dashboard"], env=self.env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
        self.workers = [self.start_worker() for _ in range(workers)]
        self.wait_for(workers)

    def start_worker(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(BIN / "dask"), "worker", self.address, "--nthreads", "1", "--no-dashboard",
                                 "--name", f"w{time.monotonic_ns()}"], env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def wait_for(self, count: int) -> None:
        from distributed import Client

        deadline = time.monotonic() + 60
        with Client(self.address, timeout="30s") as client:
            while len(client.scheduler_info()["workers"]) < count:
                assert time.monotonic() < deadline, "the dask workers did not come up"
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """One scheduler and two workers for the tests that only run moves on them (none kills a worker): starting
    them is three interpreters importing distributed and hygge, seconds of CPU a test."""
    running = Cluster(2)
    yield running
    running.stop()


def test_a_project_on_the_cluster_equals_a_local_run(tmp_path: Path, cluster: Cluster) -> None:
    for name in ("local", "dask"):
        write_sample_source(tmp_path / name / "data" / "source")
        write_project(tmp_path / name, "name: p\n", flows={"lake": """\
            home: {type: parquet, path: data/source}
            store: {type: parquet, path: data/lake}
            """})
    run_here("go", cwd=tmp_path / "local", check=0)
    proc = run_hygge("go", "--scheduler", cluster.address, cwd=tmp_path / "dask", check=0)
    assert "3 of 3 entities moved" in proc.stdout and " start " in proc.stderr + proc.stdout
    for entity in ("users", "orders", "events"):
        local = read_target(tmp_path / "local" / "data" / "lake" / entity)
        remote = read_target(tmp_path / "dask" / "data" / "lake" / entity)
        assert remote.equals(local)


def big_files(folder: Path, count: int = 6, rows: int = 40_000) -> pa.Table:
    folder.mkdir(parents=True, exist_ok=True)
    tables = []
    for i in range(count):
        table = orders(rows).set_column(0, "order_id", pa.array(range(i * rows, (i + 1) * rows), pa.int64()))
        pq.write_table(table, folder / f"chunk-{i}.parquet")
        tables.append(table)
    return pa.concat_tables(tables).sort_by("order_id")


def test_one_big_file_entity_over_many_workers_is_published_once(tmp_path: Path, cluster: Cluster) -> None:
    expected = big_files(tmp_path / "in")
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: in, partitions: 3}
        store: {type: parquet, path: out, copy_unchanged: false}
        entities: [{name: orders, source: "*.parquet"}]
        """})
    report = json.loads(run_hygge("go", "--json", "--scheduler", cluster.address, cwd=tmp_path, check=0).stdout)
    assert report["moves"][0]["rows_in_target"] == len(expected)
    assert read_target(tmp_path / "out" / "orders").sort_by("order_id").equals(expected)
    manifest = json.loads((tmp_path / "out" / "orders" / ".hygge-manifest.json").read_text())
    assert len(manifest["parts"]) >= 3, "each partition staged its own part files"
    history = json.loads(run_here("history", "--json", cwd=tmp_path, check=0).stdout)["runs"]
    assert [r["status"] for r in history] == ["ok"], "one commit, one journal entry"


def test_a_partitioned_table_into_postgres_over_many_workers(tmp_path: Path, cluster: Cluster) -> None:
    for place in postgres_place(tmp_path, "dask_pg"):
        postgres_sql(f'CREATE SCHEMA "{place.name}"')
        postgres_sql(f'CREATE TABLE "{place.name}".src AS SELECT g AS id, md5(g::text) AS v '
                     "FROM generate_series(1, 50000) g")
        write_project(tmp_path, "name: p\n", flows={"f": f"""\
            home: {{type: postgres, url: "{POSTGRES_URL}", schema: {place.name}, partition_on: id, partitions: 4}}
            store: {{type: postgres, url: "{POSTGRES_URL}", schema: {place.name}}}
            entities: [{{name: copy, source: src}}]
            """})
        run_hygge("go", "--scheduler", cluster.address, cwd=tmp_path, check=0)
        rows = postgres_sql(f'SELECT COUNT(*), COUNT(DISTINCT id), SUM(id) FROM "{place.name}".copy')[0]
        assert rows == (50000, 50000, 50000 * 50001 // 2)
        leftovers = postgres_sql(f"SELECT tablename FROM pg_tables WHERE schemaname = '{place.name}' "
                                 "AND tablename LIKE '\\_hygge\\_part%'")
        assert leftovers == []


def test_a_worker_killed_mid_partition_never_duplicates_rows(tmp_path: Path) -> None:
    expected = big_files(tmp_path / "in")
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: in, partitions: 4}
        store: {type: parquet, path: out, copy_unchanged: false}
        entities: [{name: orders, source: "*.parquet"}]
        """})
    slow = Cluster(3, env={"HYGGE_PAUSE_AT": "read:1:4"})  # every partition pauses after its first batch
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json", "--scheduler", slow.address],
                                cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(3)
        slow.workers[0].send_signal(signal.SIGKILL)  # a worker dies while its partition is staged
        out, err = proc.communicate(timeout=180)
    finally:
        slow.stop()
    report = json.loads(out)
    move = report["moves"][0]
    if move["status"] == "ok":
        assert read_target(tmp_path / "out" / "orders").sort_by("order_id").equals(expected)
    else:
        assert not (tmp_path / "out" / "orders").exists(), "a failed move leaves the target untouched"
        assert move["error"]["message"], err


def test_a_scheduler_that_disappears_ends_the_run_with_a_clear_error(tmp_path: Path) -> None:
    big_files(tmp_path / "in")
    write_project(tmp_path, "name: p\noptions: {retries: 0}\n", flows={"f": """\
        home: {type: parquet, path: in, partitions: 2}
        store: {type: parquet, path: out, copy_unchanged: false}
        entities: [{name: orders, source: "*.parquet"}]
        """})
    doomed = Cluster(2, env={"HYGGE_PAUSE_AT": "read:1:10"})
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--scheduler", doomed.address],
                                cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(4)
        doomed.scheduler.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=180)
    finally:
        doomed.stop()
    assert proc.returncode == 1, out + err
    assert "the Dask cluster stopped answering" in out and "Traceback" not in out + err
    assert not (tmp_path / "out" / "orders").exists()


def test_an_unreachable_scheduler_is_explained(tmp_path: Path) -> None:
    write_sample_source(tmp_path / "data" / "source")
    write_project(tmp_path, "name: p\n", flows={"lake": """\
        home: {type: parquet, path: data/source}
        store: {type: parquet, path: data/lake}
        """})
    proc = run_hygge("go", "--scheduler", f"tcp://127.0.0.1:{free_port()}", cwd=tmp_path)
    assert proc.returncode in (1, 2)
    assert "cannot reach the Dask scheduler" in proc.stdout + proc.stderr
    # told at once, as a refusal (not after distributed's 15 s of retries)
    assert "nothing listens at 127.0.0.1:" in proc.stdout + proc.stderr
    assert "dask scheduler" in proc.stdout + proc.stderr


def test_workers_that_share_nothing_but_the_bucket_stage_partitions_there(tmp_path: Path) -> None:
    """The workers run where the coordinator's folder cannot be seen (a mount namespace lays an empty tmpfs over
    it): they read their partitions from the bucket and upload their parts there; the coordinator publishes."""
    from tests.buckets import make_bucket

    bucket = make_bucket("s3", "dask-shared-nothing")
    storage = bucket.storage()
    expected = big_files(tmp_path / "src", count=4, rows=20_000)
    for path in sorted((tmp_path / "src").iterdir()):
        storage.upload(path, f"in/orders/{path.name}")
    project = tmp_path / "project"
    write_project(project, f"""\
        name: nothing-shared
        flows:
          f:
            home: {{type: parquet, path: "{bucket.url('in')}", partitions: 4}}
            store: {{type: parquet, path: "{bucket.url('lake')}", copy_unchanged: false}}
            entities: [orders]
        """)  # copy_unchanged: false, or the coordinator uploads the unchanged files whole and no worker reads
    hidden = Cluster(0, env=bucket.env)
    try:
        elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
        elsewhere.mkdir()
        for _ in range(2):
            script = (f"mount -t tmpfs none {tmp_path} && cd {elsewhere} && exec {BIN / 'dask'} worker "
                      f"{hidden.address} --nthreads 1 --no-dashboard --name w{time.monotonic_ns()}")
            hidden.workers.append(subprocess.Popen(["unshare", "-m", "sh", "-c", script], env=hidden.env,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        hidden.wait_for(2)
        proc = run_hygge("go", "--json", "--scheduler", hidden.address, cwd=project, env=bucket.env, check=0)
    finally:
        hidden.stop()
    report = json.loads(proc.stdout)
    assert report["moves"][0]["rows_in_target"] == expected.num_rows
    manifest = json.loads(storage.read("lake/orders/.hygge-manifest.json")[0])
    staged = [part["file"] for part in manifest["parts"]]
    assert len(staged) == 4 and all(name.startswith("part-p000") for name in staged), staged
    assert bucket.read_back(tmp_path, "orders", key="order_id").equals(expected)


def test_a_worker_dying_during_an_unsplit_move_is_told_and_the_move_lands_once(tmp_path: Path) -> None:
    expected = big_files(tmp_path / "in", count=2)
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: parquet, path: out, copy_unchanged: false}
        entities: [{name: orders, source: "*.parquet"}]
        """})
    one = Cluster(1, env={"HYGGE_PAUSE_AT": "read:1:8"})
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json", "--scheduler", one.address],
                                cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60  # until the move runs on the worker: its landing is open, it is paused
        while not any((tmp_path / "out").rglob("*")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)
        one.workers[0].send_signal(signal.SIGKILL)  # the only worker dies in the middle of the move
        one.env = {k: v for k, v in os.environ.items() if k != "HYGGE_PAUSE_AT"}  # its successor does not pause
        one.workers.append(one.start_worker())
        out, err = proc.communicate(timeout=180)
    finally:
        one.stop()
    move = json.loads(out)["moves"][0]
    assert move["status"] == "ok", err
    assert any("Dask ran the move again on another worker" in w for w in move["warnings"]), move["warnings"]
    assert read_target(tmp_path / "out" / "orders").sort_by("order_id").equals(expected)


def test_what_runs_on_the_machine_running_hygge_go_is_said_and_a_local_cluster_warns_of_no_port(
        tmp_path: Path) -> None:
    big_files(tmp_path / "in", count=2)
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: in, partitions: 2}
        store: {type: duckdb, path: lake.duckdb}
        entities: [{name: orders, source: "*.parquet"}]
        """})
    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 8787))  # the port Dask's dashboard wants, held as another program would
        taken.listen()
    except OSError:
        pass  # already in use by someone else: just as good
    try:
        proc = run_hygge("go", "--json", "--executor", "dask", "--workers", "2", cwd=tmp_path, check=0)
    finally:
        taken.close()
    assert "8787" not in proc.stderr + proc.stdout
    warnings = json.loads(proc.stdout)["moves"][0]["warnings"]
    assert any("on the machine running hygge go, not" in w for w in warnings), warnings


def test_a_worker_dying_after_its_partition_was_staged_never_loses_or_doubles_it(tmp_path: Path) -> None:
    """Issue 18, 4(a): a worker dies once its partition's parts are complete, before it handed the result back
    (paused at the fault point `partition-staged`). Dask runs the partition again elsewhere; the complete attempt
    nobody was told of is never published beside the rerun's, and nothing is lost."""
    expected = big_files(tmp_path / "in", count=4)
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: in, partitions: 2}
        store: {type: parquet, path: out, copy_unchanged: false}
        entities: [{name: orders, source: "*.parquet"}]
        """})
    never = tmp_path / "never-released"  # the pause ends only with the worker
    cluster = Cluster(2, env={"HYGGE_PAUSE_AT": "partition-staged:1:120", "HYGGE_PAUSE_UNTIL": str(never)})
    attempts: set[str] = set()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json", "--scheduler", cluster.address],
                                cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 90
        while not list(tmp_path.glob("never-released.paused-*")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert list(tmp_path.glob("never-released.paused-*")), "no partition was staged"
        attempts |= {p.name for p in tmp_path.rglob("*.parts/p*")}
        for worker in cluster.workers:  # every worker holding a staged partition (or about to) dies
            worker.send_signal(signal.SIGKILL)
        fresh = {k: v for k, v in os.environ.items() if k not in ("HYGGE_PAUSE_AT", "HYGGE_PAUSE_UNTIL")}
        cluster.env = fresh
        cluster.workers.append(cluster.start_worker())
        while proc.poll() is None:
            attempts |= {p.name for p in tmp_path.rglob("*.parts/p*")}
            time.sleep(0.05)
        out, err = proc.communicate(timeout=180)
    finally:
        cluster.stop()
    move = json.loads(out)["moves"][0]
    partitions = {name.split("-")[0] for name in attempts}
    assert len(attempts) > len(partitions), f"no partition ran again: {sorted(attempts)}"
    assert move["status"] == "ok", f"{move['error']}\n{err}"
    assert read_target(tmp_path / "out" / "orders").sort_by("order_id").equals(expected)
    assert not list((tmp_path / "out").rglob("*.parts")), "the dead worker's complete attempt was cleaned up"


def test_repeated_keys_staged_by_workers_on_a_bucket_are_refused_before_the_publish(tmp_path: Path,
                                                                                   cluster: Cluster) -> None:
    """An incremental entity's first, keyed load whose partitions the workers upload: the coordinator never saw
    their rows, so it reads the key columns of the parts back before it publishes, and a key that repeats fails
    the move with nothing published (stores/key_spool.py)."""
    from tests.buckets import make_bucket

    bucket = make_bucket("s3", "dask-first-keyed")
    for place in postgres_place(tmp_path, "dask_keys"):
        postgres_sql(f'CREATE SCHEMA "{place.name}"')
        postgres_sql(f'CREATE TABLE "{place.name}".src AS SELECT g AS n, g AS id, 1 AS v '
                     'FROM generate_series(1, 20000) g')
        postgres_sql(f'INSERT INTO "{place.name}".src VALUES (20001, 5, 2)')  # key 5 again, in the last partition
        store = json.dumps({"type": "parquet", "path": bucket.url("lake"), "connection": bucket.connection(),
                            "copy_unchanged": False})
        write_project(tmp_path, "name: p\noptions: {retries: 0}\n", flows={"f": f"""\
            home: {{type: postgres, url: "{POSTGRES_URL}", schema: {place.name}, partition_on: n, partitions: 4}}
            store: {store}
            entities: [{{name: t, source: src, run_type: incremental, keys: [id], watermark: n}}]
            """})
        refused = json.loads(run_hygge("go", "--json", "--scheduler", cluster.address, cwd=tmp_path).stdout)
        [move] = refused["moves"]
        assert move["status"] == "failed", move
        assert "repeat values of `keys` (id)" in json.dumps(move["error"]) and "id=5" in json.dumps(move["error"])
        from hygge.storage.manifest_object import read_published

        assert read_published(bucket.storage(), "lake/t/.hygge-manifest.json") is None, "nothing was published"
        left = [e.name for e in bucket.storage().entries("lake/t") if e.name != ".hygge-manifest.json"]
        assert left == [], f"the parts the workers uploaded were removed: {left}"
