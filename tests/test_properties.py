"""Property-based tests: the config loader never crashes, and generated tables survive round trips exactly."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hygge
from hygge.core.planner import plan
from hygge.core.workspace import load_workspace
from hygge.errors import ConfigError
from tests.helpers import read_target

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fresh_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="hygge-prop-"))


# -- the config loader ---------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
trees = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                     max_leaves=20)


@SETTINGS
@given(text=st.text(max_size=300))
def test_any_text_as_hygge_yml_loads_or_gives_a_config_error(text: str) -> None:
    root = fresh_dir()
    try:
        (root / "hygge.yml").write_text(text, encoding="utf-8")
        try:
            load_workspace(root)
        except ConfigError as exc:
            assert exc.problems and all(p.message for p in exc.problems)
    finally:
        shutil.rmtree(root)


@SETTINGS
@given(body=st.dictionaries(st.sampled_from(["name", "options", "defaults", "flows", "connections", "flows_dir",
                                             "nmae", "optoins"]), trees, max_size=5))
def test_any_mapping_loads_or_every_problem_names_its_key(body: dict[str, Any]) -> None:
    root = fresh_dir()
    try:
        (root / "hygge.yml").write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
        try:
            load_workspace(root)
        except ConfigError as exc:
            for problem in exc.problems:
                assert problem.file and ("hygge.yml" in problem.file or "flow" in problem.file)
    finally:
        shutil.rmtree(root)


names = st.text(alphabet=st.characters(categories=["Ll", "Lu", "Nd"], max_codepoint=0x24F), min_size=1,
                max_size=10)


@SETTINGS
@given(flows=st.dictionaries(names, st.tuples(st.sampled_from(["full_drop", "append", "incremental"]),
                                              st.lists(names, min_size=1, max_size=4, unique=True)),
                             min_size=1, max_size=3),
       value=st.text(alphabet=st.characters(categories=["L", "N", "P"], exclude_characters="${}\\'\""), max_size=15))
def test_generated_projects_plan_exactly_what_they_say(flows: dict[str, Any], value: str) -> None:
    root = fresh_dir()
    try:
        body: dict[str, Any] = {"name": "prop", "flows": {}}
        for flow, (run_type, entities) in flows.items():
            body["flows"][flow] = {"home": {"type": "parquet", "path": "in"},
                                   "store": {"type": "parquet", "path": "${OUT:-out}/" + flow},
                                   "run_type": run_type,
                                   "entities": [{"name": e, "polish": {"constants": {"tag": "${TAG}"}}}
                                                for e in entities]}
        (root / "hygge.yml").write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
        (root / ".env").write_text(f"TAG='{value}'\n", encoding="utf-8")
        plans, failures = plan(load_workspace(root))
        assert failures == []
        assert sorted(p.key for p in plans) == sorted(f"{f}.{e}" for f, (_, es) in flows.items() for e in es)
        for p in plans:
            assert p.run_type == flows[p.flow][0]
            assert p.store["path"] == f"out/{p.flow}"
            assert p.polish["constants"]["tag"] == value
    finally:
        shutil.rmtree(root)


# -- type round trips ----------------------------------------------------------------------------

UTC = dt.timezone.utc
KINDS: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "int8": (pa.int8(), st.integers(-(2**7), 2**7 - 1)),
    "int32": (pa.int32(), st.integers(-(2**31), 2**31 - 1)),
    "int64": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "uint16": (pa.uint16(), st.integers(0, 2**16 - 1)),
    "float32": (pa.float32(), st.floats(width=32, allow_nan=False)),
    "float64": (pa.float64(), st.floats(allow_nan=False)),
    "decimal": (pa.decimal128(18, 4), st.decimals(min_value=Decimal("-99999999999999.9999"),
                                                  max_value=Decimal("99999999999999.9999"), places=4,
                                                  allow_nan=False, allow_infinity=False)),
    "bool": (pa.bool_(), st.booleans()),
    "text": (pa.string(), st.text(max_size=40)),
    "binary": (pa.binary(), st.binary(max_size=40)),
    "date": (pa.date32(), st.dates(min_value=dt.date(1, 1, 1))),
    "timestamp": (pa.timestamp("us"), st.datetimes(min_value=dt.datetime(1, 1, 1))),
    "timestamp_utc": (pa.timestamp("us", tz="UTC"), st.datetimes(min_value=dt.datetime(1, 1, 2),
                                                                 max_value=dt.datetime(9999, 12, 30),
                                                                 timezones=st.just(UTC))),
    "time": (pa.time64("us"), st.times()),
    "duration": (pa.duration("us"), st.timedeltas(min_value=dt.timedelta(days=-10**5),
                                                  max_value=dt.timedelta(days=10**5))),
}


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=5))
    rows = draw(st.integers(0, 12))
    columns: dict[str, pa.Array] = {"row_id": pa.array(range(rows), pa.int64())}
    for index, kind in enumerate(kinds):
        dtype, values = KINDS[kind]
        data = draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows))
        columns[f"c{index} {kind}"] = pa.array(data, dtype)
    return pa.table(columns)


def round_trip(table: pa.Table, store: dict[str, Any], home: dict[str, Any]) -> pa.Table:
    root = fresh_dir()
    try:
        (root / "in").mkdir()
        pq.write_table(table, root / "in" / "t.parquet")
        wrote = hygge.move({"type": "parquet", "path": "in"}, store, "t", root=root)
        assert wrote.ok, wrote.error
        back = hygge.move(home, {"type": "parquet", "path": "back"}, "t", root=root)
        assert back.ok, back.error
        return read_target(root / "back" / "t").sort_by("row_id")
    finally:
        shutil.rmtree(root)


@SETTINGS
@given(table=tables())
def test_generated_tables_round_trip_parquet_exactly(table: pa.Table) -> None:
    out = round_trip(table, {"type": "parquet", "path": "lake"}, {"type": "parquet", "path": "lake"})
    assert out.schema == table.schema and out.equals(table)


@SETTINGS
@given(table=tables())
def test_generated_tables_round_trip_duckdb_exactly(table: pa.Table) -> None:
    db = {"path": "db/x.duckdb"}
    out = round_trip(table, {"type": "duckdb", **db}, {"type": "duckdb", **db})
    assert out.schema == table.schema and out.equals(table)


@SETTINGS
@given(table=tables())
def test_generated_tables_round_trip_sqlite_exactly(table: pa.Table) -> None:
    db = {"path": "db/x.sqlite"}
    out = round_trip(table, {"type": "sqlite", **db}, {"type": "sqlite", **db})
    assert out.schema == table.schema and out.equals(table)
    # Arrow's equality takes -0.0 for 0.0; SQLite's REAL affinity turned one into the other (docs/types.md).
    for name in table.column_names:
        if pa.types.is_floating(table.schema.field(name).type):
            assert signs(out.column(name)) == signs(table.column(name)), name


def signs(column: pa.ChunkedArray) -> list[float | None]:
    return [None if v is None else math.copysign(1.0, v) for v in column.to_pylist()]
