"""A run queued behind another with `lock_wait` plans from the state that run committed, never from the one
it read before it waited: otherwise it loads the same new rows again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.contract.suite import Engine, files_place
from tests.engines import MERGE_ENGINES
from tests.helpers import run_here, run_hygge, write_project


def running(root: Path) -> bool:
    runs = json.loads(run_here("history", "--json", cwd=root).stdout)["runs"]
    return any(r["status"] == "running" for r in runs)


def without_faults() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("HYGGE_KILL_AT", "HYGGE_PAUSE_AT", "HYGGE_PAUSE_UNTIL")}


@pytest.fixture(params=["parquet", "sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return MERGE_ENGINES[request.param]


def test_a_run_that_waited_for_the_lock_starts_from_the_state_committed_meanwhile(tmp_path: Path,
                                                                                  engine: Engine) -> None:
    for place in (engine.place or files_place)(tmp_path, f"queued_{engine.name}"):
        store = engine.store(place)
        write_project(tmp_path, f"""\
            name: queued
            options: {{lock_wait: 60, batch_bytes: 64KiB}}
            flows:
              f:
                home: {{type: parquet, path: in}}
                store: {json.dumps(store)}
                run_type: incremental
                entities: [{{name: t, source: "*.parquet"}}]
            """)
        (tmp_path / "in").mkdir()
        pq.write_table(pa.table({"id": pa.array(range(100), pa.int64())}), tmp_path / "in" / "a.parquet")
        run_hygge("go", cwd=tmp_path, check=0)
        pq.write_table(pa.table({"id": pa.array(range(100, 40_100), pa.int64())}), tmp_path / "in" / "b.parquet")
        release = tmp_path / "release"  # the first run stays paused in its first write until the second waits
        env = {**{k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}, "HYGGE_PAUSE_AT": "write:1:60",
               "HYGGE_PAUSE_UNTIL": str(release)}
        first = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json"], cwd=tmp_path, env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60  # until the first run holds the entity: its run is recorded as running
        while time.monotonic() < deadline and first.poll() is None and not running(tmp_path):
            time.sleep(0.1)
        waiting = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json"], cwd=tmp_path, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=without_faults())
        time.sleep(2)  # it reads the state, then waits for the lock
        release.touch()
        out, _ = first.communicate(timeout=120)
        second_out, second_err = waiting.communicate(timeout=120)
        second = subprocess.CompletedProcess(waiting.args, waiting.returncode, second_out, second_err)
        assert json.loads(out)["moves"][0]["rows_written"] == 40_000
        moved = json.loads(second.stdout)["moves"][0]
        assert second.returncode == 0, second.stdout
        assert moved["rows_written"] == 0, "the second run loaded what the first had just committed"
        assert moved["rows_in_target"] == 40_100
