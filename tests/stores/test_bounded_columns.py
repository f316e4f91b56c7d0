"""Rows into existing tables someone else made, whose columns are narrower than the rows' Arrow types.

Every bounded column type of each database store gets a value that does not fit, in every run
type that writes into an existing table (append, incremental, merge, full_drop in truncate
mode). With the default schema policy (``type_changes: widen``) the column is widened and the
value reads back exactly; with ``type_changes: fail``, or where no wider column exists, the
move fails naming every such column and a sample value, and the table is left as it was.
Before, MySQL's LOAD DATA (which implies IGNORE) stored 'abcde' for 'abcdefghij' with exit 0,
and PostgreSQL cut trailing spaces and rounded fractions of seconds without a word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Place, files_place
from tests.helpers import read_target
from tests.services import MYSQL_URL, POSTGRES_URL, mysql_place, mysql_sql, postgres_place, postgres_sql

RUN_TYPES = ["append", "incremental", "merge", "full_drop"]
UTC = timezone.utc


@dataclass
class Col:
    name: str
    ddl: str                  # the column type as its owner declared it
    type: pa.DataType         # the Arrow type of the rows (what hygge reads the column as)
    fits: Any
    misfit: Any
    widened: str | None = None  # the column type afterwards, as the catalog writes it; None: cannot widen


MYSQL_WIDENS = [
    Col("v_varchar", "varchar(5)", pa.string(), "abcde", "abcdefghij", "varchar(10)"),
    Col("v_char", "char(5)", pa.string(), "abc", "abcdefg", "char(7)"),
    Col("v_char_spaces", "char(5)", pa.string(), "abc", "ab   ", "varchar(5)"),  # CHAR drops trailing spaces
    Col("v_tinytext", "tinytext", pa.string(), "é", "é" * 200, "text"),  # 255 bytes; 400 here
    Col("v_varbinary", "varbinary(3)", pa.binary(), b"abc", b"abcd", "varbinary(4)"),
    Col("v_binary", "binary(2)", pa.binary(), b"ab", b"abc", "varbinary(3)"),
    Col("v_tinyblob", "tinyblob", pa.binary(), b"x", b"x" * 300, "blob"),
    Col("v_mediumint", "mediumint", pa.int32(), -8_388_608, 9_000_000, "int"),
    Col("v_umediumint", "mediumint unsigned", pa.uint32(), 16_777_215, 20_000_000, "int unsigned"),
    Col("v_bit", "bit(3)", pa.uint64(), 7, 9, "bit(4)"),
    Col("v_float", "float(7,4)", pa.float32(), 1.5, 1.23456, "float"),
    Col("v_udecimal", "decimal(5,2) unsigned", pa.decimal128(5, 2), Decimal("1.25"), Decimal("-1.25"),
        "decimal(5,2)"),
    Col("v_udouble", "double unsigned", pa.float64(), 1.5, -1.5, "double"),
    Col("v_datetime", "datetime", pa.timestamp("us"), datetime(2020, 1, 1), datetime(2020, 1, 1, 0, 0, 0, 500000),
        "datetime(6)"),
    Col("v_timestamp", "timestamp(0) NULL DEFAULT NULL", pa.timestamp("us", tz="UTC"),
        datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, 0, 0, 0, 250000, tzinfo=UTC), "timestamp(6)"),
    Col("v_time", "time", pa.duration("us"), timedelta(seconds=1), timedelta(seconds=1, microseconds=500000),
        "time(6)"),
]
# Values that always fitted but were loaded wrongly: a TIME given a count of microseconds read it as HHMMSS
# (1 s became 100:00:00), and a BIT given text stored the characters' bits (refused as out of range).
MYSQL_KEPT = [
    Col("k_time", "time(6)", pa.duration("us"), timedelta(seconds=1), timedelta(hours=-838, microseconds=1)),
    Col("k_bit1", "bit(1)", pa.bool_(), True, False),
    Col("k_bit", "bit(8)", pa.uint64(), 0, 255),
]
MYSQL_REFUSES = [
    Col("r_year", "year", pa.int16(), 2000, 1800),
    Col("r_enum", "enum('a','b')", pa.string(), "a", "c"),
    Col("r_set", "set('a','b')", pa.string(), "a,b", "a,c"),
    Col("r_timestamp", "timestamp NULL DEFAULT NULL", pa.timestamp("us", tz="UTC"), datetime(2020, 1, 1, tzinfo=UTC),
        datetime(2040, 1, 1, tzinfo=UTC)),
    Col("r_time", "time", pa.duration("us"), timedelta(hours=1), timedelta(hours=900)),
    Col("r_utf8mb3", "varchar(10) CHARACTER SET utf8mb3", pa.string(), "abc", "😀"),
    Col("r_date", "date", pa.date32(), 18_262, 3_000_000),  # days since 1970: 2020-01-01, and past 9999
]

POSTGRES_WIDENS = [
    Col("v_varchar", "varchar(5)", pa.string(), "abcde", "abcdefghij", "character varying(10)"),
    # PostgreSQL cut the spaces past the length ('abc   ' became 'abc  '), without an error.
    Col("v_spaces", "varchar(5)", pa.string(), "abc", "abc   ", "character varying(6)"),
    Col("v_char", "char(3)", pa.string(), "abc", "abcd", "character(4)"),
    Col("v_array", "varchar(3)[]", pa.list_(pa.string()), ["abc"], ["ab", "abcd"], "character varying(4)[]"),
    Col("v_ts", "timestamp(0)", pa.timestamp("us"), datetime(2020, 1, 1), datetime(2020, 1, 1, 0, 0, 0, 500000),
        "timestamp without time zone"),
    Col("v_tstz", "timestamptz(3)", pa.timestamp("us", tz="UTC"), datetime(2020, 1, 1, tzinfo=UTC),
        datetime(2020, 1, 1, 0, 0, 0, 123456, tzinfo=UTC), "timestamp with time zone"),
    Col("v_time", "time(0)", pa.time64("us"), time(1, 2, 3), time(1, 2, 3, 400000), "time without time zone"),
    Col("v_interval", "interval second(0)", pa.duration("us"), timedelta(seconds=1),
        timedelta(seconds=1, microseconds=500000), "interval"),
    Col("v_interval_day", "interval day", pa.duration("us"), timedelta(days=1), timedelta(hours=36), "interval"),
]
POSTGRES_REFUSES = [
    Col("r_domain", "S.short_text", pa.string(), "abc", "abcd"),  # a domain over varchar(3): the domain's to change
    Col("r_domain_ts", "S.whole_seconds", pa.timestamp("us"), datetime(2020, 1, 1), datetime(2020, 1, 1, 0, 0, 1, 5)),
]


@dataclass
class Server:
    name: str
    url: str
    place: Callable[[Path, str], Iterator[Place]]
    run: Callable[[str], list[tuple[Any, ...]]]
    widens: list[Col]
    kept: list[Col]
    refuses: list[Col]

    def store(self, place: Place, **extra: Any) -> dict[str, Any]:
        return {"type": self.name, "url": self.url, "schema": place.name, "full_drop_mode": "truncate", **extra}

    def sql(self, place: Place, text: str) -> list[tuple[Any, ...]]:
        quote = "`" if self.name == "mysql" else '"'
        return self.run(text.replace("S.", f"{quote}{place.name}{quote}."))

    def create(self, place: Place, table: str, cols: list[Col]) -> None:
        if self.name == "mysql":
            mysql_sql(f"CREATE DATABASE IF NOT EXISTS `{place.name}`")
        else:
            postgres_sql(f'CREATE SCHEMA IF NOT EXISTS "{place.name}"')
            postgres_sql(f'CREATE DOMAIN "{place.name}".short_text AS varchar(3)')
            postgres_sql(f'CREATE DOMAIN "{place.name}".whole_seconds AS timestamp(0)')
        types = ", ".join(f"{c.name} {c.ddl}" for c in cols)
        self.sql(place, f"CREATE TABLE S.{table} (id integer PRIMARY KEY, {types})")
        self.sql(place, f"INSERT INTO S.{table} (id) VALUES (0)")  # someone else's row, which stays

    def types(self, place: Place, table: str) -> dict[str, str]:
        if self.name == "mysql":
            rows = mysql_sql(f"SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                             f"WHERE TABLE_SCHEMA = '{place.name}' AND TABLE_NAME = '{table}'")
            return {str(n): re.sub(r"int\(\d+\)", "int", str(t)) for n, t in rows}
        rows = postgres_sql(f"SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                            f"WHERE attrelid = '\"{place.name}\".{table}'::regclass AND attnum > 0")
        return {str(n): str(t) for n, t in rows}


SERVERS = {
    "mysql": Server("mysql", MYSQL_URL, mysql_place, mysql_sql, MYSQL_WIDENS, MYSQL_KEPT, MYSQL_REFUSES),
    "postgres": Server("postgres", POSTGRES_URL, postgres_place, postgres_sql, POSTGRES_WIDENS, [], POSTGRES_REFUSES),
}


@pytest.fixture(params=list(SERVERS))
def server(request: pytest.FixtureRequest) -> Server:
    return SERVERS[request.param]


@pytest.fixture
def place(server: Server, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
    yield from server.place(tmp_path, request.node.name)


def rows(cols: list[Col], ids: list[int], which: str) -> pa.Table:
    data: dict[str, pa.Array] = {"id": pa.array(ids, pa.int32())}
    for c in cols:
        data[c.name] = pa.array([getattr(c, which)] * len(ids), c.type)
    return pa.table(data)


def land(root: Path, store: dict[str, Any], table: str, cols: list[Col], run_type: str,
         **settings: Any) -> hygge.MoveResult:
    """Move a row that does not fit (id 2) into the existing table, by ``run_type``.

    Incremental first moves a row that fits (id 1): its first run is a full load, kept in the table by
    ``full_drop_mode: truncate``; the row that does not fit comes with the second run, an append."""
    folder = root / "in"
    folder.mkdir(exist_ok=True)
    if run_type == "incremental":
        settings["watermark"] = "id"
    if run_type == "merge":
        settings["keys"] = ["id"]

    def go(ids: list[int], which: str) -> hygge.MoveResult:
        pq.write_table(rows(cols, ids, which), folder / f"{table}.parquet")
        return hygge.move({"type": "parquet", "path": str(folder)}, store, table, root=root, run_type=run_type,
                          **settings)

    if run_type == "incremental":
        first = go([1], "fits")
        assert first.ok, first.error
    return go([2], "misfit")


def sample(c: Col) -> str:
    """How the refusal shows the column's value (lists: the element that does not fit)."""
    value = c.misfit[-1] if isinstance(c.misfit, list) else c.misfit
    if isinstance(value, (str, bytes)):
        return repr(value)[:20]
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return "e.g. "
    return str(pa.array([value], c.type)[0].as_py()) if c.type != pa.date32() else "e.g. "


