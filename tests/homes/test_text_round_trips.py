"""What the csv and jsonl stores write, their homes read back exactly: every row and every value, nulls apart from
empty strings, for any number of columns (a file of one column wrote its nulls as empty lines, which the csv home
skipped: 1,000 rows came back as 858 and the move said ok)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hygge
from hygge.core.arrowtypes import type_name
from tests.helpers import read_target


def mixed(columns: int, rows: int = 1_000) -> pa.Table:
    """Text and whole numbers with nulls, empty strings, and rows that are null in every column."""
    data: dict[str, pa.Array] = {}
    for c in range(columns):
        if c % 2:
            data[f"n{c}"] = pa.array([None if (i + c) % 7 == 0 or i % 11 == 0 else i * (c + 1) for i in range(rows)],
                                     pa.int64())
        else:
            data[f"s{c}"] = pa.array([None if (i + c) % 7 == 0 or i % 11 == 0 else "" if i % 5 == 0 else f"v{i},\"{c}\""
                                      for i in range(rows)], pa.string())
    return pa.table(data)


def round_trip(table: pa.Table, kind: str, store: dict[str, Any] | None = None,
               home: dict[str, Any] | None = None) -> tuple[pa.Table, list[int]]:
    """The table written by the `kind` store and read back by the `kind` home (told the column types)."""
    root = Path(tempfile.mkdtemp(prefix="hygge-text-"))
    try:
        (root / "in").mkdir()
        pq.write_table(table, root / "in" / "t.parquet")
        wrote = hygge.move({"type": "parquet", "path": "in"}, {"type": kind, "path": "mid", **(store or {})}, "t",
                           root=root)
        assert wrote.ok, wrote.error
        columns = {f.name: type_name(f.type) for f in table.schema}
        back = hygge.move({"type": kind, "path": "mid", "columns": columns, **(home or {})},
                          {"type": "parquet", "path": "out"}, "t", root=root)
        assert back.ok, back.error
        counts = [wrote.rows_read, wrote.rows_written, back.rows_read, back.rows_written, back.rows_in_target]
        return read_target(root / "out" / "t"), counts
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
@pytest.mark.parametrize("columns", [1, 2, 3, 5, 8])
def test_every_row_and_value_comes_back_for_every_column_count(kind: str, columns: int) -> None:
    table = mixed(columns)
    out, counts = round_trip(table, kind)
    assert counts == [1_000] * 5
    assert out.schema == table.schema and out.equals(table)


@pytest.mark.parametrize("options", [{"quoting": "all_valid"}, {"header": False}])
def test_csv_store_options_keep_every_row_of_one_column(options: dict[str, Any]) -> None:
    table = mixed(1)
    home = {"header": False, "column_names": ["s0"]} if options.get("header") is False else {}
    out, counts = round_trip(table, "csv", store=options, home=home)
    assert counts == [1_000] * 5 and out.equals(table)


def test_unquoted_csv_refuses_empty_strings_it_would_turn_into_nulls(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"s": ["a", "", None]}), tmp_path / "in" / "t.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "csv", "path": "mid", "quoting": "none"}, "t",
                        root=tmp_path)
    assert not result.ok and "empty strings" in str(result.error) and "quoting" in str(result.error)
    assert not (tmp_path / "mid" / "t").exists() or not list((tmp_path / "mid" / "t").glob("part-*"))
    pq.write_table(pa.table({"s": ["a", None, "b"]}), tmp_path / "in" / "u.parquet")  # no empty strings: fine
    assert hygge.move({"type": "parquet", "path": "in"}, {"type": "csv", "path": "mid", "quoting": "none"}, "u",
                      root=tmp_path).ok


cells = st.one_of(st.none(), st.just(""), st.text(alphabet="ab ,\"\n\r\t'é", max_size=6))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(1, 30).flatmap(
    lambda n: st.lists(st.lists(cells, min_size=n, max_size=n), min_size=1, max_size=6)),
       kind=st.sampled_from(["csv", "jsonl"]))
def test_generated_text_columns_come_back_exactly(rows: list[list[str | None]], kind: str) -> None:
    table = pa.table({f"c{i}": pa.array(column, pa.string()) for i, column in enumerate(rows)})
    out, counts = round_trip(table, kind)
    assert counts == [table.num_rows] * 5
    assert out.num_rows == table.num_rows and out.to_pydict() == table.to_pydict()


def test_a_one_column_csv_from_elsewhere_counts_its_empty_lines_as_nulls(tmp_path: Path) -> None:
    """In a file of one column an empty line is a row with a null (RFC 4180); with more columns an empty line holds
    no row, and is skipped as before."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "one.csv").write_text("name\nAnn\n\nBob\n\n")
    (tmp_path / "in" / "two.csv").write_text("id,name\n1,Ann\n\n2,Bob\n")
    one = hygge.move({"type": "csv", "path": "in"}, {"type": "parquet", "path": "out"}, "one", root=tmp_path)
    assert one.ok and one.rows_written == 4, one.error
    assert read_target(tmp_path / "out" / "one").column("name").to_pylist() == ["Ann", None, "Bob", None]
    two = hygge.move({"type": "csv", "path": "in"}, {"type": "parquet", "path": "out"}, "two", root=tmp_path)
    assert two.ok and read_target(tmp_path / "out" / "two").to_pydict() == {"id": [1, 2], "name": ["Ann", "Bob"]}


def test_a_one_column_csv_with_empty_lines_before_its_header_is_refused_not_misread(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("\nname\nAnn\n")
    result = hygge.move({"type": "csv", "path": "t.csv"}, {"type": "parquet", "path": "out"}, "t", root=tmp_path)
    assert not result.ok and "header" in str(result.error) and "skip_rows" in str(result.error)


def test_jsonl_counts_empty_objects_as_rows_of_nulls(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text('{"a": 1}\n{}\n{"a": null}\n\n{"a": 4}\n')
    result = hygge.move({"type": "jsonl", "path": "t.jsonl"}, {"type": "parquet", "path": "out"}, "t", root=tmp_path)
    assert result.ok and result.rows_written == 4, result.error
    assert read_target(tmp_path / "out" / "t").column("a").to_pylist() == [1, None, None, 4]
