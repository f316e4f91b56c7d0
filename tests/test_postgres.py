"""PostgreSQL beyond the contract: connections explained, partitioned reads, discovery, queries, locks, faults."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import hygge
from tests.contract.suite import Place
from tests.helpers import PeakWatch, read_target, run_hygge, write_project
from tests.services import POSTGRES_URL, postgres_place, postgres_sql


@pytest.fixture
def place(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
    yield from postgres_place(tmp_path, request.node.name)


def seed(place: Place, sql: str) -> None:
    postgres_sql(f'CREATE SCHEMA IF NOT EXISTS "{place.name}"')
    for statement in sql.strip().split(";\n"):
        if statement.strip():
            postgres_sql(statement.replace("S.", f'"{place.name}".'))


def own_url(place: Place) -> str:
    """The server's URL with an application name no other run shares: what a test may terminate is its own."""
    return f"{POSTGRES_URL}?application_name={own_application(place)}"


def own_application(place: Place) -> str:
    return f"hygge_{place.name}"[:63]  # the server keeps 63 characters of it


def go_terminating_copy(project: Path, place: Place, query_like: str, timeout: float) -> tuple[int, str, str]:
    """`hygge go --json` in a child process while its first session running a query ILIKE ``query_like`` is
    terminated from outside; returns how many sessions were terminated, and the child's stdout and stderr.

    The project must connect with ``own_url(place)``: only sessions of that application, in this database,
    whose query names the test's own schema are terminated; the server is shared with other runs."""
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json"], cwd=project, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = 0
    deadline = time.monotonic() + 60
    while not killed and time.monotonic() < deadline and proc.poll() is None:
        killed = len(postgres_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE application_name = '{own_application(place)}' AND datname = current_database() "
            f"AND query ILIKE '{query_like}' AND strpos(query, '{place.name}') > 0"))
        time.sleep(0.02)
    out, err = proc.communicate(timeout=timeout)
    return killed, out, err


def home(place: Place, **extra: object) -> dict[str, object]:
    return {"type": "postgres", "url": POSTGRES_URL, "schema": place.name, **extra}


@pytest.mark.parametrize(("url", "message", "hint"), [
    ("postgresql://nobody:secret@127.0.0.1:5432/test", "PostgreSQL refused the login of user 'nobody'",
     "check the user and password"),
    ("postgresql://postgres@127.0.0.1:5432/no_such_db", "PostgreSQL has no database 'no_such_db'", "createdb"),
    ("postgresql://postgres@no-such-host.invalid:5432/test", "the host 'no-such-host.invalid' cannot be found",
     "check `host`"),
    ("postgresql://postgres@127.0.0.1:1/test", "PostgreSQL at 127.0.0.1:1 does not answer", "server runs"),
])
def test_connection_failures_are_explained_and_secrets_never_shown(
        tmp_path: Path, place: Place, url: str, message: str, hint: str) -> None:
    write_project(tmp_path, f"""\
        name: pg
        options: {{retries: 0}}
        connections:
          wh: {{url: "{url}"}}
        flows:
          f:
            home: {{type: postgres, connection: wh}}
            store: {{type: parquet, path: out}}
            entities: [t]
        """)
    proc = run_hygge("go", cwd=tmp_path, check=1)
    assert message in proc.stdout and hint in proc.stdout
    debug = run_hygge("debug", cwd=tmp_path, check=1)
    assert message in debug.stdout and "next step" in debug.stdout
    for output in (proc.stdout + proc.stderr, debug.stdout):
        assert "secret" not in output, "a password must never be printed"
    if "nobody" in url:
        assert "postgres://nobody:***@127.0.0.1:5432/test" in debug.stdout


def test_missing_table_names_what_exists(tmp_path: Path, place: Place) -> None:
    seed(place, "CREATE TABLE S.orders (id int);\nCREATE TABLE S.order_lines (id int)")
    result = hygge.move(home(place), {"type": "parquet", "path": "out"}, "ordrs", root=tmp_path)
    assert result.status == "failed"
    assert "the source table does not exist" in str(result.error) and "did you mean 'orders'?" in str(result.error)