def back(root: Path, server: Server, place: Place, table: str) -> pa.Table:
    """The table as hygge reads it, ordered by id."""
    result = hygge.move({"type": server.name, "url": server.url, "schema": place.name}, {"type": "parquet",
                        "path": "back"}, table, root=root)
    assert result.ok, result.error
    return read_target(root / "back" / table).sort_by("id")


@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_a_value_that_does_not_fit_widens_the_column_and_reads_back_exactly(
        server: Server, place: Place, run_type: str) -> None:
    cols = server.widens + server.kept
    server.create(place, "t", cols)
    result = land(place.root, server.store(place), "t", cols, run_type)
    assert result.ok, result.error
    types = server.types(place, "t")
    for c in server.widens:
        assert types[c.name] == c.widened, f"{c.name} ({c.ddl}) became {types[c.name]}, {c.widened} expected"
        assert any(f"column {c.name} widened from" in w for w in result.warnings), result.warnings
    landed = back(place.root, server, place, "t")
    row = landed.filter(pc.equal(landed.column("id"), 2))
    assert row.num_rows == 1
    for c in cols:
        assert row.column(c.name).type == c.type, c.name
        sent = pa.array([c.misfit], c.type).to_pylist()
        assert row.column(c.name).to_pylist() == sent, f"{c.name} ({c.ddl}) did not keep its value"
    if run_type in ("append", "merge"):
        assert 0 in landed.column("id").to_pylist(), "the rows already there must stay"


