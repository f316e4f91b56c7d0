"""A backfill (`hygge go --entity F.E --from A --to B`) adds one slice of the rows to the target, whatever the
entity's run type, and leaves what the next run reads from where it was.

Before, it committed the slice's highest value as the watermark and every file it read as loaded: a slice ahead
of the watermark made the next run skip the rows between them (and, on a file home, every row of the files the
slice touched), with exit code 0; on a `full_drop` entity it replaced the target with the slice.

Every run type, into each Store family, from a file home and a database home: 10 rows, 30 more arrive, a backfill
of the slice 20 <= v < 30 (ahead of the watermark, 10), then a plain run.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target

engine, place = engine_fixtures(MERGE_ENGINES)

# run type, keys -> the ids in the target after the backfill, and after the plain run that follows it.
EXPECTED: dict[str, tuple[dict[str, Any], Counter[int], Counter[int]]] = {
    "incremental": ({"keys": ["id"]}, Counter([*range(1, 11), *range(20, 30)]), Counter(range(1, 41))),
    # Without keys the next run appends what came after the watermark, the slice among it: the person's choice.
    "incremental, no keys": ({}, Counter([*range(1, 11), *range(20, 30)]),
                             Counter([*range(1, 41), *range(20, 30)])),
    "merge": ({"keys": ["id"]}, Counter([*range(1, 11), *range(20, 30)]), Counter(range(1, 41))),
    "append": ({}, Counter([*range(1, 11), *range(20, 30)]), Counter([*range(1, 11), *range(20, 30), *range(1, 41)])),
    "full_drop": ({}, Counter([*range(1, 11), *range(20, 30)]), Counter(range(1, 41))),
}


def rows(ids: range) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "v": pa.array(ids, pa.int64()),
                     "name": [f"row {i}" for i in ids]})


class Source:
    """The entity `t` on a file home (a folder gaining a file per arrival) or a SQLite table."""

    def __init__(self, root: Path, kind: str):
        self.root, self.kind, self.files = root, kind, 0
        (root / "src").mkdir(parents=True, exist_ok=True)
        if kind == "sqlite":
            self.home: dict[str, Any] = {"type": "sqlite", "path": str(root / "src" / "app.db")}
            with closing(sqlite3.connect(root / "src" / "app.db")) as conn, conn:
                conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, name TEXT)")
        else:
            (root / "src" / "t").mkdir()
            self.home = {"type": "parquet", "path": str(root / "src")}

    def add(self, ids: range) -> None:
        if self.kind == "sqlite":
            with closing(sqlite3.connect(self.root / "src" / "app.db")) as conn, conn:
                conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, i, f"row {i}") for i in ids])
        else:
            self.files += 1
            pq.write_table(rows(ids), self.root / "src" / "t" / f"arrival-{self.files}.parquet")


def moved(source: Source, store: dict[str, Any], run_type: str, settings: dict[str, Any],
          window: tuple[str | None, str | None] = (None, None)) -> hygge.MoveResult:
    result = hygge.move(source.home, store, "t", run_type=run_type, root=source.root, watermark="v",
                        window=window, retries=0, **settings)
    assert result.ok, f"{result.error}\n{result.traceback}"
    return result


def landed(engine: Engine, place: Place) -> Counter[int]:
    result = hygge.move(engine.home(place), {"type": "parquet", "path": str(place.root / "check")}, "t",
                        root=place.root)
    assert result.ok, result.error
    return Counter(read_target(place.root / "check" / "t")["id"].to_pylist())


def backfill_ahead_then_run(source: Source, store: dict[str, Any], engine: Engine, place: Place,
                            case: str) -> tuple[Counter[int], Counter[int]]:
    settings, _, _ = EXPECTED[case]
    run_type = case.split(",")[0]
    source.add(range(1, 11))
    moved(source, store, run_type, settings)
    source.add(range(11, 41))
    result = moved(source, store, run_type, settings, ("20", "30"))
    assert result.rows_read == 10
    after_backfill = landed(engine, place)
    moved(source, store, run_type, settings)
    return after_backfill, landed(engine, place)


# Into every store: the two ways a store takes a backfill, merged (keys) and appended (a full_drop entity's too).
@pytest.mark.parametrize("case", ["incremental", "full_drop"])
def test_a_backfill_adds_its_slice_and_the_next_run_takes_the_rest(engine: Engine, place: Place, case: str) -> None:
    source = Source(place.root, "files")
    _, after_backfill, after_run = EXPECTED[case]
    assert backfill_ahead_then_run(source, engine.store(place), engine, place, case) == (after_backfill, after_run)


@pytest.mark.parametrize("case", [c for c in EXPECTED if c not in ("incremental", "full_drop")])
def test_a_backfill_of_every_run_type(tmp_path: Path, case: str) -> None:
    parquet, out = MERGE_ENGINES["parquet"], Place(tmp_path / "out", "out")
    source = Source(tmp_path, "files")
    _, after_backfill, after_run = EXPECTED[case]
    assert backfill_ahead_then_run(source, parquet.store(out), parquet, out, case) == (after_backfill, after_run)


@pytest.mark.parametrize("case", list(EXPECTED))
def test_a_backfill_from_a_database_home(tmp_path: Path, case: str) -> None:
    parquet = MERGE_ENGINES["parquet"]
    out = Place(tmp_path / "out", "out")
    source = Source(tmp_path, "sqlite")
    _, after_backfill, after_run = EXPECTED[case]
    assert backfill_ahead_then_run(source, parquet.store(out), parquet, out, case) == (after_backfill, after_run)


@pytest.mark.parametrize("kind", ["files", "sqlite"])
@pytest.mark.parametrize("keys", [["id"], []])
def test_a_backfill_as_the_first_run_leaves_the_next_one_a_full_load(tmp_path: Path, kind: str,
                                                                      keys: list[str]) -> None:
    parquet, out = MERGE_ENGINES["parquet"], Place(tmp_path / "out", "out")
    source = Source(tmp_path, kind)
    source.add(range(1, 11))
    moved(source, parquet.store(out), "incremental", {"keys": keys}, ("3", "6"))
    assert landed(parquet, out) == Counter(range(3, 6))
    moved(source, parquet.store(out), "incremental", {"keys": keys})
    assert landed(parquet, out) == Counter(range(1, 11))
    source.add(range(11, 15))
    moved(source, parquet.store(out), "incremental", {"keys": keys})
    assert landed(parquet, out) == Counter(range(1, 15))