def test_discovery_with_include_and_exclude_and_a_query_entity(tmp_path: Path, place: Place) -> None:
    seed(place, """
CREATE TABLE S.sales_2023 (id int, amount numeric(8,2));
CREATE TABLE S.sales_2024 (id int, amount numeric(8,2));
CREATE TABLE S.sales_tmp (id int);
CREATE TABLE S.users (id int);
INSERT INTO S.sales_2024 VALUES (1, 1.50), (2, 2.25)""")
    write_project(tmp_path, f"""\
        name: pg
        connections:
          wh: {{url: "{POSTGRES_URL}"}}
        flows:
          sales:
            home: {{type: postgres, connection: wh, schema: {place.name}}}
            store: {{type: parquet, path: out}}
            include: ["sales_*"]
            exclude: ["*_tmp"]
          report:
            home: {{type: postgres, connection: wh}}
            store: {{type: parquet, path: out}}
            entities:
              - name: big_sales
                query: SELECT id, amount * 2 AS doubled FROM "{place.name}".sales_2024 WHERE amount > 2
        """)
    proc = run_hygge("go", "--json", cwd=tmp_path, check=0)
    moved = {m["entity"]: m["rows_written"] for m in json.loads(proc.stdout)["moves"]}
    assert moved == {"sales_2023": 0, "sales_2024": 2, "big_sales": 1}
    # An expression's numeric has no declared precision: it arrives as its exact text.
    assert read_target(tmp_path / "out" / "big_sales").to_pylist() == [{"id": 2, "doubled": "4.50"}]


@pytest.mark.parametrize("key", ["id", "day", "at"])
def test_partitioned_reads_return_each_row_exactly_once(tmp_path: Path, place: Place, key: str) -> None:
    # Skewed keys (most rows in a narrow range), nulls in the key, and ranges that hold nothing.
    seed(place, """
CREATE TABLE S.events (id bigint, day date, at timestamptz, v text);
INSERT INTO S.events SELECT g, DATE '2024-01-01' + (g % 3), TIMESTAMPTZ '2024-01-01' + g * interval '1 second', 'x'
  FROM generate_series(1, 5000) g;
INSERT INTO S.events VALUES (1000000, DATE '2030-01-01', TIMESTAMPTZ '2030-01-01', 'far');
INSERT INTO S.events VALUES (NULL, NULL, NULL, 'null key')""")
    result = hygge.move(home(place, partition_on=key, partitions=7), {"type": "parquet", "path": "out"}, "events",
                        root=tmp_path)
    assert result.ok, result.error
    table = read_target(tmp_path / "out" / "events")
    assert table.num_rows == 5002
    ids = table.column("id").to_pylist()
    assert sorted(i for i in ids if i is not None) == [*range(1, 5001), 1000000] and ids.count(None) == 1


def test_partitioned_read_of_an_empty_table(tmp_path: Path, place: Place) -> None:
    seed(place, "CREATE TABLE S.nothing (id bigint)")
    result = hygge.move(home(place, partition_on="id", partitions=4), {"type": "parquet", "path": "out"}, "nothing",
                        root=tmp_path)
    assert result.status == "empty" and result.rows_in_target == 0


def test_a_second_writer_on_the_same_table_is_refused_with_who_holds_it(tmp_path: Path, place: Place) -> None:
    from hygge.core.plan import MovePlan
    from hygge.core.planner import open_store
    from hygge.errors import StateError
    from hygge.state.journal import RunRecord

    store = open_store(tmp_path, {"type": "postgres", "url": POSTGRES_URL, "schema": place.name}, {})
    plan = MovePlan(flow="f", entity="t", source="t", target="t", home={}, store={}, run_type="append",
                    root=str(tmp_path))
    record = RunRecord(run_id="r1", flow="f", entity="t", run_type="append", started_at="now")
    first = store.landing(plan, record)
    try:
        with pytest.raises(StateError) as caught:
            store.landing(plan, record)
        assert "another hygge run is writing this table right now" in str(caught.value)
        assert "hygge" in str(caught.value)  # the holder's application name
        threading.Timer(0.5, first.close).start()
        from dataclasses import replace

        second = store.landing(replace(plan, lock_wait=10), record)
        second.abort()
        second.close()
    finally:
        first.close()