@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_with_type_changes_fail_every_misfit_column_is_named_and_nothing_changes(
        server: Server, place: Place, run_type: str) -> None:
    server.create(place, "t", server.widens)
    types = server.types(place, "t")
    result = land(place.root, server.store(place), "t", server.widens, run_type,
                  schema_policy={"type_changes": "fail"})
    assert result.status == "failed"
    text = str(result.error)
    assert f"values do not fit {len(server.widens)} column(s)" in text, text
    for c in server.widens:
        assert f"{c.name} (" in text and sample(c) in text, f"{c.name} or its value is not named:\n{text}"
    assert "type_changes: widen" in text, text
    assert server.types(place, "t") == types, "a refused move must leave the table as it was"
    assert 2 not in [r[0] for r in server.sql(place, "SELECT id FROM S.t")]


@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_a_value_no_column_of_that_kind_can_hold_is_refused_naming_every_column(
        server: Server, place: Place, run_type: str) -> None:
    server.create(place, "t", server.refuses)
    types = server.types(place, "t")
    result = land(place.root, server.store(place), "t", server.refuses, run_type)
    assert result.status == "failed"
    text = str(result.error)
    for c in server.refuses:
        assert f"{c.name} (" in text and sample(c) in text, f"{c.name} or its value is not named:\n{text}"
    assert "hygge cannot widen" in text and "polish" in text, text
    assert server.types(place, "t") == types
    assert 2 not in [r[0] for r in server.sql(place, "SELECT id FROM S.t")]


