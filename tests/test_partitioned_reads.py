"""Partitioned database reads meet every way of choosing rows: each row is read exactly once.

Every database Home splits one table on an integer, a timestamp (the watermark itself), a float holding
nulls (and NaN where the engine keeps it) and a date, and reads it incrementally (append and merge by
keys, with a lookback) and as a backfill window. What a partitioned read lands must equal what the same
read lands unpartitioned, row for row, and hold the number of rows the scenario says.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import hygge
from tests.contract import test_duckdb, test_mysql, test_postgres, test_sqlite
from tests.contract.suite import Engine, Place, files_place, move, source_dir
from tests.helpers import read_target

HOMES: dict[str, Engine] = {e.name: e for e in (test_sqlite.ENGINE, test_duckdb.ENGINE, test_postgres.ENGINE,
                                                 test_mysql.ENGINE)}
BASE = datetime(2024, 5, 1, tzinfo=timezone.utc)
KEEPS_NAN = {"duckdb", "postgres"}  # SQLite stores NaN as NULL, MySQL refuses it


def events(ids: list[int], minutes: list[int], version: int, nan: bool) -> pa.Table:
    amount = [None if i % 7 == 0 else (float("nan") if nan and i % 11 == 0 else i * 1.5 - 300) for i in ids]
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "updated_at": pa.array([BASE + timedelta(minutes=m) for m in minutes], pa.timestamp("us", tz="UTC")),
        "amount": pa.array(amount, pa.float64()),
        "day": pa.array([None if i % 5 == 0 else date(2024, 1, 1) + timedelta(days=i % 40) for i in ids]),
        "name": [f"event {i} v{version}" for i in ids],
    })


@pytest.fixture(params=list(HOMES), ids=list(HOMES))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Place]]:
    chosen = HOMES[request.param]
    opener = chosen.place or files_place
    for place in opener(tmp_path, request.node.name):
        yield chosen, place


def sorted_target(root: Path, name: str) -> pa.Table:
    """The target in a stable order, floats as text so that NaN equals NaN."""
    table = read_target(root / name).sort_by([("id", "ascending"), ("updated_at", "ascending")])
    return table.set_column(table.column_names.index("amount"), "amount", table.column("amount").cast(pa.string()))


@pytest.mark.parametrize("column", ["id", "updated_at", "amount", "day"])
def test_partitioned_reads_take_every_row_once_with_watermarks_lookback_windows_and_keys(
        engine: tuple[Engine, Place], column: str) -> None:
    chosen, place = engine
    root, nan = place.root, chosen.name in KEEPS_NAN
    # 400 rows, then 10 new ones and 6 updated ones, all later than the first run's watermark.
    first = events(list(range(1, 401)), list(range(400)), 1, nan)
    later = pa.concat_tables([events(list(range(401, 411)), list(range(500, 510)), 1, nan),
                              events([3, 7, 11, 50, 77, 400], list(range(520, 526)), 2, nan)])
    store = chosen.store(place)
    move(source_dir(root, "events", first), store, "events", root)

    def read(target: str, partitions: int, **settings: Any) -> hygge.MoveResult:
        home = {**chosen.home(place), "partition_on": column, "partitions": partitions}
        return move(home, {"type": "parquet", "path": "out"}, "events", root, target=target, **settings)

    scenarios: dict[str, dict[str, Any]] = {
        "append": {"run_type": "incremental", "watermark": "updated_at"},
        "merge": {"run_type": "incremental", "watermark": "updated_at", "keys": ("id",), "lookback": "2h"},
    }
    for name, settings in scenarios.items():
        for partitions in (1, 4):
            assert read(f"{name}_{partitions}", partitions, **settings).rows_read == 400
    move(source_dir(root, "events", later), store, "events", root, run_type="append")
    for name, settings in scenarios.items():
        for partitions in (1, 4):
            second = read(f"{name}_{partitions}", partitions, **settings)
            # append reads what came after the watermark (minute 399); merge reads 2 h further back too
            assert second.rows_read == (16 if name == "append" else 120 + 16), f"{name}, {partitions} partitions"
        split, whole = sorted_target(root / "out", f"{name}_4"), sorted_target(root / "out", f"{name}_1")
        assert split.num_rows == (416 if name == "append" else 410)
        assert split.equals(whole), f"{name}: the partitioned read landed other rows than one read"
    window = {"watermark": "updated_at", "window": ("2024-05-01T01:40:00+00:00", "2024-05-01T08:40:00+00:00")}
    assert read("window_4", 4, **window).rows_read == read("window_1", 1, **window).rows_read == 300 + 10
    assert sorted_target(root / "out", "window_4").equals(sorted_target(root / "out", "window_1"))


def test_a_user_query_holding_placeholder_text_is_read_as_written(engine: tuple[Engine, Place]) -> None:
    """A query's own `%s`, `$1` and `?` are the query's: only hygge's values are bound or written in."""
    chosen, place = engine
    table = pa.table({"id": pa.array([1, 2, 3, 4], pa.int64()), "note": ["50%sale", "$1 off", "why?", "plain"]})
    move(source_dir(place.root, "notes", table), chosen.store(place), "notes", place.root)
    ref = f"{place.name}.notes" if chosen.name in ("postgres", "mysql") else "notes"
    query = f"SELECT * FROM {ref} WHERE note LIKE '%s%' OR note = '$1 off' OR note = 'why?'"
    home = {**chosen.home(place), "partition_on": "id", "partitions": 2}
    for run in range(2):
        result = hygge.move(home, {"type": "parquet", "path": "out"}, "notes", root=place.root, query=query,
                            run_type="incremental", watermark="id")
        assert result.ok, result.error
        assert result.rows_read == (3 if run == 0 else 0)
    assert sorted(read_target(place.root / "out" / "notes").column("note").to_pylist()) == ["$1 off", "50%sale",
                                                                                           "why?"]


@pytest.mark.parametrize("name", ["sqlite", "duckdb"])
def test_nanosecond_watermarks_read_exactly_the_rows_after_them(tmp_path: Path, name: str) -> None:
    """Two rows one nanosecond apart: the second run reads only the later one, split or not."""
    place = Place(tmp_path, name)
    stamps = pa.array([1_700_000_000_000_000_000 + i for i in (0, 5, 6)], pa.timestamp("ns", tz="UTC"))
    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "ts": stamps})
    store = HOMES[name].store(place)
    move(source_dir(tmp_path, "ticks", table.slice(0, 2)), store, "ticks", tmp_path)
    home = {**HOMES[name].home(place), "partition_on": "ts", "partitions": 2}
    settings = {"run_type": "incremental", "watermark": "ts"}
    assert move(home, {"type": "parquet", "path": "out"}, "ticks", tmp_path, **settings).rows_read == 2
    move(source_dir(tmp_path, "ticks", table.slice(2)), store, "ticks", tmp_path, run_type="append")
    assert move(home, {"type": "parquet", "path": "out"}, "ticks", tmp_path, **settings).rows_read == 1
    assert read_target(tmp_path / "out" / "ticks").sort_by("id").equals(table)