def test_a_connection_dropped_mid_load_leaves_the_target_unchanged_and_is_retried(tmp_path: Path,
                                                                                   place: Place) -> None:
    import pyarrow.parquet as pq

    (tmp_path / "in").mkdir()
    small = pa.table({"id": pa.array(range(10), pa.int64())})
    pq.write_table(small, tmp_path / "in" / "t.parquet")
    write_project(tmp_path, f"""\
        name: pg
        options: {{batch_bytes: 64KiB, retries: 1, retry_backoff: 0.1}}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {{type: postgres, url: "{own_url(place)}", schema: {place.name}}}
            entities: [t]
        """)
    run_hygge("go", cwd=tmp_path, check=0)
    big = pa.table({"id": pa.array(range(3_000_000), pa.int64())})
    pq.write_table(big, tmp_path / "in" / "t.parquet")
    killed, out, err = go_terminating_copy(tmp_path, place, "COPY%", timeout=120)
    assert killed, "the load must have been caught mid-COPY"
    report = json.loads(out)
    move = report["moves"][0]
    assert move["status"] == "ok" and move["attempts"] == 2, err
    count = postgres_sql(f'SELECT COUNT(*) FROM "{place.name}".t')[0][0]
    assert count == 3_000_000


def test_sessions_per_connection_are_limited(tmp_path: Path, place: Place) -> None:
    seed(place, ";\n".join(f"CREATE TABLE S.t{i} (id int);\nINSERT INTO S.t{i} SELECT generate_series(1, 20000)"
                            for i in range(4)))
    write_project(tmp_path, f"""\
        name: pg
        options: {{concurrency: 4}}
        connections:
          wh: {{url: "{POSTGRES_URL}", max_sessions: 1}}
        flows:
          f:
            home: {{type: postgres, connection: wh, schema: {place.name}}}
            store: {{type: parquet, path: out}}
        """)
    watch = PeakWatch()
    result = hygge.run(tmp_path, on_event=watch)
    assert result.ok and len(result.moves) == 4
    assert watch.peak == 1, "max_sessions: 1 lets one move at a time use the connection, whatever the concurrency"


def test_a_connection_dropped_mid_read_is_retried(tmp_path: Path, place: Place) -> None:
    seed(place, "CREATE TABLE S.big (id bigint, v text);\n"
                "INSERT INTO S.big SELECT g, repeat('x', 50) FROM generate_series(1, 1500000) g")
    write_project(tmp_path, f"""\
        name: pg
        options: {{retries: 1, retry_backoff: 0.1, batch_bytes: 256KiB}}
        flows:
          f:
            home: {{type: postgres, url: "{own_url(place)}", schema: {place.name}}}
            store: {{type: parquet, path: out}}
            entities: [big]
        """)
    killed, out, err = go_terminating_copy(tmp_path, place, "COPY (SELECT%", timeout=180)
    assert killed, "the read must have been caught mid-COPY"
    move = json.loads(out)["moves"][0]
    assert move["status"] == "ok" and move["attempts"] == 2, err
    assert read_target(tmp_path / "out" / "big").num_rows == 1_500_000


def test_a_value_too_long_for_the_target_column_is_refused(tmp_path: Path, place: Place) -> None:
    # With `type_changes: fail`; the default policy widens the column (stores/test_bounded_columns.py).
    import pyarrow.parquet as pq

    seed(place, "CREATE TABLE S.codes (code varchar(3), amount numeric(5,2))")
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"code": ["abc", "toolong"], "amount": pa.array([1, 2], pa.decimal128(5, 2))}),
                   tmp_path / "in" / "codes.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "postgres", "url": POSTGRES_URL,
                                                             "schema": place.name}, "codes", root=tmp_path,
                        run_type="append", schema_policy={"type_changes": "fail"})
    assert result.status == "failed"
    text = str(result.error)
    assert "values do not fit 1 column(s) of the target table (code); nothing was committed" in text
    assert "code (character varying(3))" in text and "'toolong'" in text and "widen" in text
    assert postgres_sql(f'SELECT COUNT(*) FROM "{place.name}".codes')[0][0] == 0


