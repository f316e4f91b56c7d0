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
    # polish too: a ConfigError naming the key, as for the YAML (it was pydantic's ValidationError)
    with pytest.raises(hygge.ConfigError, match=r"\[polish\.cast\]: polish: Input should be a valid dictionary"):
        hygge.move({"type": "parquet", "path": "x"}, {"type": "parquet", "path": "y"}, "e", root=tmp_path,
                   polish={"cast": 5})
    with pytest.raises(hygge.ConfigError, match=r"\[polish\.renme\]: polish: unknown key 'renme'"):
        hygge.move({"type": "parquet", "path": "x"}, {"type": "parquet", "path": "y"}, "e", root=tmp_path,
                   polish={"renme": {"a": "b"}})


def test_move_takes_run_options_beside_entity_settings(tmp_path: Path) -> None:
    write_sample_source(tmp_path / "src")
    result = hygge.move({"type": "parquet", "path": "src"}, {"type": "parquet", "path": "lake"}, "orders",
                        root=tmp_path, batch_bytes="64KB", queue_bytes="256KB", run_type="merge", keys=["order_id"])
    assert result.ok and result.rows_in_target == 5000, result.error


def test_failures_come_back_as_results_not_exceptions(tmp_path: Path) -> None:
    result = hygge.move({"type": "parquet", "path": "nowhere"}, {"type": "parquet", "path": "y"}, "e", root=tmp_path)
    assert not result.ok and isinstance(result.error, hygge.ReadError)
    assert result.error.entity == "e" and "the source does not exist" in str(result.error)


def test_every_public_name_resolves_and_unknown_names_fail() -> None:
    # The package imports its public names on first use; each one named in __all__ must be there.
    import subprocess
    import sys

    code = ("import hygge, sys; names = [n for n in hygge.__all__ if n != '__version__']; "
            "assert 'hygge.api' not in sys.modules; "
            "print(sorted(type(getattr(hygge, n)).__name__ for n in names)); "
            "print(sorted(dir(hygge)) == sorted(hygge.__all__))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    kinds, listed = done.stdout.splitlines()
    assert kinds.count("'function'") == 3 and "'type'" in kinds and listed == "True"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hygge.nope  # noqa: B018
