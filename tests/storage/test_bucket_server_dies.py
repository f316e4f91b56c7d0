"""The bucket's server dies while a parquet file is downloaded whole: the move fails in plain words, the local target
keeps its last version, and the rerun against the server back up lands the new one.

The S3 server here is this test's own moto process (never the suite's shared one), killed with SIGKILL while the
hygge process is paused between two chunks of the download (fault point ``download``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests import objectstores
from tests.buckets import Bucket
from tests.helpers import read_target, run_hygge, staging_debris, write_project


def table(rows: int, version: int) -> pa.Table:
    # random bytes do not compress: the file is big enough that the server is still sending when it dies
    return pa.table({"id": pa.array(range(rows), pa.int64()),
                     "blob": pa.array([os.urandom(64) for _ in range(rows)], pa.binary()),
                     "version": pa.array([version] * rows, pa.int32())})


def put(tmp_path: Path, bucket: Bucket, data: pa.Table) -> None:
    local = tmp_path / "upload.parquet"
    pq.write_table(data, local, compression="none", row_group_size=50_000)
    bucket.storage().upload(local, "exports/t.parquet")


def test_a_server_killed_mid_download_fails_the_move_and_the_rerun_lands_the_file(tmp_path: Path) -> None:
    emulator = objectstores.moto_server(f"dies-{os.getpid()}").start()
    try:
        bucket = Bucket("s3", emulator.settings, "p")
        env = bucket.env
        write_project(tmp_path, f"""\
            name: dies
            options: {{retries: 0}}
            flows:
              f:
                home: {{type: parquet, path: "{bucket.url('exports')}"}}
                store: {{type: parquet, path: out}}
                entities: [t]
            """)
        old = table(1_000, 1)
        put(tmp_path, bucket, old)
        first = run_hygge("go", "--json", cwd=tmp_path, env=env, check=0)
        assert "copied whole" in first.stdout, first.stdout
        new = table(400_000, 2)  # about 32 MB
        put(tmp_path, bucket, new)

        release = tmp_path / "release"
        paused = subprocess.Popen(
            [sys.executable, "-m", "hygge", "go", "--json"], cwd=tmp_path, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env, "HYGGE_PAUSE_AT": "download:1:120", "HYGGE_PAUSE_UNTIL": str(release)})
        try:
            deadline = time.monotonic() + 120
            while not list(tmp_path.glob("release.paused-*")):
                assert paused.poll() is None, paused.communicate()
                assert time.monotonic() < deadline, "the run never reached its first downloaded chunk"
                time.sleep(0.05)
            emulator.kill()
            release.touch()
            out, err = paused.communicate(timeout=120)
        finally:
            if paused.poll() is None:
                paused.kill()
        assert paused.returncode == 1, out + err
        error = json.loads(out)["moves"][0]["error"]
        assert "could not download an object on s3" in error["message"], error
        assert "exports/t.parquet" in error["path"] and error["hint"], error
        assert "Traceback" not in out + err
        assert read_target(tmp_path / "out" / "t").equals(old)
        assert not staging_debris(tmp_path / "out")

        emulator.restart()  # moto keeps nothing across a restart: the file is put again
        put(tmp_path, bucket, new)
        run_hygge("go", cwd=tmp_path, env=env, check=0)
        assert read_target(tmp_path / "out" / "t").sort_by("id").equals(new)
    finally:
        emulator.close()
