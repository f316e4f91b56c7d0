"""The first run of an incremental entity with keys is a full load into a table keyed on them: rows that repeat
a key are refused, naming it, and nothing is published. The parquet store published every version of a row of
a CDC folder (exit 0) where the database stores refused; `merge` keeps the latest of each."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

import hygge
from hygge.errors import WriteError
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target

# Not yet the lake tables: a Delta table's first keyed load still publishes repeated keys as they come.
engine, place = engine_fixtures({k: v for k, v in MERGE_ENGINES.items() if k != "delta"})


def test_repeated_keys_in_the_first_keyed_load_are_refused_and_merge_takes_them(engine: Engine, place: Place) -> None:
    folder = place.root / "src" / "t"
    folder.mkdir(parents=True)
    for name, ids, v in (("1.parquet", [1, 2], 1), ("2.parquet", [2], 2)):  # key 2 again, a later version
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "v": pa.array([v] * len(ids), pa.int64())}),
                       folder / name)
    home, store = {"type": "parquet", "path": str(place.root / "src")}, engine.store(place)
    refused = hygge.move(home, store, "t", run_type="incremental", root=place.root, keys=["id"], watermark="v")
    assert not refused.ok and isinstance(refused.error, WriteError) and not refused.committed
    assert "the rows repeat values of `keys` (id)" in str(refused.error) and "id=2" in str(refused.error)
    merged = hygge.move(home, store, "t", run_type="merge", root=place.root, keys=["id"], watermark="v")
    assert merged.ok, merged.error
    back = hygge.move(engine.home(place), {"type": "parquet", "path": str(place.root / "check")}, "t",
                      root=place.root)
    assert back.ok, back.error
    assert sorted(read_target(place.root / "check" / "t").to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "v": 1}, {"id": 2, "v": 2}]
