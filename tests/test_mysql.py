"""MySQL/MariaDB beyond the contract: connections explained, partitioned and paged reads, locks, faults."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Place
from tests.helpers import read_target, run_hygge, write_project
from tests.services import MYSQL_URL, mysql_place, mysql_sql

HOST = MYSQL_URL.split("@")[-1].split("/")[0]


@pytest.fixture
def place(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
    yield from mysql_place(tmp_path, request.node.name)


def seed(place: Place, *statements: str) -> None:
    mysql_sql(f"CREATE DATABASE IF NOT EXISTS `{place.name}`")
    for statement in statements:
        mysql_sql(statement.replace("D.", f"`{place.name}`."))


def home(place: Place, **extra: object) -> dict[str, object]:
    return {"type": "mysql", "url": MYSQL_URL, "schema": place.name, **extra}


@pytest.mark.parametrize(("url", "message", "hint"), [
    (f"mysql://root:not-the-password@{HOST}/test", "MySQL refused the login of user 'root'", "check the user"),
    (f"mysql://root@{HOST}/no_such_db", "MySQL has no database 'no_such_db'", "CREATE DATABASE"),
    ("mysql://root@no-such-host.invalid:3306/test", "the host 'no-such-host.invalid' cannot be found",
     "check `host`"),
    ("mysql://root@127.0.0.1:1/test", "MySQL at 127.0.0.1:1 does not answer", "server runs"),
])
def test_connection_failures_are_explained_and_secrets_never_shown(tmp_path: Path, place: Place, url: str,
                                                                   message: str, hint: str) -> None:
    write_project(tmp_path, f"""\
        name: my
        options: {{retries: 0}}
        connections:
          shop: {{url: "{url}"}}
        flows:
          f:
            home: {{type: mysql, connection: shop}}
            store: {{type: parquet, path: out}}
            entities: [t]
        """)
    proc = run_hygge("go", cwd=tmp_path, check=1)
    assert message in proc.stdout and hint in proc.stdout
    debug = run_hygge("debug", cwd=tmp_path, check=1)
    assert message in debug.stdout
    assert "not-the-password" not in proc.stdout + proc.stderr + debug.stdout


def test_paged_and_partitioned_reads_return_each_row_exactly_once(tmp_path: Path, place: Place) -> None:
    seed(place, "CREATE TABLE D.big (id BIGINT PRIMARY KEY, grp INT, v VARCHAR(20))",
         "INSERT INTO D.big SELECT seq, seq % 7, CONCAT('v', seq) FROM D.seq_1_to_30000",
         "INSERT INTO D.big VALUES (5000000000, NULL, 'far away')")
    paged = hygge.move(home(place), {"type": "parquet", "path": "paged"}, "big", root=tmp_path)
    assert paged.ok, paged.error
    ids = read_target(tmp_path / "paged" / "big").column("id").to_pylist()
    assert sorted(ids) == [*range(1, 30001), 5000000000]
    split = hygge.move(home(place, partition_on="grp", partitions=3), {"type": "parquet", "path": "split"}, "big",
                       root=tmp_path)
    assert split.ok, split.error
    assert sorted(read_target(tmp_path / "split" / "big").column("id").to_pylist()) == sorted(ids)


def test_types_of_a_table_written_by_others(tmp_path: Path, place: Place) -> None:
    seed(place, """CREATE TABLE D.t (b TINYINT(1), u BIGINT UNSIGNED, d DECIMAL(65,30), tm TIME(6), bits BIT(8),
                   ts TIMESTAMP(6) NULL, dt DATETIME(6), e ENUM('x','y'), j JSON, y YEAR)""",
         """INSERT INTO D.t VALUES (1, 18446744073709551615,
                   12345678901234567890123456789012345.123456789012345678901234567891, '-838:59:59', 165,
                   '2024-06-01 12:00:00.654321', '2024-06-01 12:00:00.5', 'y', '{"a": 1}', 2024)""")
    result = hygge.move(home(place), {"type": "parquet", "path": "out"}, "t", root=tmp_path)
    assert result.ok, result.error
    row = read_target(tmp_path / "out" / "t").to_pylist()[0]
    schema = read_target(tmp_path / "out" / "t").schema
    assert row["b"] is True and row["u"] == 18446744073709551615 and row["bits"] == 165
    assert str(row["d"]) == "12345678901234567890123456789012345.123456789012345678901234567891"
    assert schema.field("tm").type == pa.duration("us") and row["tm"].total_seconds() == -(838 * 3600 + 59 * 60 + 59)
    assert schema.field("ts").type == pa.timestamp("us", tz="UTC") and row["e"] == "y" and row["y"] == 2024


def test_a_second_writer_on_the_same_table_is_refused(tmp_path: Path, place: Place) -> None:
    from hygge.core.plan import MovePlan
    from hygge.core.planner import open_store
    from hygge.errors import StateError
    from hygge.state.journal import RunRecord

    store = open_store(tmp_path, {"type": "mysql", "url": MYSQL_URL, "schema": place.name}, {})
    plan = MovePlan(flow="f", entity="t", source="t", target="t", home={}, store={}, run_type="append",
                    root=str(tmp_path))
    record = RunRecord(run_id="r1", flow="f", entity="t", run_type="append", started_at="now")
    first = store.landing(plan, record)
    try:
        with pytest.raises(StateError, match="another hygge run is writing this table right now"):
            store.landing(plan, record)
    finally:
        first.close()
    second = store.landing(plan, record)
    second.close()


def test_a_connection_killed_mid_load_is_retried_and_loads_once(tmp_path: Path, place: Place) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": pa.array(range(10), pa.int64())}), tmp_path / "in" / "t.parquet")
    write_project(tmp_path, f"""\
        name: my
        options: {{batch_bytes: 256KiB, retries: 1, retry_backoff: 0.1}}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {{type: mysql, url: "{MYSQL_URL}", schema: {place.name}}}
            entities: [t]
        """)
    run_hygge("go", cwd=tmp_path, check=0)
    # Rows enough for a LOAD DATA the poll below catches, no more: the server rolls the killed load back before
    # the retry can take the table, and under a busy disk (the whole suite on 2 cores) the rollback and reload of
    # 2,000,000 rows took over a minute, of 600,000 rows once 114 s.
    pq.write_table(pa.table({"id": pa.array(range(200_000), pa.int64())}), tmp_path / "in" / "t.parquet")
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = False
    deadline = time.monotonic() + 60
    while not killed and time.monotonic() < deadline and proc.poll() is None:
        # only this test's load: another test's LOAD DATA may be running on the same server at the same moment
        # (named exactly: in LIKE, `_` matches any character)
        loads = ("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA%' "
                 f"AND INSTR(INFO, '`{place.name}`') > 0")
        for (pid,) in mysql_sql(loads):
            mysql_sql(f"KILL {pid}")
            killed = True
        time.sleep(0.01)
    out, err = proc.communicate(timeout=180)
    assert killed, "the load must have been caught mid-LOAD DATA"
    move = json.loads(out)["moves"][0]
    assert move["status"] == "ok" and move["attempts"] == 2, err
    assert mysql_sql(f"SELECT COUNT(*) FROM `{place.name}`.t")[0][0] == 200_000


def test_a_load_killed_with_its_process_leaves_no_fifo_behind_for_long(tmp_path: Path, place: Place) -> None:
    """SIGKILL gives a process no chance to clean up; the next load sweeps what dead ones left."""
    import os
    import tempfile

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = Path(tempfile.gettempdir()) / f"hygge-load-{gone.stdout.strip()}-left"
    dead.mkdir()
    os.mkfifo(dead / "rows.tsv")
    ours = Path(tempfile.mkdtemp(prefix=f"hygge-load-{os.getpid()}-"))  # a live process's load is not touched
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": pa.array(range(10), pa.int64())}), tmp_path / "in" / "t.parquet")
    try:
        result = hygge.move({"type": "parquet", "path": "in"},
                            {"type": "mysql", "url": MYSQL_URL, "schema": place.name}, "t", root=tmp_path)
        assert result.ok, result.error
        assert not dead.exists()
        assert ours.exists()
    finally:
        ours.rmdir()


def test_values_mysql_cannot_hold_name_every_column_and_why(tmp_path: Path, place: Place) -> None:
    (tmp_path / "in").mkdir()
    rows = pa.table({"id": [1, 2], "nan": [float("nan"), 1.0], "zero": [-0.0, 0.0],
                     "ns": pa.array([1, 2], pa.timestamp("ns")), "ok": [1.5, 2.5]})
    pq.write_table(rows, tmp_path / "in" / "t.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "mysql", "url": MYSQL_URL, "schema": place.name},
                        "t", root=tmp_path)
    assert result.status == "failed"
    text = str(result.error)
    assert "MySQL cannot hold the values of 3 column(s) exactly (nan, zero, ns); nothing was committed" in text, text
    assert "nan: 1 NaN or infinite value(s)" in text and "zero: 1 value(s) of -0.0, which MySQL stores as 0" in text
    assert "ns: nanoseconds, and MySQL keeps at most microseconds" in text


def test_a_swap_killed_before_it_dropped_the_replaced_table_is_healed_by_the_next_run(tmp_path: Path,
                                                                                       place: Place) -> None:
    """MySQL's full_drop swap is a RENAME (it commits at once), then a DROP of the replaced table: a kill in
    between leaves `_hygge_old_<table>`; the next run drops it and swaps as usual (it failed: already exists)."""
    (tmp_path / "in").mkdir()
    write_project(tmp_path, f"""\
        name: my
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {{type: mysql, url: "{MYSQL_URL}", schema: {place.name}}}
            entities: [t]
        """)
    pq.write_table(pa.table({"id": pa.array(range(10), pa.int64())}), tmp_path / "in" / "t.parquet")
    run_hygge("go", cwd=tmp_path, check=0)
    mysql_sql(f"CREATE TABLE `{place.name}`.`_hygge_old_t` (id BIGINT)")  # what the killed swap left
    pq.write_table(pa.table({"id": pa.array(range(20), pa.int64())}), tmp_path / "in" / "t.parquet")
    run_hygge("go", cwd=tmp_path, check=0)
    assert mysql_sql(f"SELECT COUNT(*) FROM `{place.name}`.t")[0][0] == 20
    tables = mysql_sql(f"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{place.name}'")
    assert sorted(str(name) for (name,) in tables) == ["_hygge_runs", "_hygge_state", "_hygge_types", "t"]
