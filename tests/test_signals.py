"""SIGTERM and Ctrl-C in the middle of a run: what is not committed rolls back, and each move says what happened.

Real `hygge go` processes, sent the signal while a move is writing (a pause at its first staged batch
keeps it there); their targets, exit codes, summaries and JSON reports are checked.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from hygge.samples import orders
from tests.helpers import run_here, staging_debris, write_project

# (signal, exit code); Ctrl-C is SIGINT
SIGNALS = [(signal.SIGTERM, 143), (signal.SIGINT, 130)]


def project(root: Path, store: str, executor: str) -> Path:
    target = "{type: csv, path: out}" if store == "csv" else "{type: sqlite, path: out.db}"
    write_project(root, f"name: stops\noptions: {{batch_bytes: 16KiB, concurrency: 1, executor: {executor}}}\n",
                  flows={"f": f"""\
        home: {{type: parquet, path: in}}
        store: {target}
        entities: [small, big, later]
        """})
    return root


def sources(root: Path, small: int, big: int, later: int) -> None:
    (root / "in").mkdir(exist_ok=True)
    for name, rows in (("small", small), ("big", big), ("later", later)):
        pq.write_table(orders(rows), root / "in" / f"{name}.parquet")


def rows_in(root: Path, store: str, entity: str) -> int:
    if store == "csv":
        return sum(pcsv.read_csv(p).num_rows for p in (root / "out" / entity).glob("part-*.csv"))
    with sqlite3.connect(root / "out.db") as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {entity}").fetchone()[0])


def go_and_stop(root: Path, signum: int, as_json: bool) -> tuple[int, str, str]:
    """`hygge go` stopped by ``signum`` while f.big writes (paused after its first staged batch until the signal
    was sent: its 600,000 rows then keep it writing well after the signal is handled)."""
    out, err, release = root / "stdout.txt", root / "stderr.txt", root / "release"
    release.unlink(missing_ok=True)
    env = {**{k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}, "HYGGE_PAUSE_AT": "write:2:60",
           "HYGGE_PAUSE_UNTIL": str(release)}
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", *(["--json"] if as_json else [])], cwd=root,
                                stdout=stdout, stderr=stderr, env=env, text=True)
        progress = err if as_json else out
        deadline = time.monotonic() + 60
        while "start    f.big" not in progress.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, progress.read_text()
            time.sleep(0.02)
        time.sleep(0.5)  # inside the pause: small has committed, big has staged a batch, later waits
        proc.send_signal(signum)
        time.sleep(0.2)
        release.touch()
        code = proc.wait(timeout=120)
    return code, out.read_text(), err.read_text()


@pytest.mark.parametrize(("store", "executor", "as_json"), [
    ("csv", "threads", False), ("csv", "threads", True), ("sqlite", "threads", False), ("sqlite", "threads", True),
    ("csv", "inline", False),
])
@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGTERM", "SIGINT"])
def test_a_signal_rolls_back_the_running_move_and_each_move_says_what_happened(
        tmp_path: Path, store: str, executor: str, as_json: bool, signum: int, code: int) -> None:
    root = project(tmp_path, store, executor)
    sources(root, 100, 100, 100)
    run_here("go", cwd=root, check=0)
    sources(root, 200, 600_000, 300)
    returncode, out, err = go_and_stop(root, signum, as_json)
    signame = signal.Signals(signum).name
    assert returncode == code, out + err
    assert "Traceback" not in out + err
    assert [rows_in(root, store, name) for name in ("small", "big", "later")] == [200, 100, 100]
    summary = err if as_json else out
    assert f"interrupted by {signame}: moves still running were stopped" in summary
    assert "committed (the target holds this run's rows): f.small" in summary
    assert "rolled back (the target is unchanged): f.big" in summary
    assert "not started: f.later" in summary
    assert "running moves were rolled back; their targets are unchanged" not in summary, "said of a committed move"
    if as_json:
        report = json.loads(out)
        assert [report[k] for k in ("interrupted", "signal", "exit_code", "ok")] == [True, signame, code, False]
        outcomes = {m["entity"]: (m["status"], m["outcome"]) for m in report["moves"]}
        assert outcomes == {"small": ("ok", "committed"), "big": ("cancelled", "rolled back"),
                            "later": ("cancelled", "not started")}
    if store == "csv":
        assert staging_debris(root / "out") == []
    assert run_here("go", cwd=root, check=0).returncode == 0
    assert rows_in(root, store, "big") == 600_000


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_the_first_move_reads_rolls_it_back_and_starts_no_other(tmp_path: Path, signum: int,
                                                                              code: int) -> None:
    root = project(tmp_path, "csv", "threads")
    sources(root, 10, 10, 10)
    # Paused while the first move reads (HYGGE_PAUSE_AT=read:1:...), stopped before anything is staged.
    env = {**{k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}, "HYGGE_PAUSE_AT": "read:1:3"}
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    while not (root / "out" / ".hygge" / "staging").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, out + err
    assert "rolled back (the target is unchanged): f.small" in out
    assert "not started: f.big, f.later" in out
    assert not (root / "out" / "small").exists()