def moved_by_id(tmp_path: Path, place: Place, sql: str, entity: str) -> pa.Table:
    """The table ``sql`` seeds, moved to parquet with default settings and read back in id order."""
    seed(place, sql)
    result = hygge.move(home(place), {"type": "parquet", "path": "out"}, entity, root=tmp_path)
    assert result.ok, result.error
    return read_target(tmp_path / "out" / entity).sort_by("id")


def test_constrained_numerics_read_exactly_at_every_precision(tmp_path: Path, place: Place) -> None:
    # numeric(p, s) columns come back as decimals of the same precision and scale (up to p = 18 read as their
    # unscaled integers, above as the server's text); the largest values, negative ones, zero, NULL and p > 38
    # (decimal256) come back unchanged.
    from decimal import Decimal

    table = moved_by_id(tmp_path, place, """
CREATE TABLE S.money (id int, small numeric(5,0), cents numeric(12,2), wide numeric(50,5));
INSERT INTO S.money VALUES (1, 99999, 9999999999.99, 123456789012345678901234567890123456789012345.12345),
  (2, -99999, -0.01, -0.00001), (3, 0, 0, 0), (4, NULL, NULL, NULL)""", "money")
    assert table.schema.field("small").type == pa.decimal128(5, 0)
    assert table.schema.field("cents").type == pa.decimal128(12, 2)
    assert table.schema.field("wide").type == pa.decimal256(50, 5)
    assert table.column("small").to_pylist() == [Decimal("99999"), Decimal("-99999"), Decimal("0"), None]
    assert table.column("cents").to_pylist() == [Decimal("9999999999.99"), Decimal("-0.01"), Decimal("0.00"), None]
    assert table.column("wide").to_pylist() == [
        Decimal("123456789012345678901234567890123456789012345.12345"), Decimal("-0.00001"), Decimal("0.00000"), None]


def test_numerics_read_as_unscaled_integers_keep_every_digit_at_the_edges(tmp_path: Path, place: Place) -> None:
    # Up to precision 18 a numeric(p, s) is read as its unscaled int8 and viewed as the decimal: the largest values
    # of numeric(18, 6), a scale equal to the precision, and numeric(19, 2), the first one read as text again.
    from decimal import Decimal

    table = moved_by_id(tmp_path, place, """
CREATE TABLE S.edges (id int, big numeric(18,6), frac numeric(4,4), text19 numeric(19,2));
INSERT INTO S.edges VALUES (1, 999999999999.999999, 0.9999, 99999999999999999.99),
  (2, -999999999999.999999, -0.9999, -0.01), (3, 0.000001, 0, 0), (4, NULL, NULL, NULL)""", "edges")
    assert [table.schema.field(n).type for n in ("big", "frac", "text19")] == [
        pa.decimal128(18, 6), pa.decimal128(4, 4), pa.decimal128(19, 2)]
    assert table.column("big").to_pylist() == [
        Decimal("999999999999.999999"), Decimal("-999999999999.999999"), Decimal("0.000001"), None]
    assert table.column("frac").to_pylist() == [Decimal("0.9999"), Decimal("-0.9999"), Decimal("0.0000"), None]
    assert table.column("text19").to_pylist() == [
        Decimal("99999999999999999.99"), Decimal("-0.01"), Decimal("0.00"), None]


def test_the_nul_check_finds_nul_in_sliced_large_and_view_strings_and_in_lists() -> None:
    from hygge.db.postgres_types import holds_nul

    for kind in (pa.string(), pa.large_string(), pa.string_view()):
        values = pa.array(["ab", None, "c\x00d", "x", "\x00"], kind)
        assert holds_nul(values) == 2
        assert holds_nul(values.slice(3, 1)) == 0 and holds_nul(values.slice(0, 2)) == 0  # bytes outside the slice
        assert holds_nul(values.slice(2)) == 2
    assert holds_nul(pa.array([["a", "b\x00"], ["c"]])) == 1
    assert holds_nul(pa.array(["a", "b\x00"]).dictionary_encode()) == 1
    assert holds_nul(pa.array([None, None], pa.string())) == 0


