"""`delete_column`: rows flagged true remove their key, in every Store family and every run type that has keys.

The first run of an incremental entity was a full load; it published the flagged rows as live ones, and since
their keys need never come again, they stayed (exit code 0). With a delete_column that first run is a merge,
which also keeps the latest of a key's versions. A flag that is not a boolean was read each engine's own way
(SQLite's text 'true' deleted nothing): it is refused before anything is written, where a merge reads it.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.errors import ConfigError
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target

engine, place = engine_fixtures(MERGE_ENGINES)
BOOL = pa.bool_()


def arrival(root: Path, number: int, ids: list[int], gone: list[bool | None], flag: pa.DataType = BOOL) -> None:
    folder = root / "src" / "t"
    folder.mkdir(parents=True, exist_ok=True)
    values = [None if g is None else (g if flag == BOOL else ("true" if g else "false") if flag == pa.string()
                                      else int(g)) for g in gone]
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "v": pa.array([number] * len(ids), pa.int64()),
                             "gone": pa.array(values, flag)}), folder / f"{number:03d}.parquet", row_group_size=2)


def move(root: Path, store: dict[str, object], run_type: str, partitions: int = 1,
         **settings: object) -> hygge.MoveResult:
    home = {"type": "parquet", "path": str(root / "src"), "partitions": partitions}
    return hygge.move(home, store, "t", run_type=run_type, root=root, keys=["id"], watermark="v",
                      delete_column="gone", retries=0, **settings)


def live_ids(engine: Engine, place: Place) -> list[int]:
    back = hygge.move(engine.home(place), {"type": "parquet", "path": str(place.root / "check")}, "t",
                      root=place.root)
    assert back.ok, back.error
    return sorted(read_target(place.root / "check" / "t")["id"].to_pylist())


# The first run of `incremental` is a full load, of `merge` a merge; partitions reach parquet's writers apart.
@pytest.mark.parametrize(("run_type", "partitions"), [("incremental", 1), ("incremental", 3), ("merge", 1)])
def test_flagged_rows_are_left_out_from_the_first_run_on(engine: Engine, place: Place, run_type: str,
                                                         partitions: int) -> None:
    store = engine.store(place)
    arrival(place.root, 1, [1, 2, 3, 4, 5, 6], [False, True, None, False, True, False])
    first = move(place.root, store, run_type, partitions)
    assert first.ok, first.error
    assert live_ids(engine, place) == [1, 3, 4, 6]
    arrival(place.root, 2, [4, 7, 2], [True, False, False])  # 4 deleted, 7 new, 2 back again
    second = move(place.root, store, run_type, partitions)
    assert second.ok, second.error
    assert live_ids(engine, place) == [1, 2, 3, 6, 7]


@pytest.mark.parametrize("flag", [pa.string(), pa.int64()], ids=["text", "integer"])
@pytest.mark.parametrize("run_type", ["incremental", "merge"])
@pytest.mark.parametrize("store_name", ["sqlite", "parquet"])  # refused before a store is opened: two suffice
def test_a_flag_that_is_not_a_boolean_is_refused_before_anything_is_written(tmp_path: Path, store_name: str,
                                                                             flag: pa.DataType, run_type: str) -> None:
    engine, place = MERGE_ENGINES[store_name], Place(tmp_path, "flags")
    store = engine.store(place)
    arrival(place.root, 1, [1, 2, 3], [False, True, False], flag)
    refused = move(place.root, store, run_type)
    assert not refused.ok and isinstance(refused.error, ConfigError)
    assert "delete_column 'gone' is" in str(refused.error) and "not a boolean" in str(refused.error)
    assert refused.rows_written == 0 and not refused.committed
    cast = move(place.root, store, run_type, polish={"cast": {"gone": "bool"}})  # the way the hint gives
    assert cast.ok, cast.error
    assert live_ids(engine, place) == [1, 3]


def test_a_first_run_of_versions_keeps_the_latest_of_each_key_and_applies_its_deletes(engine: Engine,
                                                                                      place: Place) -> None:
    # A CDC folder: key 1 lives, then is deleted; key 3 is deleted, then lives again; key 2 has one version.
    arrival(place.root, 1, [1, 2, 3], [False, False, True])
    arrival(place.root, 2, [1, 3], [True, False])
    result = move(place.root, engine.store(place), "incremental")
    assert result.ok, result.error
    assert live_ids(engine, place) == [2, 3]


@pytest.mark.parametrize("run_type", ["full_drop", "append"])
def test_a_delete_column_nothing_reads_is_not_checked(tmp_path: Path, run_type: str) -> None:
    place = Place(tmp_path, "unread")
    arrival(tmp_path, 1, [1, 2], [True, False], pa.int64())
    home = {"type": "parquet", "path": str(tmp_path / "src")}
    result = hygge.move(home, MERGE_ENGINES["sqlite"].store(place), "t", run_type=run_type, root=tmp_path,
                        delete_column="gone")  # inherited from defaults, say: without keys no merge reads it
    assert result.ok, result.error
    assert result.rows_written == 2
