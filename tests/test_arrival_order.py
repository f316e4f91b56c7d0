"""Rows that share a key and a watermark are decided by arrival order (the later row wins), also when the home
reads its files in partitions: fanned in on threads, the partitions' batches interleaved, and an older row won
(in 4 of 6 runs, exit 0). With keys, a file home reads one stream into a store written by one process; where each
partition has a writer of its own (threads into the parquet store) the partitions are staged in order."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target

engine, place = engine_fixtures(MERGE_ENGINES)
KEYS = 2_000


def test_the_last_file_wins_among_rows_of_one_key_read_in_partitions(engine: Engine, place: Place) -> None:
    last_file_wins(engine, place, "threads", "merge")


# Into parquet the threads executor stages each partition on its own writer, and inline reads them into one; into
# a database or lake store both executors and both keyed run types take one path (one writer, one stream).
@pytest.mark.parametrize(("executor", "run_type"), [("threads", "incremental"), ("inline", "merge"),
                                                    ("inline", "incremental")])
def test_the_last_file_wins_into_parquet_on_either_executor(tmp_path: Path, executor: str, run_type: str) -> None:
    last_file_wins(MERGE_ENGINES["parquet"], Place(tmp_path, "arrival"), executor, run_type)


def last_file_wins(engine: Engine, place: Place, executor: str, run_type: str) -> None:
    root = place.root
    (root / "src" / "e").mkdir(parents=True)
    home = {"type": "parquet", "path": str(root / "src"), "partitions": 3}
    settings = {"keys": ["id"], "watermark": "ts", "executor": executor, "batch_bytes": 1024, "retries": 0}
    pq.write_table(pa.table({"id": pa.array([0], pa.int64()), "ts": pa.array([0], pa.int64()), "v": ["seed"]}),
                   root / "src" / "e" / "0.parquet")
    first = hygge.move(home, engine.store(place), "e", run_type=run_type, root=root, **settings)
    assert first.ok, first.error
    for number, tag in enumerate(("first", "middle", "last"), start=1):  # names sort in arrival order
        pq.write_table(pa.table({"id": pa.array(range(1, KEYS + 1), pa.int64()), "ts": pa.array([5] * KEYS, pa.int64()),
                                 "v": [tag] * KEYS}), root / "src" / "e" / f"{number}.parquet", row_group_size=100)
    result = hygge.move(home, engine.store(place), "e", run_type=run_type, root=root, **settings)
    assert result.ok, result.error
    back = hygge.move(engine.home(place), {"type": "parquet", "path": str(root / "check")}, "e", root=root)
    assert back.ok, back.error
    assert Counter(read_target(root / "check" / "e")["v"].to_pylist()) == {"last": KEYS, "seed": 1}
