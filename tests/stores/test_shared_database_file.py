"""Several processes writing one SQLite or DuckDB file: they take turns, and a lock held too long is retried.

Before, two `hygge go` writing one SQLite file failed at once with "database is locked" (a
transaction that read first could not take the write lock after the other process wrote), and
that error, like DuckDB's conflicting file lock, counted as terminal: attempts 1.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge

ENTITIES = [f"e{i}" for i in range(4)]


def sources(folder: Path, rows: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ENTITIES:
        pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64()), "v": ["x" * 20] * rows}),
                       folder / f"{name}.parquet")


def project(root: Path, sources_at: Path, store: str) -> Path:
    root.mkdir(parents=True)
    (root / "hygge.yml").write_text(textwrap.dedent(f"""\
        name: {root.name}
        options: {{retries: 0}}
        flows:
          f:
            home: {{type: parquet, path: {sources_at}}}
            store: {store}
            run_type: append
            entities: [{", ".join(ENTITIES)}]
        """))
    return root


def test_two_processes_appending_to_one_sqlite_file_both_succeed(tmp_path: Path) -> None:
    sources(tmp_path / "in", 100_000)
    database = tmp_path / "shared.sqlite"
    store = f"{{type: sqlite, path: {database}}}"
    projects = [project(tmp_path / name, tmp_path / "in", store) for name in ("one", "two")]
    runs = [subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json"], cwd=p, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in projects]
    outputs = [run.communicate(timeout=240) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out + err
        assert all(m["status"] == "ok" and m["attempts"] == 1 for m in json.loads(out)["moves"]), out
    with sqlite3.connect(database) as conn:
        assert [conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0] for name in ENTITIES] == [200_000] * 4


HOLDERS = {
    # Holds the file's write lock (SQLite) or the file itself (DuckDB) for a while, in a process of its own.
    "sqlite": "import sqlite3, sys, time\n"
              "c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE')\n"
              "print('holding', flush=True); time.sleep(float(sys.argv[2])); c.execute('ROLLBACK')",
    "duckdb": "import duckdb, sys, time\n"
              "c = duckdb.connect(sys.argv[1]); c.execute('CREATE TABLE IF NOT EXISTS held (x INT)')\n"
              "print('holding', flush=True); time.sleep(float(sys.argv[2])); c.close()",
}


@pytest.mark.parametrize("engine", list(HOLDERS))
def test_a_file_another_process_holds_past_the_wait_is_retried_and_loads_once(tmp_path: Path, engine: str) -> None:
    sources(tmp_path / "in", 10)
    database = tmp_path / f"shared.{engine}"
    if engine == "sqlite":
        sqlite3.connect(database).close()
    store = {"type": engine, "path": str(database)}
    if engine == "sqlite":
        store = {"type": engine, "connection": {"path": str(database), "options": {"busy_timeout": "100"}}}
    holder = subprocess.Popen([sys.executable, "-c", HOLDERS[engine], str(database), "1.5"], text=True,
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        result = hygge.move({"type": "parquet", "path": str(tmp_path / "in")}, store, "e0", root=tmp_path,
                            run_type="append", retries=6, retry_backoff=0.2)
    finally:
        holder.wait(timeout=30)
    assert result.ok, result.error
    assert result.attempts >= 2, "the first attempt must have met the lock"
    assert result.rows_in_target == 10