def test_a_numeric_nan_fails_the_read_naming_the_column_and_the_way_out(tmp_path: Path, place: Place) -> None:
    seed(place, "CREATE TABLE S.rates (id int, rate numeric(6,2));\nINSERT INTO S.rates VALUES (1, 1.5), (2, 'NaN')")
    result = hygge.move(home(place), {"type": "parquet", "path": "out"}, "rates", root=tmp_path)
    assert result.status == "failed"
    text = str(result.error)
    assert "column rate holds a value its type cannot carry into Arrow" in text
    assert f'"{place.name}"."rates"' in text and "decimal(6,2)" in text and "NULLIF(column, 'NaN')" in text
    assert not (tmp_path / "out" / "rates").exists()


def test_arrays_of_more_dimensions_read_as_lists_of_lists_or_fail_by_name(tmp_path: Path, place: Place) -> None:
    # The driver hands {{1,2},{3,4}} over as [1,2,3,4]. Declared int[][], a column reads as lists of lists;
    # declared int[] (PostgreSQL does not enforce it), a 2-D value fails the read naming the column.
    seed(place, """
CREATE TABLE S.grid (id int, g int[][], t text[][], f float8[][][]);
INSERT INTO S.grid VALUES (1, '{{1,2},{3,4}}', '{{a,"b c"},{NULL,d}}', '{{{1.5}}}'), (2, NULL, NULL, NULL);
CREATE TABLE S.flat (id int, a int[]);
INSERT INTO S.flat VALUES (1, '{5,6}'), (2, '{{1,2},{3,4}}');
CREATE TABLE S.ragged (id int, g int[][]);
INSERT INTO S.ragged VALUES (1, '{{1,2},{3,4}}'), (2, '{7}')""")
    grid = hygge.move(home(place), {"type": "parquet", "path": "out"}, "grid", root=tmp_path)
    assert grid.ok, grid.error
    table = read_target(tmp_path / "out" / "grid").sort_by("id")
    assert table.schema.field("g").type == pa.list_(pa.list_(pa.int32()))
    assert table.to_pylist() == [{"id": 1, "g": [[1, 2], [3, 4]], "t": [["a", "b c"], [None, "d"]], "f": [[[1.5]]]},
                                 {"id": 2, "g": None, "t": None, "f": None}]
    for entity, query in (("flat", None), ("flat_query", f'SELECT id, a FROM "{place.name}".flat')):
        flat = hygge.move(home(place), {"type": "parquet", "path": "out"}, entity, root=tmp_path,
                          **({"query": query} if query else {}))
        assert flat.status == "failed"
        assert "column a holds an array of 2 dimensions, which would arrive flattened" in str(flat.error)
        assert "array_to_json(a)" in str(flat.error)
    ragged = hygge.move(home(place), {"type": "parquet", "path": "out"}, "ragged", root=tmp_path)
    assert ragged.status == "failed" and "column g" in str(ragged.error), ragged.error
    # One-dimensional arrays go on as before, through the driver's own reader.
    postgres_sql(f'DELETE FROM "{place.name}".flat WHERE id = 2')
    ok = hygge.move(home(place), {"type": "parquet", "path": "out"}, "flat", root=tmp_path)
    assert ok.ok, ok.error
    assert read_target(tmp_path / "out" / "flat").to_pylist() == [{"id": 1, "a": [5, 6]}]


