"""A PostgreSQL table of at least 64 MiB is read on several sessions, in ranges of its pages (db/physical.py),
all in one snapshot: every row exactly once, as it was when the snapshot was taken, whatever other sessions
change meanwhile; a kill while the snapshot is held heals on the rerun; `partitions: 1`, keys or one free
session keep the single stream.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow.compute as pc
import pytest

from tests.contract.suite import Place
from tests.helpers import go_paused_at, read_target, run_hygge, write_project
from tests.services import POSTGRES_URL, postgres_place, postgres_sql

ROWS = 300_000  # with 240 bytes of padding each: about 80 MB, past db/physical.py's MIN_BYTES


@pytest.fixture(scope="module")
def table() -> Iterator[Place]:
    """One big table for the module (it takes a few seconds to make); the tests that change it copy it."""
    for place in postgres_place(Path("."), "physical_ranges_module"):
        postgres_sql(f'CREATE SCHEMA "{place.name}"')
        postgres_sql(f'CREATE TABLE "{place.name}".t AS SELECT g::bigint AS id, \'old\'::text AS v, '
                     f"repeat('x', 240) AS pad FROM generate_series(1, {ROWS}) g")
        yield place


@pytest.fixture
def place(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
    yield from postgres_place(tmp_path, request.node.name)


def project(root: Path, schema: str, home: str = "", entity: str = "t", sessions: int = 4) -> Path:
    write_project(root, f"""\
        name: physical
        options: {{retries: 0}}
        connections:
          pg: {{url: "{POSTGRES_URL}", max_sessions: {sessions}}}
        flows:
          f:
            home: {{type: postgres, connection: pg, schema: {schema}{home}}}
            store: {{type: parquet, path: out}}
            entities: [{entity}]
        """)
    return root


def landed(root: Path) -> tuple[int, int, int]:
    table = read_target(root / "out" / "t")
    return table.num_rows, pc.count_distinct(table["id"]).as_py(), pc.sum(table["id"]).as_py()


def paused_at_snapshot(root: Path) -> tuple[subprocess.Popen[str], Path]:
    """`hygge go` started and held right after it exported the snapshot, before any reader joined it."""
    return go_paused_at(root, "snapshot:1")


def test_every_row_is_read_once_on_several_sessions(tmp_path: Path, table: Place) -> None:
    root = project(tmp_path, table.name)
    proc, release = paused_at_snapshot(root)  # reaching the point shows the ranges were taken
    release.touch()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err
    assert landed(root) == (ROWS, ROWS, ROWS * (ROWS + 1) // 2)


def test_rows_changed_while_the_ranges_are_read_are_read_as_the_snapshot_saw_them(tmp_path: Path,
                                                                                  place: Place) -> None:
    # An UPDATE gives every row a new ctid on pages after the old ones: read outside the snapshot, the rows of
    # the first range would come again in the last one, with their new values.
    postgres_sql(f'CREATE SCHEMA "{place.name}"')
    postgres_sql(f'CREATE TABLE "{place.name}".t AS SELECT g::bigint AS id, \'old\'::text AS v, '
                 f"repeat('x', 240) AS pad FROM generate_series(1, {ROWS}) g")
    root = project(tmp_path, place.name)
    proc, release = paused_at_snapshot(root)
    try:
        postgres_sql(f"UPDATE \"{place.name}\".t SET v = 'new'")
        postgres_sql(f'DELETE FROM "{place.name}".t WHERE id <= 1000')
        postgres_sql(f"INSERT INTO \"{place.name}\".t SELECT g, 'added', 'x' FROM generate_series({ROWS + 1}, "
                     f"{ROWS + 500}) g")
    finally:
        release.touch()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err
    assert landed(root) == (ROWS, ROWS, ROWS * (ROWS + 1) // 2)
    assert set(read_target(root / "out" / "t")["v"].to_pylist()) == {"old"}
    run_hygge("go", cwd=root, check=0)  # the next run sees the changes, each row once
    after = read_target(root / "out" / "t")
    assert after.num_rows == ROWS - 1000 + 500 == pc.count_distinct(after["id"]).as_py()
    assert set(after["v"].to_pylist()) == {"new", "added"}


@pytest.mark.parametrize("home", [
    "",  # ranges of pages
    ", partition_on: id, partitions: 3",  # the person chose how to split: key ranges, in one snapshot too
])
def test_a_run_killed_while_it_holds_the_snapshot_heals_on_the_rerun(tmp_path: Path, table: Place,
                                                                     home: str) -> None:
    root = project(tmp_path, table.name, home)
    run_hygge("go", cwd=root, check=0)
    before = landed(root)
    killed = run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": "snapshot"})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert landed(root) == before
    run_hygge("go", cwd=root, check=0)
    assert landed(root) == (ROWS, ROWS, ROWS * (ROWS + 1) // 2)


@pytest.mark.parametrize(("home", "sessions"), [
    (", partitions: 1", 4),  # the person chose one stream
    ("", 1),  # no session free beside the move's own
])
def test_the_single_stream_or_the_chosen_split_where_asked(tmp_path: Path, table: Place, home: str,
                                                           sessions: int) -> None:
    root = project(tmp_path, table.name, home, sessions=sessions)
    run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": "snapshot"}, check=0)  # never reached
    assert landed(root) == (ROWS, ROWS, ROWS * (ROWS + 1) // 2)


def test_keys_keep_the_single_stream_so_arrival_order_decides_as_before(tmp_path: Path, table: Place) -> None:
    write_project(tmp_path, f"""\
        name: physical
        flows:
          f:
            home: {{type: postgres, url: "{POSTGRES_URL}", schema: {table.name}}}
            store: {{type: parquet, path: out}}
            run_type: merge
            entities: [{{name: t, keys: [id]}}]
        """)
    run_hygge("go", cwd=tmp_path, env={"HYGGE_KILL_AT": "snapshot"}, check=0)
    assert landed(tmp_path) == (ROWS, ROWS, ROWS * (ROWS + 1) // 2)


def test_incremental_reads_in_ranges_take_only_new_rows(tmp_path: Path, place: Place) -> None:
    postgres_sql(f'CREATE SCHEMA "{place.name}"')
    postgres_sql(f'CREATE TABLE "{place.name}".t AS SELECT g::bigint AS id, \'old\'::text AS v, '
                 f"repeat('x', 240) AS pad FROM generate_series(1, {ROWS}) g")
    write_project(tmp_path, f"""\
        name: physical
        flows:
          f:
            home: {{type: postgres, url: "{POSTGRES_URL}", schema: {place.name}}}
            store: {{type: parquet, path: out}}
            run_type: incremental
            entities: [{{name: t, watermark: id}}]
        """)
    proc, release = paused_at_snapshot(tmp_path)
    release.touch()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err
    postgres_sql(f"INSERT INTO \"{place.name}\".t SELECT g, 'new', repeat('x', 240) FROM generate_series("
                 f"{ROWS + 1}, {ROWS + 2000}) g")
    proc, release = paused_at_snapshot(tmp_path)  # the table is still big: ranges again, with the watermark
    release.touch()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err
    total = ROWS + 2000
    assert landed(tmp_path) == (total, total, total * (total + 1) // 2)


def test_a_view_has_no_pages_of_its_own_and_is_read_in_one_stream(tmp_path: Path, table: Place) -> None:
    postgres_sql(f'CREATE OR REPLACE VIEW "{table.name}".t_view AS SELECT * FROM "{table.name}".t')
    root = project(tmp_path, table.name, entity="t_view")
    run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": "snapshot"}, check=0)  # never reached
    moved = read_target(root / "out" / "t_view")
    assert moved.num_rows == ROWS == pc.count_distinct(moved["id"]).as_py()


def test_a_materialized_view_is_read_in_ranges_and_a_partitioned_table_in_one_stream(tmp_path: Path,
                                                                                    place: Place) -> None:
    postgres_sql(f'CREATE SCHEMA "{place.name}"')
    postgres_sql(f'CREATE MATERIALIZED VIEW "{place.name}".t AS SELECT g::bigint AS id, repeat(\'x\', 240) AS pad '
                 f"FROM generate_series(1, {ROWS}) g")
    root = project(tmp_path / "mv", place.name)
    proc, release = paused_at_snapshot(root)
    release.touch()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err
    assert landed(root) == (ROWS, ROWS, ROWS * (ROWS + 1) // 2)

    # The parent of a partitioned table has no pages of its own: one stream reads its partitions.
    postgres_sql(f'CREATE TABLE "{place.name}".p (id bigint, pad text) PARTITION BY RANGE (id)')
    postgres_sql(f'CREATE TABLE "{place.name}".p1 PARTITION OF "{place.name}".p FOR VALUES FROM (1) TO (150001)')
    postgres_sql(f'CREATE TABLE "{place.name}".p2 PARTITION OF "{place.name}".p FOR VALUES FROM (150001) TO (MAXVALUE)')
    postgres_sql(f'INSERT INTO "{place.name}".p SELECT id, pad FROM "{place.name}".t')
    root = project(tmp_path / "pt", place.name, entity="p")
    run_hygge("go", cwd=root, env={"HYGGE_KILL_AT": "snapshot"}, check=0)  # never reached
    moved = read_target(root / "out" / "p")
    assert moved.num_rows == ROWS == pc.count_distinct(moved["id"]).as_py()


@pytest.mark.parametrize(("found", "pages"), [
    ([("r", 80 << 20, 8192, 150000)], 10240),
    ([("m", 80 << 20, 8192, 140000)], 10240),
    ([("r", 80 << 20, 8192, 130000)], None),  # PostgreSQL 13: no TID range scans, each range a full scan
    ([("r", 32 << 20, 8192, 150000)], None),  # below MIN_BYTES
    ([("v", 0, 8192, 150000)], None),
    ([("p", 0, 8192, 150000)], None),
    ([], None),
])
def test_which_relations_are_split_by_pages(found: list[tuple[object, ...]], pages: int | None) -> None:
    from hygge.db.physical import pages_of

    assert pages_of(found) == pages


@pytest.mark.parametrize("readers", [2, 3, 4])
def test_page_ranges_cover_every_ctid_once(readers: int) -> None:
    from hygge.db.physical import page_ranges

    texts = ["".join(str(p) for p in r.pieces) for r in page_ranges(10_000, readers)]
    assert len(texts) == readers and texts[0].startswith("ctid < ") and texts[-1].startswith("ctid >= ")
    cuts = [t.split("'(")[-1].split(",")[0] for t in texts[:-1]]  # each range's upper bound
    assert cuts == [str(10_000 * i // readers) for i in range(1, readers)]