def test_postgres_widens_between_batches_and_loads_every_row_once(tmp_path: Path) -> None:
    """A direct load stops before the first batch that needs a wider column, widens it, and goes on."""
    server = SERVERS["postgres"]
    for place in postgres_place(tmp_path, "widens_between_batches"):
        server.create(place, "t", [Col("s", "varchar(5)", pa.string(), "", "")])
        texts = ["abc"] * 30_000 + ["abcdefghij"] * 30_000 + ["x" * 20] * 30_000
        (tmp_path / "in").mkdir()
        pq.write_table(pa.table({"id": pa.array(range(1, 90_001), pa.int32()), "s": texts}),
                       tmp_path / "in" / "t.parquet", row_group_size=10_000)
        result = hygge.move({"type": "parquet", "path": "in"}, server.store(place), "t", root=tmp_path,
                            run_type="append", batch_bytes="64KiB")
        assert result.ok, result.error
        assert [w for w in result.warnings if "widened" in w] == [
            "column s widened from character varying(5) to varchar(10) to hold this run's values",
            "column s widened from character varying(10) to varchar(20) to hold this run's values"]
        landed = back(tmp_path, server, place, "t")
        assert landed.num_rows == 90_001
        assert landed.column("s").to_pylist()[1:] == texts


def test_mysql_values_outside_what_the_checks_know_fail_through_the_server_warnings(tmp_path: Path) -> None:
    """The last net: a latin1 column cannot hold Cyrillic; LOAD DATA only warns, and the warning fails the move."""
    server = SERVERS["mysql"]
    for place in mysql_place(tmp_path, "server_warnings"):
        server.create(place, "t", [Col("s", "varchar(10) CHARACTER SET latin1", pa.string(), "", "")])
        for policy in ("widen", "fail"):  # staged (copied in SQL at commit) and loaded directly
            result = land(tmp_path, server.store(place), "t", [Col("s", "", pa.string(), "", "жж")], "append",
                          schema_policy={"type_changes": policy})
            assert result.status == "failed", policy
            assert "`s`" in str(result.error) and "nothing was committed" in str(result.error), str(result.error)
            assert server.sql(place, "SELECT COUNT(*) FROM S.t")[0][0] == 1


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_embedded_stores_keep_values_longer_than_the_declared_length(tmp_path: Path, engine: str,
                                                                     run_type: str) -> None:
    """SQLite and DuckDB do not enforce VARCHAR(n): the value is stored whole, and nothing is widened."""
    for place in files_place(tmp_path, engine):
        path = str(place.root / f"db.{engine}")
        if engine == "duckdb":
            import duckdb

            with duckdb.connect(path) as con:
                con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR(5), c CHAR(2))")
                con.execute("INSERT INTO t (id) VALUES (0)")
        else:
            import sqlite3

            with sqlite3.connect(path) as con:
                con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR(5), c CHAR(2))")
                con.execute("INSERT INTO t (id) VALUES (0)")
        cols = [Col("s", "", pa.string(), "abc", "abcdefghij"), Col("c", "", pa.string(), "ab", "abc  ")]
        store = {"type": engine, "path": path, "full_drop_mode": "truncate"}
        result = land(place.root, store, "t", cols, run_type)
        assert result.ok, result.error
        assert not [w for w in result.warnings if "widened from" in w]
        back_result = hygge.move({"type": engine, "path": path}, {"type": "parquet", "path": "back"}, "t",
                                 root=place.root)
        assert back_result.ok, back_result.error
        landed = read_target(place.root / "back" / "t")
        row = landed.filter(pc.equal(landed.column("id").cast(pa.int64()), 2)).to_pylist()
        assert [(r["s"], r["c"]) for r in row] == [("abcdefghij", "abc  ")]