def test_text_with_nul_is_refused_naming_every_such_column(tmp_path: Path, place: Place) -> None:
    import pyarrow.parquet as pq

    (tmp_path / "in").mkdir()
    # Every kind of text column: its NUL is searched once the column is cast to the wire's plain strings.
    pq.write_table(pa.table({"id": [1, 2], "a": ["fine", "nul\x00here"], "b": ["\x00", None],
                             "c": pa.array([["x\x00"], []]), "ok": ["x", "y"],
                             "d": pa.array(["a long enough view\x00", "v"], pa.string_view()),
                             "e": pa.array(["k", "k\x00"]).dictionary_encode(),
                             "f": pa.array(['{"x": "\x00"}', "{}"], pa.json_()),
                             "g": pa.array([["y"], ["\x00"]], pa.list_(pa.string_view()))}),
                   tmp_path / "in" / "t.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "postgres", "url": POSTGRES_URL,
                                                             "schema": place.name}, "t", root=tmp_path)
    assert result.status == "failed"
    text = str(result.error)
    assert ("PostgreSQL cannot hold the values of 7 column(s) exactly (a, b, c, d, e, f, g); nothing was "
            "committed") in text, text
    assert "a: 1 value(s) with the character NUL" in text and "bytea" in text and "replace(" in text
    assert "invalid byte sequence" not in text


def test_a_table_postgres_cannot_hold_names_every_column_and_why(tmp_path: Path, place: Place) -> None:
    import pyarrow.parquet as pq

    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": [1], "s": [{"a": 1}], "m": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())),
                             "ll": [[[1]]], "fixed": pa.array([b"ab"], pa.binary(2))}), tmp_path / "in" / "t.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "postgres", "url": POSTGRES_URL,
                                                             "schema": place.name}, "t", root=tmp_path)
    text = str(result.error)
    assert "postgres cannot hold 4 column(s) faithfully" in text, text
    assert "s (struct<a: int64>): PostgreSQL has no struct column" in text
    assert "m (map<string, int64" in text and "no map column" in text
    assert "ll (list<element: list<element: int64>>): lists of lists" in text
    assert "fixed (fixed_size_binary[2]): fixed-size binary" in text


def test_the_store_writes_the_columns_it_encodes_itself_exactly(tmp_path: Path, place: Place) -> None:
    # pgpq encodes the store's COPY stream; numerics above 38 digits and arrays of time-zoned timestamps it cannot
    # say exactly, so hygge encodes those fields itself (db/postgres_store.py). Both arrive value for value, with
    # NULL, empty arrays, NULL elements and the edges of PostgreSQL's epoch, and read back as they were written.
    from datetime import datetime, timezone
    from decimal import Decimal

    import pyarrow.parquet as pq

    utc = timezone.utc
    table = pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "wide": pa.array([Decimal("123456789012345678901234567890123456789012345.12345"), Decimal("-0.00001"),
                          Decimal("0.00000"), None], pa.decimal256(50, 5)),
        "stamps": pa.array([[datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
                             datetime(2262, 4, 11, tzinfo=utc)], [], None, [None, datetime(1970, 1, 1, tzinfo=utc)]],
                           pa.list_(pa.timestamp("us", tz="UTC"))),
        "word": pa.array(["a", None, "", "ü"]),
    })
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "odd.parquet")
    store = {"type": "postgres", "url": POSTGRES_URL, "schema": place.name}
    for run_type in ("full_drop", "append"):  # into a table the run creates, then into the existing one
        result = hygge.move({"type": "parquet", "path": "in"}, store, "odd", root=tmp_path, run_type=run_type)
        assert result.ok, result.error
    rows = postgres_sql("SELECT DISTINCT id, wide::text, stamps::text, pg_typeof(stamps)::text "
                        f'FROM "{place.name}".odd ORDER BY id')
    assert rows == [
        (1, "123456789012345678901234567890123456789012345.12345",
         '{"1999-12-31 23:59:59.999999+00","2262-04-11 00:00:00+00"}', "timestamp with time zone[]"),
        (2, "-0.00001", "{}", "timestamp with time zone[]"),
        (3, "0.00000", None, "timestamp with time zone[]"),
        (4, None, '{NULL,"1970-01-01 00:00:00+00"}', "timestamp with time zone[]")]
    back = hygge.move(home(place), {"type": "parquet", "path": "out"}, "odd", root=tmp_path)
    assert back.ok, back.error
    assert read_target(tmp_path / "out" / "odd").sort_by("id").equals(pa.concat_tables([table, table]).sort_by("id"))
