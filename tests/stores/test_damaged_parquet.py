"""A parquet file whose footer reads but whose pages do not is never published, whatever path takes it.

Every way a store can take parquet files with default settings is tried: copied whole (parquet), re-encoded
by polars (parquet with another codec), read by DuckDB itself (duckdb), and read batch by batch (csv). Each
must fail the move naming the damaged file and leave the target as the last good run left it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import read_target, run_here, write_project

ROWS = 20_000
STORES: dict[str, dict[str, Any]] = {
    "copied": {"type": "parquet", "path": "lake"},
    "polars": {"type": "parquet", "path": "lake", "compression": "zstd"},
    "duckdb": {"type": "duckdb", "path": "lake.duckdb"},
    "csv": {"type": "csv", "path": "lake"},
}


def table(version: int) -> pa.Table:
    return pa.table({"id": pa.array(range(ROWS), pa.int64()),
                     "amount": pa.array([i * 3 + version for i in range(ROWS)], pa.int64()),
                     "name": [f"name {i} v{version}" for i in range(ROWS)]})


def damage(path: Path, column: int, how: str) -> None:
    """Overwrite bytes in the middle of one column chunk's pages; the footer stays intact."""
    meta = pq.read_metadata(path).row_group(0).column(column)
    middle = meta.data_page_offset + meta.total_compressed_size // 2
    with open(path, "r+b") as handle:
        handle.seek(middle)
        handle.write(b"\xff" * 64 if how == "garble" else bytes(b ^ 0x01 for b in handle.read(8)))


def project(tmp_path: Path, store: dict[str, Any]) -> Path:
    return write_project(tmp_path, f"""\
        name: damaged
        options: {{retries: 0}}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {json.dumps(store)}
            entities: [events]
        """)


def landed(tmp_path: Path, store: dict[str, Any]) -> pa.Table:
    if store["type"] == "duckdb":
        import duckdb

        with duckdb.connect(str(tmp_path / store["path"]), read_only=True) as conn:
            return conn.sql("SELECT * FROM events ORDER BY id").to_arrow_table()
    if store["type"] == "csv":
        from pyarrow import csv

        return pa.concat_tables(csv.read_csv(p) for p in sorted((tmp_path / "lake" / "events").glob("*.csv")))
    return read_target(tmp_path / "lake" / "events")


@pytest.mark.parametrize("path", list(STORES), ids=list(STORES))
def test_a_damaged_page_fails_the_move_naming_the_file_and_keeps_the_last_version(tmp_path: Path, path: str) -> None:
    store = STORES[path]
    root = project(tmp_path, store)
    (root / "in").mkdir()
    source = root / "in" / "events.parquet"
    pq.write_table(table(1), source, compression="snappy", use_dictionary=False)
    run_here("go", cwd=root, check=0)
    pq.write_table(table(2), source, compression="snappy", use_dictionary=False)
    damage(source, 2, "garble")
    assert pq.read_metadata(source).num_rows == ROWS  # the footer reads ...
    with pytest.raises((OSError, pa.ArrowException)):
        pq.read_table(source)  # ... the pages do not

    proc = run_here("go", "--json", cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    error = json.loads(proc.stdout)["moves"][0]["error"]
    assert "events.parquet" in str(error["path"]), error
    assert landed(tmp_path, store).column("amount").to_pylist() == table(1).column("amount").to_pylist()


@pytest.mark.parametrize("path", ["copied", "polars"])
def test_a_page_whose_checksum_fails_is_never_published(tmp_path: Path, path: str) -> None:
    """Bytes flipped inside plain int64 values still decode; the page's CRC is what tells."""
    root = project(tmp_path, STORES[path])
    (root / "in").mkdir()
    source = root / "in" / "events.parquet"
    pq.write_table(table(1), source, compression="none", use_dictionary=False, write_page_checksum=True)
    damage(source, 1, "flip")
    assert pq.read_table(source).num_rows == ROWS  # a reader that ignores checksums reads wrong numbers

    proc = run_here("go", "--json", cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    error = json.loads(proc.stdout)["moves"][0]["error"]
    assert "events.parquet" in str(error["path"]) and "CRC" in str(error["found"]).upper(), error
    assert not (tmp_path / "lake" / "events").exists()
