"""SIGKILL at seeded random instants, against every Store family and run type.

After every kill the target is exactly the old version or exactly the new one, and the next run heals:
it ends equal to one clean run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target, run_here, run_hygge

ROWS = 60_000


def version(rows: int, tag: int) -> pa.Table:
    ids = pa.array(range(rows), pa.int64())
    return pa.table({"id": ids, "tag": pa.array([tag] * rows, pa.int32()),
                     "text": pa.array([f"row {i} of version {tag}" for i in range(rows)])})


engine, place = engine_fixtures(MERGE_ENGINES)


def target(engine: Engine, place: Place) -> pa.Table:
    back = place.root / "back"
    result = hygge.move(engine.home(place), {"type": "parquet", "path": str(back)}, "items", root=place.root)
    assert result.ok, result.error
    return read_target(back / "items").sort_by([("id", "ascending"), ("tag", "ascending")])


@pytest.mark.parametrize("run_type", ["full_drop", "append", "merge"])
def test_kills_at_random_instants_leave_old_or_new_and_heal(engine: Engine, place: Place, run_type: str) -> None:
    root = place.root / "proj"
    (root / "in").mkdir(parents=True)
    store = engine.store(place)
    # lock_wait: a database server lets go of a killed client's lock (its session) only once it sees the connection
    # drop, a moment after the kill; a rerun right then would be told another run is writing, and rightly so.
    store_yaml = ", ".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in store.items())
    (root / "hygge.yml").write_text(textwrap.dedent(f"""\
        name: kills
        options: {{batch_bytes: 128KiB, retries: 0, lock_wait: 30}}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {{{store_yaml}}}
            run_type: {run_type}
            entities: [{{name: items, keys: [id]}}]
        """))
    old, new = version(ROWS, 1), version(ROWS, 2)
    pq.write_table(old, root / "in" / "items.parquet")
    run_here("go", "--full-drop", cwd=root, check=0)
    pq.write_table(new, root / "in" / "items.parquet")
    before = target(engine, place)
    after = {"full_drop": new, "append": pa.concat_tables([old, new]), "merge": new}[run_type]
    after = after.sort_by([("id", "ascending"), ("tag", "ascending")])
    clock = time.perf_counter()
    run_hygge("go", "--dry-run", cwd=root, check=0)
    span = (time.perf_counter() - clock) * 2.5
    rng = random.Random(f"{engine.name}-{run_type}")
    env = {k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "-q"], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, span))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        now = target(engine, place)
        if now.equals(after):
            # The kill came after the commit: start over from the old version for the next one.
            pq.write_table(old, root / "in" / "items.parquet")
            run_here("go", "--full-drop", cwd=root, check=0)
            pq.write_table(new, root / "in" / "items.parquet")
        else:
            assert now.equals(before), "after a kill the target must be the old or the new version, nothing else"
    run_here("go", cwd=root, check=0)
    assert target(engine, place).equals(after)
