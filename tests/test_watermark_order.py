"""A watermark is compared (incremental reads) and ordered (a merge's latest row per key) in the engine's SQL, so
its stored values must sort as its values do. SQLite keeps decimals as text and DuckDB those wider than 38
digits: '100.00' sorted before '99.00', so rows above a watermark of 99.00 were never read, and a merge kept the
row of version 9.00 over 10.00 (exit 0). Such watermarks are refused there, naming why; elsewhere they work."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.errors import ConfigError, WriteError
from tests.helpers import read_target


def versions(root: Path, ids: list[int], vers: list[str], precision: int = 10) -> None:
    (root / "src").mkdir(exist_ok=True)
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64()),
                             "ver": pa.array([Decimal(v) for v in vers], pa.decimal128(precision, 2)
                                             if precision <= 38 else pa.decimal256(precision, 2))}),
                   root / "src" / "t.parquet")


def test_a_text_decimal_watermark_of_a_sqlite_home_is_refused(tmp_path: Path) -> None:
    versions(tmp_path, [1, 2, 3], ["5.00", "9.50", "99.00"])
    db = {"type": "sqlite", "path": str(tmp_path / "stage.db")}
    assert hygge.move({"type": "parquet", "path": str(tmp_path / "src")}, db, "t", root=tmp_path).ok
    result = hygge.move(db, {"type": "parquet", "path": str(tmp_path / "out")}, "t", run_type="incremental",
                        root=tmp_path, watermark="ver")
    assert not result.ok and isinstance(result.error, ConfigError)
    text = str(result.error)
    assert "watermark column 'ver' cannot be compared here: SQLite keeps decimals as text" in text
    assert "decimal(10,2)" in text
    assert not (tmp_path / "out" / "t").exists()


@pytest.mark.parametrize(("store", "precision"), [("sqlite", 10), ("duckdb", 40)])
def test_a_merge_by_a_text_decimal_watermark_is_refused(tmp_path: Path, store: str, precision: int) -> None:
    versions(tmp_path, [1, 1, 2], ["10.00", "9.00", "1.00"], precision)
    target = {"type": store, "path": str(tmp_path / f"out.{store}")}
    result = hygge.move({"type": "parquet", "path": str(tmp_path / "src")}, target, "t", run_type="merge",
                        root=tmp_path, keys=["id"], watermark="ver")
    assert not result.ok and isinstance(result.error, WriteError)
    assert "merge cannot order rows by watermark 'ver' here" in str(result.error)
    assert not result.committed


@pytest.mark.parametrize("store", ["duckdb", "parquet"])
def test_a_merge_by_a_decimal_watermark_keeps_the_highest_where_decimals_are_numbers(tmp_path: Path,
                                                                                      store: str) -> None:
    versions(tmp_path, [1, 1, 2], ["10.00", "9.00", "1.00"])
    target = {"type": store, "path": str(tmp_path / ("out.duckdb" if store == "duckdb" else "out"))}
    result = hygge.move({"type": "parquet", "path": str(tmp_path / "src")}, target, "t", run_type="merge",
                        root=tmp_path, keys=["id"], watermark="ver")
    assert result.ok, result.error
    back = hygge.move(target, {"type": "parquet", "path": str(tmp_path / "check")}, "t", root=tmp_path)
    assert back.ok, back.error
    rows = read_target(tmp_path / "check" / "t").sort_by("id").to_pylist()
    assert rows == [{"id": 1, "ver": Decimal("10.00")}, {"id": 2, "ver": Decimal("1.00")}]
