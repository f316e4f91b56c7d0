"""One writer per entity: a second `hygge go` on the same entity is refused or waits; a dead holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from hygge.samples import orders
from tests.helpers import read_target, run_hygge, write_project


def project(tmp: Path, options: str = "") -> Path:
    write_project(tmp, f"name: locks\noptions: {{retries: 0{options}}}\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: parquet, path: out, copy_unchanged: false}
        entities: [orders]
        """})
    (tmp / "in").mkdir(exist_ok=True)
    pq.write_table(orders(1000), tmp / "in" / "orders.parquet")
    return tmp


def slow_run(root: Path, pause: str = "read:1:3", until: Path | None = None) -> subprocess.Popen[str]:
    """`hygge go` paused at ``pause`` (until the file ``until`` exists, if given), once it has staged."""
    env = {**{k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}, "HYGGE_PAUSE_AT": pause,
           **({"HYGGE_PAUSE_UNTIL": str(until)} if until else {})}
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go"], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not list((root / "out" / ".hygge" / "staging").glob("*/*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc


def test_a_second_run_on_the_same_entity_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = slow_run(root, "read:1:120", until=root / "release")
    second = run_hygge("go", cwd=root, check=1)
    assert "another hygge run is writing this entity right now" in second.stdout
    assert f"pid {first.pid}" in second.stdout and "lock_wait" in second.stdout
    (root / "release").touch()
    assert first.wait(timeout=60) == 0
    assert read_target(root / "out" / "orders").num_rows == 1000


def test_with_lock_wait_the_second_run_queues_behind_the_first(tmp_path: Path) -> None:
    root = project(tmp_path, ", lock_wait: 60")
    first = slow_run(root, "read:1:2")
    second = run_hygge("go", cwd=root, check=0)
    assert first.wait(timeout=60) == 0 and "1 of 1 entities moved" in second.stdout


def test_a_lock_held_by_a_killed_run_is_free_at_once(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = slow_run(root, "read:1:30")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    proc = run_hygge("go", cwd=root, check=0)
    assert "1 of 1 entities moved" in proc.stdout
