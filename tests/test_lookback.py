"""A lookback reaching below every value of the watermark's type reads every row again, instead of wrapping
round: an unsigned watermark of 30 with `lookback: 100` became 4,294,967,226, and every later run read nothing
(exit code 0). A negative lookback, which would skip rows after the watermark, is refused."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.errors import ConfigError
from tests.contract.suite import Place
from tests.helpers import read_target
from tests.services import MYSQL_URL, mysql_place, mysql_sql


@pytest.fixture
def mysql(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
    yield from mysql_place(tmp_path, request.node.name)


def runs(root: Path, home: dict[str, object], add: object, lookback: object = 100) -> Counter[int]:
    """Three rows, an incremental run, two more rows, two more runs: what the target holds then."""
    settings = {"keys": ["id"], "watermark": "seq", "lookback": lookback, "retries": 0}
    store = {"type": "parquet", "path": str(root / "out")}
    for step in range(3):
        if step == 1:
            add()  # type: ignore[operator]
        result = hygge.move(home, store, "t", run_type="incremental", root=root, **settings)
        assert result.ok, result.error
    return Counter(read_target(root / "out" / "t")["id"].to_pylist())


def test_an_unsigned_watermark_on_mysql_is_not_wrapped_round_by_the_lookback(tmp_path: Path, mysql: Place) -> None:
    db = mysql.name
    mysql_sql(f"CREATE DATABASE `{db}`")
    mysql_sql(f"CREATE TABLE `{db}`.t (id INT UNSIGNED PRIMARY KEY, seq INT UNSIGNED NOT NULL)")
    mysql_sql(f"INSERT INTO `{db}`.t VALUES (1, 10), (2, 20), (3, 30)")
    home = {"type": "mysql", "url": MYSQL_URL, "schema": db}
    added = runs(tmp_path, home, lambda: mysql_sql(f"INSERT INTO `{db}`.t VALUES (4, 40), (5, 50)"))
    assert added == Counter(range(1, 6))


@pytest.mark.parametrize("dtype", [pa.uint32(), pa.uint8(), pa.int8()])
def test_a_lookback_larger_than_the_type_allows_reads_every_file_row_again(tmp_path: Path,
                                                                           dtype: pa.DataType) -> None:
    (tmp_path / "src" / "t").mkdir(parents=True)

    def write(name: str, ids: list[int]) -> None:
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "seq": pa.array([i * 10 for i in ids], dtype)}),
                       tmp_path / "src" / "t" / name)

    write("a.parquet", [1, 2, 3])
    added = runs(tmp_path, {"type": "parquet", "path": str(tmp_path / "src")}, lambda: write("b.parquet", [4, 5]),
                 lookback=1000)
    assert added == Counter(range(1, 6))


def test_a_negative_lookback_is_refused(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    pq.write_table(pa.table({"id": [1], "seq": [10]}), tmp_path / "src" / "t.parquet")
    home = {"type": "parquet", "path": str(tmp_path / "src")}
    store = {"type": "parquet", "path": str(tmp_path / "out")}
    assert hygge.move(home, store, "t", run_type="incremental", root=tmp_path, watermark="seq").ok
    result = hygge.move(home, store, "t", run_type="incremental", root=tmp_path, watermark="seq", lookback=-5)
    assert not result.ok and isinstance(result.error, ConfigError)
    assert "lookback -5 is negative" in str(result.error)
