"""Real-world exports (issue 20, item 5): per-column date formats, polish `cast`, hints that name the real fix,
and columns from each file's path, against the parquet store and a database store for every run type."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target, write_project

ENGINES = {name: MERGE_ENGINES[name] for name in ("parquet", "sqlite")}
RUN_TYPES = ["full_drop", "append", "incremental", "merge"]
ORDERS = "id,order_date,seen_at,amount,flag\n1,01/02/2013,01/02/2013 10:30,12.50,true\n2,13/02/2013,,3,false\n"
FORMATS = {"order_date": "%d/%m/%Y", "seen_at": "%d/%m/%Y %H:%M"}


engine, place = engine_fixtures(ENGINES)


def export(root: Path, text: str = ORDERS, name: str = "orders.csv") -> Path:
    (root / "in").mkdir(exist_ok=True)
    path = root / "in" / name
    path.write_text(text)
    return path


def load(place: Place, engine: Engine, home: dict[str, Any], run_type: str = "full_drop",
         **settings: Any) -> hygge.MoveResult:
    if run_type == "merge":
        settings.setdefault("keys", ["id"])
    return hygge.move({"type": "csv", "path": str(place.root / "in"), **home}, engine.store(place), "orders",
                      root=place.root, run_type=run_type, **settings)


def landed(place: Place, engine: Engine) -> pa.Table:
    back = place.root / "back"
    result = hygge.move(engine.home(place), {"type": "parquet", "path": str(back)}, "orders", root=place.root)
    assert result.ok, result.error
    return read_target(back / "orders").sort_by("id")


# --- formats ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_dates_and_times_in_a_format_of_their_own_land_typed(engine: Engine, place: Place, run_type: str) -> None:
    export(place.root)
    result = load(place, engine, {"formats": FORMATS}, run_type)
    assert result.ok, result.error
    table = landed(place, engine)
    assert table.column("order_date").to_pylist() == [dt.date(2013, 2, 1), dt.date(2013, 2, 13)]
    assert table.column("seen_at").to_pylist() == [dt.datetime(2013, 2, 1, 10, 30), None]
    assert pa.types.is_timestamp(table.schema.field("seen_at").type)


@pytest.mark.parametrize("run_type", ["append", "incremental", "merge"])
def test_a_value_that_does_not_match_its_format_fails_and_leaves_the_target(engine: Engine, place: Place,
                                                                            run_type: str) -> None:
    path = export(place.root)
    assert load(place, engine, {"formats": FORMATS}, run_type).ok
    rows = "".join(f"{i},02/03/2013,,1,true\n" for i in range(3, 9))
    path.write_text(ORDERS + rows + "9,2013-03-02,,1,true\n")
    result = load(place, engine, {"formats": FORMATS}, run_type)
    assert result.status == "failed"
    text = str(result.error)
    assert "column order_date has a value that does not match its format %d/%m/%Y" in text
    assert "orders.csv" in text and "'2013-03-02' in data row 9" in text and "formats:" in text
    assert landed(place, engine).num_rows == 2


def test_a_format_with_a_zone_and_a_declared_type_are_kept(tmp_path: Path) -> None:
    export(tmp_path, "id,at,on\n1,01/02/2013 10:30 +0200,2013.02.01 10:30\n")
    result = hygge.move({"type": "csv", "path": "in", "formats": {"at": "%d/%m/%Y %H:%M %z", "on": "%Y.%m.%d %H:%M"},
                         "columns": {"on": "timestamp[us, UTC]"}}, {"type": "parquet", "path": "out"}, "orders",
                        root=tmp_path)
    assert result.ok, result.error
    table = read_target(tmp_path / "out" / "orders")
    utc = dt.timezone.utc
    assert table.schema.field("on").type == pa.timestamp("us", tz="UTC")
    assert table.column("at").to_pylist() == [dt.datetime(2013, 2, 1, 8, 30, tzinfo=utc)]
    assert table.column("on").to_pylist() == [dt.datetime(2013, 2, 1, 10, 30, tzinfo=utc)]


def test_formats_are_checked_against_the_header_and_the_type(tmp_path: Path) -> None:
    export(tmp_path)
    unknown = hygge.move({"type": "csv", "path": "in", "formats": {"order_dat": "%d/%m/%Y"}},
                         {"type": "parquet", "path": "out"}, "orders", root=tmp_path)
    assert unknown.status == "failed"
    assert "`formats` names order_dat" in str(unknown.error) and "did you mean 'order_date'" in str(unknown.error)
    with pytest.raises(hygge.errors.ConfigError, match="no strptime directive"):
        hygge.move({"type": "csv", "path": "in", "formats": {"order_date": "dd/mm/yyyy"}},
                   {"type": "parquet", "path": "out"}, "orders", root=tmp_path)
    with pytest.raises(hygge.errors.ConfigError, match="a format reads a date or a timestamp"):
        hygge.move({"type": "csv", "path": "in", "formats": {"id": "%Y"}, "columns": {"id": "int64"}},
                   {"type": "parquet", "path": "out"}, "orders", root=tmp_path)


# --- polish cast -----------------------------------------------------------------------------------------------

CASTS = {"amount": "decimal(12,2)", "flag": "bool", "order_date": "timestamp[us, UTC]"}
TEXT = {"columns": {"amount": "string", "flag": "string", "order_date": "string"}}
ISO = "id,order_date,amount,flag\n1,2013-02-01 10:30:00,12.50,true\n2,2013-02-13T00:00:00Z,3,false\n"


@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_polish_cast_types_any_column(engine: Engine, place: Place, run_type: str) -> None:
    export(place.root, ISO)
    result = load(place, engine, TEXT, run_type, polish={"cast": CASTS})
    assert result.ok, result.error
    table = landed(place, engine)
    assert table.column("amount").to_pylist() == [Decimal("12.50"), Decimal("3.00")]
    assert table.column("flag").to_pylist() == [True, False]
    utc = dt.timezone.utc
    assert table.column("order_date").to_pylist() == [dt.datetime(2013, 2, 1, 10, 30, tzinfo=utc),
                                                      dt.datetime(2013, 2, 13, tzinfo=utc)]


@pytest.mark.parametrize("run_type", ["append", "merge"])
@pytest.mark.parametrize(("column", "bad", "said"), [
    ("amount", "12.345", "'12.345' is not a decimal(12,2)"),
    ("flag", "yes", "'yes' is not a bool"),
    ("order_date", "soon", "'soon' is not a timestamp[us, UTC]"),
])
def test_a_value_a_cast_cannot_take_fails_naming_it_and_is_never_a_null(engine: Engine, place: Place, run_type: str,
                                                                      column: str, bad: str, said: str) -> None:
    path = export(place.root, ISO)
    assert load(place, engine, TEXT, run_type, polish={"cast": CASTS}).ok
    good = {"id": "3", "order_date": "2013-02-14 00:00:00", "amount": "1", "flag": "true"}
    rows = [{**good, "id": str(i)} for i in range(3, 40)] + [{**good, "id": "40", column: bad}]
    path.write_text(ISO + "".join(",".join(r[k] for k in ("id", "order_date", "amount", "flag")) + "\n"
                                  for r in rows))
    result = load(place, engine, TEXT, run_type, polish={"cast": CASTS})
    assert result.status == "failed"
    assert f"polish cast of column {column}" in str(result.error) and said in str(result.error)
    assert landed(place, engine).num_rows == 2


def test_a_cast_arrow_cannot_make_or_of_an_unknown_column_fails_before_reading(tmp_path: Path) -> None:
    export(tmp_path)
    result = hygge.move({"type": "csv", "path": "in"}, {"type": "parquet", "path": "out"}, "orders", root=tmp_path,
                        polish={"cast": {"id": "date32"}})
    assert result.status == "failed" and "column 'id' is int64, which cannot be cast to date32" in str(result.error)
    result = hygge.move({"type": "csv", "path": "in"}, {"type": "parquet", "path": "out"}, "orders", root=tmp_path,
                        polish={"cast": {"amout": "int64"}})
    assert result.status == "failed" and "did you mean 'amount'" in str(result.error)
    assert not (tmp_path / "out" / "orders").exists()


def test_cast_in_a_flow_file_is_checked_with_the_other_polish_keys(tmp_path: Path) -> None:
    export(tmp_path, ISO)
    write_project(tmp_path, "name: c\n", flows={"f": """\
        home: {type: csv, path: in, columns: {amount: string}}
        store: {type: parquet, path: out}
        entities:
          - name: orders
            polish: {cast: {amount: "decimal(12,2)"}, rename: {amount: total}}
        """})
    result = hygge.run(tmp_path)
    assert result.ok, result.moves[0].error
    table = read_target(tmp_path / "out" / "orders")
    assert table.schema.field("total").type == pa.decimal128(12, 2)
    (tmp_path / "flows" / "f" / "flow.yml").write_text((tmp_path / "flows" / "f" / "flow.yml").read_text()
                                                       .replace("decimal(12,2)", "decimal(12;2)"))
    with pytest.raises(hygge.errors.ConfigError, match="unknown type 'decimal"):
        hygge.run(tmp_path)


# --- hints -----------------------------------------------------------------------------------------------------

DATE_HINT = "`formats: {order_date: "
BAD_VALUES = [  # (home, bad row, column, fix, whether the row comes after the sample types were inferred from)
    *[({"columns": {"order_date": "date32"}}, "1,01/02/2013,,1,1", "order_date", DATE_HINT, late) for late in (0, 1)],
    *[({"columns": {"flag": "int32"}}, "1,2013-02-01,,1,true", "flag", "`columns: {flag: string}`", late)
      for late in (0, 1)],
    ({}, "1,01/02/2013,,1,1", "order_date", DATE_HINT, True),  # inferred as date32 from the sample
    ({}, "1,2013-02-01,,1.5,1", "amount", "`columns: {amount: float64}`", True),  # inferred as int64
    ({}, "1,2013-02-01,,n/a,1", "amount", "if 'n/a' stands for a missing value, add it to `null_values`", True),
    ({"columns": {"amount": "float64"}}, "1,2013-02-01,,n/a,1", "amount", "`null_values`", False),
]


@pytest.mark.parametrize(("home", "bad", "column", "fix", "late"), BAD_VALUES)
def test_a_bad_value_names_its_column_and_the_fix_not_the_dialect(tmp_path: Path, home: dict[str, Any], bad: str,
                                                                  column: str, fix: str, late: bool) -> None:
    good = "9,2013-02-01,,1,1\n" * (20000 if late else 0)
    export(tmp_path, "id,order_date,seen_at,amount,flag\n" + good + bad + "\n")
    result = hygge.move({"type": "csv", "path": "in", **home}, {"type": "parquet", "path": "out"}, "orders",
                        root=tmp_path, batch_bytes=64 << 10)
    assert result.status == "failed"
    error = result.error
    assert error is not None and f"column {column} has a value that is not" in str(error)
    assert fix in str(error.hint) and "cast:" in str(error.hint)
    assert "delimiter" not in str(error.hint)


def test_only_a_wrong_number_of_fields_points_at_the_dialect(tmp_path: Path) -> None:
    export(tmp_path, "id,name\n1,ann\n2,bob,extra\n")
    result = hygge.move({"type": "csv", "path": "in"}, {"type": "parquet", "path": "out"}, "orders", root=tmp_path)
    assert result.status == "failed" and result.error is not None
    assert "delimiter" in str(result.error.hint) and "formats" not in str(result.error.hint)


# --- columns from the path -------------------------------------------------------------------------------------

def hive_folder(root: Path, kind: str) -> None:
    """orders/year=2024/month=01/…, month=02/…, and one file outside any key=value folder."""
    parts = {"year=2024/month=01/a": [1], "year=2024/month=02/b": [2], "loose/c": [3]}
    for rel, ids in parts.items():
        path = root / "in" / "orders" / f"{rel}.{kind}"
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table({"id": pa.array(ids, pa.int64()), "v": [f"v{i}" for i in ids]})
        if kind == "parquet":
            pq.write_table(table, path)
        elif kind == "csv":
            path.write_text("id,v\n" + "".join(f"{i},v{i}\n" for i in ids))
        else:
            path.write_text("".join(f'{{"id": {i}, "v": "v{i}"}}\n' for i in ids))


EXPECTED_PATHS = [
    {"id": 1, "year": "2024", "month": "01", "_source_file": "orders/year=2024/month=01/a"},
    {"id": 2, "year": "2024", "month": "02", "_source_file": "orders/year=2024/month=02/b"},
    {"id": 3, "year": None, "month": None, "_source_file": "orders/loose/c"},
]


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_file_and_hive_columns_come_from_each_files_path(engine: Engine, place: Place, kind: str,
                                                         run_type: str) -> None:
    hive_folder(place.root, kind)
    home = {"type": kind, "path": str(place.root / "in"), "file_column": "_source_file", "hive_columns": True}
    result = hygge.move(home, engine.store(place), "orders", root=place.root, run_type=run_type,
                        **({"keys": ["id"]} if run_type == "merge" else {}))
    assert result.ok, result.error
    table = landed(place, engine).select(["id", "year", "month", "_source_file"])
    expected = [{**row, "_source_file": f"{row['_source_file']}.{kind}"} for row in EXPECTED_PATHS]
    assert table.to_pylist() == expected
    assert table.schema.field("month").type == pa.string()  # as written: 01 stays 01


def test_path_columns_of_a_glob_are_below_its_literal_folders_and_a_clash_is_refused(tmp_path: Path) -> None:
    hive_folder(tmp_path, "csv")
    result = hygge.move({"type": "csv", "path": "in/orders/year=*/*/*.csv", "file_column": "file",
                         "hive_columns": True}, {"type": "parquet", "path": "out"}, "orders", root=tmp_path)
    assert result.ok, result.error
    table = read_target(tmp_path / "out" / "orders").sort_by("id")
    assert table.column("file").to_pylist() == ["year=2024/month=01/a.csv", "year=2024/month=02/b.csv"]
    clash = hygge.move({"type": "csv", "path": "in", "file_column": "v"}, {"type": "parquet", "path": "out"},
                       "orders", root=tmp_path)
    assert clash.status == "failed" and "column v would be both a column of the files" in str(clash.error)


def test_an_incremental_run_adds_path_columns_to_the_new_files_only(tmp_path: Path) -> None:
    hive_folder(tmp_path, "csv")
    home = {"type": "csv", "path": "in", "file_column": "_source_file", "hive_columns": True}
    store = {"type": "sqlite", "path": "db.sqlite"}
    assert hygge.move(home, store, "orders", root=tmp_path, run_type="incremental").ok
    new = tmp_path / "in" / "orders" / "year=2025" / "month=03" / "d.csv"
    new.parent.mkdir(parents=True)
    new.write_text("id,v\n4,v4\n")
    again = hygge.move(home, store, "orders", root=tmp_path, run_type="incremental")
    assert again.ok and again.rows_written == 1, again.error
    back = hygge.move(store, {"type": "parquet", "path": "back"}, "orders", root=tmp_path)
    assert back.ok
    table = read_target(tmp_path / "back" / "orders").sort_by("id")
    assert table.select(["year", "month"]).to_pylist()[-1] == {"year": "2025", "month": "03"}
    assert table.column("_source_file").to_pylist()[-1] == "orders/year=2025/month=03/d.csv"


def test_path_columns_on_a_bucket_are_relative_to_the_homes_prefix(tmp_path: Path) -> None:
    from tests.buckets import make_bucket

    bucket = make_bucket("s3", "path-columns")
    storage = bucket.storage()
    storage.put("in/orders/year=2024/month=01/a.csv", b"id,v\n1,v1\n")
    storage.put("in/orders/year=2024/month=02/b.csv", b"id,v\n2,v2\n")
    home = {"type": "csv", "path": bucket.url("in"), "connection": bucket.connection(),
            "file_column": "_source_file", "hive_columns": True}
    result = hygge.move(home, {"type": "parquet", "path": "out"}, "orders", root=tmp_path)
    assert result.ok, result.error
    table = read_target(tmp_path / "out" / "orders").sort_by("id")
    assert table.select(["year", "month", "_source_file"]).to_pylist() == [
        {"year": "2024", "month": "01", "_source_file": "orders/year=2024/month=01/a.csv"},
        {"year": "2024", "month": "02", "_source_file": "orders/year=2024/month=02/b.csv"}]


def test_hive_folders_are_percent_decoded_and_the_default_partition_is_null() -> None:
    from hygge.homes.path_columns import hive_pairs

    assert hive_pairs("orders/city=S%C3%A3o%20Paulo/day=__HIVE_DEFAULT_PARTITION__/not-a-pair/a=b.csv") == [
        ("city", "São Paulo"), ("day", None)]


def test_text_cast_into_a_zone_keeps_its_offset_and_takes_none_as_utc() -> None:
    from hygge.core.casting import cast_column

    utc = dt.timezone.utc
    cast = cast_column(pa.array(["2013-02-01 10:30:00+02:00", "2013-02-01 10:30:00", "2013-02-01T10:30:00Z", None]),
                       "at", pa.timestamp("us", tz="UTC"))
    assert cast.to_pylist() == [dt.datetime(2013, 2, 1, 8, 30, tzinfo=utc), dt.datetime(2013, 2, 1, 10, 30, tzinfo=utc),
                                dt.datetime(2013, 2, 1, 10, 30, tzinfo=utc), None]


def test_path_columns_follow_each_file_when_the_files_are_read_in_partitions(tmp_path: Path) -> None:
    for key in (1, 2):
        path = tmp_path / "in" / "ev" / f"k={key}" / "a.csv"
        path.parent.mkdir(parents=True)
        path.write_text("id,v\n" + "".join(f"{i},x{i}\n" for i in range(key * 1000, key * 1000 + 500)))
    result = hygge.move({"type": "csv", "path": "in", "partitions": 2, "file_column": "f", "hive_columns": True},
                        {"type": "parquet", "path": "out"}, "ev", root=tmp_path)
    assert result.ok and result.rows_written == 1000, result.error
    assert len(list((tmp_path / "out" / "ev").glob("*.parquet"))) == 2  # two writers, one part each
    table = read_target(tmp_path / "out" / "ev")
    counts = table.group_by(["k", "f"]).aggregate([("id", "min"), ("id", "count")]).sort_by("k").to_pylist()
    assert counts == [{"k": "1", "f": "ev/k=1/a.csv", "id_min": 1000, "id_count": 500},
                      {"k": "2", "f": "ev/k=2/a.csv", "id_min": 2000, "id_count": 500}]


def test_a_word_in_a_column_inferred_as_float_suggests_null_values(tmp_path: Path) -> None:
    export(tmp_path, "id,amount\n" + "1,1.5\n" * 20000 + "2,n/a\n")
    result = hygge.move({"type": "csv", "path": "in"}, {"type": "parquet", "path": "out"}, "orders", root=tmp_path,
                        batch_bytes=64 << 10)
    assert result.status == "failed" and result.error is not None
    assert "column amount has a value that is not float64" in str(result.error)
    assert "add it to `null_values`" in str(result.error.hint) and "cast:" in str(result.error.hint)
    fixed = hygge.move({"type": "csv", "path": "in", "null_values": ["", "n/a"]}, {"type": "parquet", "path": "out"},
                       "orders", root=tmp_path, batch_bytes=64 << 10)
    assert fixed.ok, fixed.error
    assert read_target(tmp_path / "out" / "orders").column("amount").to_pylist()[-1] is None
