"""`hygge history` after a crash: a run killed mid-write is shown as interrupted, for every Store family.

A run records itself as running when it takes its entity (a line in the file store's history, a row in
`_hygge_runs` committed on its own), and its end replaces that. A kill leaves the running record; `hygge
history` shows it as interrupted once its process is gone, and the next run records it so, with what it
did about what the killed run left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from hygge.samples import orders
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import EVERY_STORE
from tests.helpers import run_here, run_hygge, write_project

engine, place = engine_fixtures(EVERY_STORE)


def project(engine: Engine, place: Place) -> Path:
    root = place.root / "proj"
    write_project(root, f"""\
        name: hist
        options: {{batch_bytes: 64KiB, retries: 0, lock_wait: 30}}  # a killed run's server session ends a moment late
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {json.dumps(engine.store(place))}
            entities: [orders]
        """)
    (root / "in").mkdir()
    pq.write_table(orders(100_000), root / "in" / "orders.parquet")
    return root


def history(root: Path) -> list[dict[str, Any]]:
    return list(json.loads(run_here("history", "--json", cwd=root, check=0).stdout)["runs"])


def test_a_killed_run_is_shown_interrupted_and_the_next_run_says_what_it_cleaned_up(engine: Engine,
                                                                                   place: Place) -> None:
    root = project(engine, place)
    killed = run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": "write:2"})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    (crash,) = history(root)
    assert crash["status"] == "interrupted" and crash["started_at"] and crash["ended_at"] is None
    assert "no end was recorded" in crash["error"] and "is gone" in crash["error"]
    shown = run_here("history", cwd=root, check=0).stdout
    assert "interrupted" in shown and f"({crash['run_id']}) was interrupted:" in shown

    rerun = json.loads(run_here("go", "--json", cwd=root, check=0).stdout)["moves"][0]
    assert rerun["status"] == "ok" and rerun["rows_in_target"] == 100_000
    (note,) = [w for w in rerun["warnings"] if "interrupted" in w]
    assert note.startswith(f"the previous run of this entity, {crash['run_id']} (started ")
    assert "was interrupted before it ended; this run " in note

    before, after = history(root)
    assert (before["run_id"], before["status"]) == (crash["run_id"], "interrupted")
    assert f"run {rerun['run_id']} found it at " in before["error"]
    assert (after["run_id"], after["status"], after["rows_written"]) == (rerun["run_id"], "ok", 100_000)


@pytest.mark.parametrize("engine", ["parquet", "sqlite", "postgres"], indirect=True)
def test_a_run_in_progress_is_shown_running_and_then_by_its_end_alone(engine: Engine, place: Place) -> None:
    root = project(engine, place)
    release = place.root / "release"  # the run stays paused until its running record has been seen
    env = {**{k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}, "HYGGE_PAUSE_AT": "write:1:120",
           "HYGGE_PAUSE_UNTIL": str(release)}
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "-q"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while not seen and time.monotonic() < deadline and proc.poll() is None:
        seen = history(root)
    release.touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert [(r["status"], r["pid"]) for r in seen] == [("running", proc.pid)]
    (done,) = history(root)
    assert (done["run_id"], done["status"]) == (seen[0]["run_id"], "ok")


@pytest.mark.parametrize("engine", ["parquet"], indirect=True)
def test_a_run_killed_after_its_end_was_written_is_not_called_interrupted(engine: Engine, place: Place) -> None:
    """A kill between a run's last history line and letting go of the lock leaves the lock's text behind
    (as any kill does); the next run finds that run's end in the history and leaves it as it ended."""
    root = project(engine, place)
    first = json.loads(run_here("go", "--json", cwd=root, check=0).stdout)["moves"][0]
    (ended,) = history(root)
    lock = place.root / "lake" / ".hygge" / "locks" / "orders.lock"
    lock.write_text(json.dumps({"run_id": ended["run_id"], "pid": ended["pid"], "host": ended["host"], "since": 0,
                                "record": {**ended, "status": "running", "ended_at": None}}))
    second = json.loads(run_here("go", "--json", cwd=root, check=0).stdout)["moves"][0]
    assert not [w for w in second["warnings"] if "interrupted" in w]
    assert [(r["run_id"], r["status"]) for r in history(root)] == [(first["run_id"], "ok"), (second["run_id"], "ok")]
