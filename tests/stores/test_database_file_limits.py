"""A DuckDB or SQLite store that runs out of room says what ran out, in which file, and what to do.

Before, past a file size limit the DuckDB store blamed the source parquet file and advised
re-exporting it (its own parquet reader's failures were all taken for damaged input), and the
SQLite store said only "disk I/O error". The last commit must stay whole either way.
"""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import run_hygge

STORES = {
    "duckdb": "{type: duckdb, path: DB}",  # DuckDB reads the parquet files itself
    "duckdb-arrow": "{type: duckdb, path: DB, native_parquet: false}",
    "sqlite": "{type: sqlite, path: DB}",
}


def setup(root: Path, database: Path, store: str, rows: int) -> Path:
    (root / "in").mkdir(parents=True, exist_ok=True)
    (root / "hygge.yml").write_text(textwrap.dedent(f"""\
        name: limits
        options: {{retries: 0}}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {STORES[store].replace("DB", str(database))}
            entities: [t]
        """))
    source(root, rows)
    return root


def source(root: Path, rows: int) -> None:
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64()), "v": [f"value {i} " * 3 for i in range(rows)]}),
                   root / "in" / "t.parquet")


def rows_in(store: str, database: Path) -> int:
    if store == "sqlite":
        with sqlite3.connect(database) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM t").fetchone()[0])
    import duckdb

    with duckdb.connect(str(database), read_only=True) as conn:
        return int(conn.sql("SELECT COUNT(*) FROM main.t").fetchall()[0][0])


def go_limited(root: Path, limit: int | None) -> subprocess.CompletedProcess[str]:
    def lower() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}
    return subprocess.run([sys.executable, "-m", "hygge", "go"], cwd=root, capture_output=True, text=True,
                          preexec_fn=lower, env=env, timeout=180)


@pytest.mark.parametrize("store", list(STORES))
def test_a_file_size_limit_names_the_database_file_and_keeps_the_last_commit(tmp_path: Path, store: str) -> None:
    database = tmp_path / "db" / f"warehouse.{store.split('-')[0]}"
    root = setup(tmp_path / "project", database, store, 1000)
    run_hygge("go", cwd=root, check=0)
    source(root, 500_000)  # about 15 MB of rows, past a 4 MB limit
    proc = go_limited(root, 4 << 20)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    engine = "DuckDB" if store.startswith("duckdb") else "SQLite"
    assert f"{engine} could not write to its database file: a file reached the size this process may write" in out
    assert str(database) in out and "ulimit -f" in out, out
    assert "re-export" not in out and "t.parquet" not in out, "the source is not to blame"
    assert rows_in(store, database) == 1000


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a full disk is simulated with a tiny tmpfs, which needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("store", list(STORES))
def test_a_full_disk_names_the_database_file_and_keeps_the_last_commit(tmp_path: Path, small_disk: Path,
                                                                        store: str) -> None:
    database = small_disk / f"warehouse.{store.split('-')[0]}"
    root = setup(tmp_path / "project", database, store, 1000)
    run_hygge("go", cwd=root, check=0)
    source(root, 500_000)
    proc = go_limited(root, None)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    engine = "DuckDB" if store.startswith("duckdb") else "SQLite"
    assert f"{engine} could not write to its database file: the disk is full" in out, out
    assert str(database) in out and "re-export" not in out
    assert rows_in(store, database) == 1000
