"""Guarantees 1-3 for file Stores: a SIGKILL anywhere leaves the old or the new target, and the next run heals.

Each test first commits an "old" version, changes the source, then kills a real
`hygge go` process: at every named point of the commit protocol, and at seeded
random instants. After every kill the target must equal the old version or the
new one exactly, and a rerun must give what one clean run gives, with no debris.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hygge.samples import orders
from tests.helpers import read_target, run_here, run_hygge, staging_debris, write_project

OLD = orders(30_000)
NEW = orders(40_000).slice(5_000)


def project(tmp: Path, run_type: str, fmt: str = "parquet", store: str = "") -> Path:
    write_project(tmp, """\
        name: kills
        options: {batch_bytes: 64KiB, retries: 0}
        """, flows={"f": f"""\
        home: {{type: parquet, path: in}}
        store: {{type: {fmt}, path: out, target_file_size: 300KB{store}}}
        run_type: {run_type}
        entities: [orders]
        """})
    (tmp / "in").mkdir(exist_ok=True)
    return tmp


def set_source(tmp: Path, table: pa.Table) -> None:
    pq.write_table(table, tmp / "in" / "orders.parquet", row_group_size=5_000)


def target(tmp: Path) -> pa.Table | None:
    folder = tmp / "out" / "orders"
    return read_target(folder).sort_by("order_id") if folder.exists() else None


def expectations(run_type: str) -> tuple[pa.Table, pa.Table]:
    before = OLD
    after = NEW if run_type == "full_drop" else pa.concat_tables([OLD, NEW])
    return before.sort_by("order_id"), after.sort_by("order_id")


def same(a: pa.Table | None, b: pa.Table) -> bool:
    return a is not None and a.num_rows == b.num_rows and a.equals(b)


KILL_POINTS = ["read:3", "write:2", "before-publish", "after-publish"]
# The source file is larger than the parts: it is re-encoded, by polars unless the store says otherwise
# (test_parquet_polars.py), which writes part after part without hygge's reader.
WRITERS = {"hygge": ", parallel_encode: false", "polars": ""}


@pytest.mark.parametrize("run_type", ["full_drop", "append"])
@pytest.mark.parametrize(("writer", "point"), [*(("hygge", p) for p in KILL_POINTS),
                                               *(("polars", p) for p in KILL_POINTS if not p.startswith("read"))])
def test_kill_at_every_point_of_the_commit_protocol(tmp_path: Path, run_type: str, writer: str, point: str) -> None:
    project(tmp_path, run_type, store=WRITERS[writer])
    set_source(tmp_path, OLD)
    run_here("go", cwd=tmp_path, check=0)
    set_source(tmp_path, NEW)
    before, after = expectations(run_type)
    killed = run_hygge("go", cwd=tmp_path, env={"HYGGE_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL
    now = target(tmp_path)
    if point == "after-publish":
        assert same(now, after), "published data must survive a kill during cleanup"
    else:
        assert same(now, before), f"a kill at {point} must leave the target exactly as before"
    rerun = run_here("go", cwd=tmp_path, check=0)
    assert "1 of 1 entities moved" in rerun.stdout
    assert staging_debris(tmp_path / "out") == []
    if point != "after-publish" or run_type == "full_drop":
        assert same(target(tmp_path), after)


def test_kill_between_the_two_renames_of_the_fallback_publish_rolls_forward(tmp_path: Path) -> None:
    project(tmp_path, "full_drop")
    set_source(tmp_path, OLD)
    run_here("go", cwd=tmp_path, check=0)
    set_source(tmp_path, NEW)
    killed = run_hygge("go", cwd=tmp_path, env={"HYGGE_KILL_AT": "publish-gap", "HYGGE_PUBLISH": "rename"})
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "out" / "orders").exists(), "the kill came after the old version was moved aside"
    run_here("go", "--dry-run", cwd=tmp_path, check=0)  # reading state alone must not break anything
    run_hygge("go", cwd=tmp_path, env={"HYGGE_PUBLISH": "rename"}, check=0)
    assert same(target(tmp_path), NEW.sort_by("order_id"))
    assert staging_debris(tmp_path / "out") == []


@pytest.mark.parametrize("run_type", ["full_drop", "append"])
def test_kill_at_random_instants(tmp_path: Path, run_type: str) -> None:
    """SIGKILL from outside at seeded random moments across the whole run."""
    project(tmp_path, run_type)
    set_source(tmp_path, OLD)
    run_here("go", cwd=tmp_path, check=0)
    set_source(tmp_path, NEW)
    before, after = expectations(run_type)
    clock = time.perf_counter()
    run_hygge("go", "--dry-run", cwd=tmp_path, check=0)  # the process start-up cost, roughly
    span = (time.perf_counter() - clock) * 2
    rng = random.Random(20261126)
    outcomes = []
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "-q"], cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"})
        time.sleep(rng.uniform(0.2, span))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        now = target(tmp_path)
        if same(now, before):
            outcomes.append("old")
        else:
            assert same(now, after), "after a kill the target must be the old or the new version, nothing else"
            outcomes.append("new")
            # Start again from the old version so the next kill is meaningful.
            set_source(tmp_path, OLD)
            run_here("go", "--full-drop", cwd=tmp_path, check=0)
            set_source(tmp_path, NEW)
    run_here("go", cwd=tmp_path, check=0)
    assert same(target(tmp_path), after)
    assert staging_debris(tmp_path / "out") == []
