"""The Python API for scripts and notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest

import hygge
from hygge.samples import write_sample_source
from tests.helpers import write_project


def test_run_a_workspace_and_read_per_entity_counts(tmp_path: Path) -> None:
    write_sample_source(tmp_path / "src")
    write_project(tmp_path, """\
        name: api
        flows:
          lake:
            home: {type: parquet, path: src}
            store: {type: parquet, path: lake}
        """)
    result = hygge.run(tmp_path)
    assert result.ok and result.exit_code == 0
    assert {m.entity: m.rows_in_target for m in result.moves} == {"events": 2000, "orders": 5000, "users": 1000}
    assert result.move("lake.users").to_dict()["rows_written"] == 1000
    only = hygge.run(hygge.load_workspace(tmp_path), entities=["lake.users"], run_type="append")
    assert [m.key for m in only.moves] == ["lake.users"] and only.moves[0].rows_in_target == 2000


def test_move_one_entity_without_a_project(tmp_path: Path) -> None:
    write_sample_source(tmp_path / "src")
    result = hygge.move({"type": "parquet", "path": "src"}, {"type": "csv", "path": "csv"}, "orders",
                        root=tmp_path, target="orders_export")
    assert result.ok and result.rows_written == 5000
    assert (tmp_path / "csv" / "orders_export" / "part-00000.csv").exists()
    assert result.location == "csv/orders_export"


def test_move_rejects_bad_settings_at_once(tmp_path: Path) -> None:
    with pytest.raises(hygge.ConfigError, match="unknown home type 'parquets'"):
        hygge.move({"type": "parquets", "path": "x"}, {"type": "parquet", "path": "y"}, "e", root=tmp_path)
    with pytest.raises(hygge.ConfigError, match="did you mean 'compression'"):
        hygge.move({"type": "parquet", "path": "x"}, {"type": "parquet", "path": "y", "compresion": "zstd"}, "e",
                   root=tmp_path)
    with pytest.raises(hygge.ConfigError, match=r"options\.retries"):
        hygge.move({"type": "parquet", "path": "x"}, {"type": "parquet", "path": "y"}, "e", root=tmp_path, retries=-1)


def test_move_takes_run_options_beside_entity_settings(tmp_path: Path) -> None:
    write_sample_source(tmp_path / "src")
    result = hygge.move({"type": "parquet", "path": "src"}, {"type": "parquet", "path": "lake"}, "orders",
                        root=tmp_path, batch_bytes="64KB", queue_bytes="256KB", run_type="merge", keys=["order_id"])
    assert result.ok and result.rows_in_target == 5000, result.error


def test_failures_come_back_as_results_not_exceptions(tmp_path: Path) -> None:
    result = hygge.move({"type": "parquet", "path": "nowhere"}, {"type": "parquet", "path": "y"}, "e", root=tmp_path)
    assert not result.ok and isinstance(result.error, hygge.ReadError)
    assert result.error.entity == "e" and "the source does not exist" in str(result.error)
