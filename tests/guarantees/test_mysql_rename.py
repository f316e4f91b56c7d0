"""MySQL's DDL commits by itself, so a full load published by RENAME cannot share the transaction of its state.
The rename came first: a kill between it and the state's commit left the new rows published under the old
watermark, and the next incremental run appended them again (30 rows, 20 distinct, exit 0). Now the rows (in
their staging table) and the state commit first, the state naming the staging table; the rename follows, and a
run killed before it is finished by the next run, under the entity's lock, before anything is read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.contract.suite import Place
from tests.helpers import run_here, run_hygge, write_project
from tests.services import MYSQL_URL, mysql_place, mysql_sql


@pytest.fixture
def mysql(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
    yield from mysql_place(tmp_path, request.node.name)


def project(root: Path, database: str) -> None:
    write_project(root, f"""\
        name: renames
        options: {{retries: 0, lock_wait: 30}}  # a killed run's session ends a moment late
        flows:
          f:
            home: {{type: parquet, path: src}}
            store: {{type: mysql, url: "{MYSQL_URL}", schema: {database}}}
            run_type: incremental
            entities: [{{name: t, watermark: v}}]
        """)


def arrive(root: Path, number: int, ids: range) -> None:
    (root / "src" / "t").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "v": pa.array(ids, pa.int64())}),
                   root / "src" / "t" / f"{number}.parquet")


def landed(database: str) -> tuple[int, int, int]:
    (row,) = mysql_sql(f"SELECT COUNT(*), COUNT(DISTINCT id), COALESCE(MAX(id), 0) FROM `{database}`.t")
    return int(row[0]), int(row[1]), int(row[2])  # type: ignore[arg-type]


@pytest.mark.parametrize("point", [
    "state",  # before the state's commit: nothing of the run is committed (the rename came first, and had been)
    "rename",  # after it: the next run renames the committed rows into place
])
def test_a_full_drop_killed_around_its_state_lands_its_rows_once(tmp_path: Path, mysql: Place, point: str) -> None:
    project(tmp_path, mysql.name)
    arrive(tmp_path, 1, range(1, 11))
    run_here("go", cwd=tmp_path, check=0)
    arrive(tmp_path, 2, range(11, 21))
    killed = run_hygge("go", "--full-drop", cwd=tmp_path, env={"HYGGE_KILL_AT": point})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert landed(mysql.name) == (10, 10, 10)  # not yet published: the rows wait in their staging table
    again = run_here("go", cwd=tmp_path, check=0)
    finished = "was killed after committing its rows and state, before the rename" in again.stdout
    assert finished == (point == "rename")
    assert landed(mysql.name) == (20, 20, 20)  # published once; the incremental run after it found nothing new
    arrive(tmp_path, 3, range(21, 26))
    run_here("go", cwd=tmp_path, check=0)
    assert landed(mysql.name) == (25, 25, 25)


def test_a_first_run_killed_before_its_rename_is_finished_by_the_next_run(tmp_path: Path, mysql: Place) -> None:
    project(tmp_path, mysql.name)
    arrive(tmp_path, 1, range(1, 11))
    killed = run_hygge("go", cwd=tmp_path, env={"HYGGE_KILL_AT": "rename"})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert not mysql_sql(f"SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{mysql.name}' "
                         "AND TABLE_NAME = 't'")
    arrive(tmp_path, 2, range(11, 16))
    run_here("go", cwd=tmp_path, check=0)
    assert landed(mysql.name) == (15, 15, 15)
