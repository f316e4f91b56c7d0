"""Numbers in CSV and JSON lines are read as a type that holds them exactly, or refused with the column and the fix.

Arrow's readers guessed float64 for every number that is not an int64: uint64 ids and long decimals came back
rounded, silently. Now float64 is kept only where the text has at most 17 significant digits; beyond that a
column is uint64 or decimal, in one file, across files, and for values far past the sample that types are
inferred from.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.core.plan import MovePlan
from hygge.core.planner import open_home
from hygge.errors import ReadError
from tests.helpers import read_target

BIG = "1" * 40 + ".25"

# text in the file, then the type each home reads it as, and the value it reads
CASES: list[tuple[str, pa.DataType, pa.DataType, Any]] = [
    ("9223372036854775807", pa.int64(), pa.int64(), 2**63 - 1),  # int64 max
    ("-9223372036854775808", pa.int64(), pa.int64(), -(2**63)),
    ("9223372036854775808", pa.uint64(), pa.uint64(), 2**63),  # int64 max + 1
    ("18446744073709551615", pa.uint64(), pa.uint64(), 2**64 - 1),  # uint64 max
    ("18446744073709551616", pa.decimal128(20, 0), pa.decimal128(20, 0), Decimal(2**64)),  # beyond uint64
    ("-9223372036854775809", pa.decimal128(19, 0), pa.decimal128(19, 0), Decimal(-(2**63) - 1)),
    # a long decimal: csv keeps the scale as written, JSON's value has no trailing zero
    ("12345678901234567890123456.1234567890", pa.decimal128(36, 10), pa.decimal128(35, 9),
     Decimal("12345678901234567890123456.1234567890")),
    (BIG, pa.decimal256(42, 2), pa.decimal256(42, 2), Decimal(BIG)),  # past decimal128
    ("12.50", pa.float64(), pa.float64(), 12.5),  # short decimals stay floats
    ("1e10", pa.float64(), pa.float64(), 1e10),  # exponents too
    ("0.30000000000000004", pa.float64(), pa.float64(), 0.1 + 0.2),  # and every float64 as it prints
    ("-1.7976931348623157e308", pa.float64(), pa.float64(), -1.7976931348623157e308),
    ("5e-324", pa.float64(), pa.float64(), 5e-324),
    ("1.5e-50", pa.float64(), pa.float64(), 1.5e-50),
    ("3.4028235e+38", pa.float64(), pa.float64(), 3.4028235e38),  # an exponent with its sign, as Arrow writes it
    ("2E+3", pa.float64(), pa.float64(), 2000.0),
]


def read(root: Path, home: dict[str, Any], batch_bytes: int = 32 << 20) -> pa.Table:
    h = open_home(root, home, {})
    src = h.open(MovePlan(flow="f", entity="e", source="", target="t", home=home, store={}, run_type="full_drop",
                          root=str(root), batch_bytes=batch_bytes))
    return pa.Table.from_batches(list(src.batches()), schema=src.schema)


def write(path: Path, kind: str, columns: dict[str, list[str | None]]) -> None:
    """Numbers as text, exactly as given, in a CSV or JSON lines file."""
    names = list(columns)
    rows = list(zip(*columns.values(), strict=True))
    if kind == "csv":
        lines = [",".join(names)] + [",".join("" if v is None else v for v in row) for row in rows]
    else:
        lines = ["{" + ", ".join(f'"{n}": {"null" if v is None else v}' for n, v in zip(names, row, strict=True))
                 + "}" for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_each_number_is_read_as_a_type_that_holds_it_exactly(tmp_path: Path, kind: str) -> None:
    columns = {f"c{i}": [text, None, text] for i, (text, *_) in enumerate(CASES)}
    write(tmp_path / f"t.{kind}", kind, columns)
    table = read(tmp_path, {"type": kind, "path": f"t.{kind}"})
    for i, (text, csv_type, json_type, value) in enumerate(CASES):
        column = table.column(f"c{i}")
        assert column.type == (csv_type if kind == "csv" else json_type), text
        assert column.to_pylist() == [value, None, value], text


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_whole_numbers_beside_fractions_become_a_decimal_that_holds_both(tmp_path: Path, kind: str) -> None:
    write(tmp_path / f"t.{kind}", kind, {"v": ["1.5", "18446744073709551615", "-2"]})
    table = read(tmp_path, {"type": kind, "path": f"t.{kind}"})
    assert table.schema.field("v").type == pa.decimal128(21, 1)
    assert table.column("v").to_pylist() == [Decimal("1.5"), Decimal(2**64 - 1), Decimal(-2)]


# first file, second file, the type of the entity, its values
MIXED = [
    (["1", "2"], ["2.5"], pa.float64(), [1.0, 2.0, 2.5]),  # as before: int and float make float64
    (["1234567890123456789", "2"], ["2.5"], pa.decimal128(20, 1),
     [Decimal(1234567890123456789), Decimal(2), Decimal("2.5")]),  # float64 would round the first
    (["18446744073709551615"], ["7"], pa.uint64(), [2**64 - 1, 7]),
    (["18446744073709551615"], ["-7"], pa.decimal128(20, 0), [Decimal(2**64 - 1), Decimal(-7)]),
    (["12345678901234567890.12"], ["1.125"], pa.decimal128(23, 3),
     [Decimal("12345678901234567890.12"), Decimal("1.125")]),
]


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
@pytest.mark.parametrize(("first", "second", "dtype", "values"), MIXED)
def test_files_of_one_entity_unify_into_a_type_that_holds_every_value(tmp_path: Path, kind: str, first: list[str],
                                                                       second: list[str], dtype: pa.DataType,
                                                                       values: list[Any]) -> None:
    write(tmp_path / "in" / f"a.{kind}", kind, {"v": list(first)})
    write(tmp_path / "in" / f"b.{kind}", kind, {"v": list(second)})
    table = read(tmp_path, {"type": kind, "path": "in"})
    assert table.schema.field("v").type == dtype
    assert table.column("v").to_pylist() == values


def test_numbers_no_number_type_holds_are_text_in_csv_and_named_in_jsonl(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.csv", "csv", {"v": ["1234567890123456789"]})
    write(tmp_path / "in" / "b.csv", "csv", {"v": ["nan"]})  # a float NaN: no decimal holds it
    table = read(tmp_path, {"type": "csv", "path": "in"})
    assert table.schema.field("v").type == pa.string()
    assert table.column("v").to_pylist() == ["1234567890123456789", "nan"]
    write(tmp_path / "j" / "a.jsonl", "jsonl", {"v": ["1234567890123456789"]})
    write(tmp_path / "j" / "b.jsonl", "jsonl", {"v": ["1e-50"]})  # beyond decimal(76,38): a float
    with pytest.raises(ReadError) as caught:
        read(tmp_path, {"type": "jsonl", "path": "j"})
    text = str(caught.value)
    assert "column v" in text and "no one type holds all of them exactly" in text and "float64" in text


def long_file(path: Path, kind: str, last: str, rows: int = 40_000) -> None:
    """Short numbers, then, far past the first block types are inferred from, one that does not fit them."""
    write(path, kind, {"v": [f"{i}.5" if "." in last else str(i) for i in range(rows)] + [last]})


def test_a_csv_number_far_past_the_sample_that_float64_would_round_is_refused(tmp_path: Path) -> None:
    long_file(tmp_path / "t.csv", "csv", "12345678901234567890.5")
    home = {"type": "csv", "path": "t.csv"}
    source = open_home(tmp_path, home, {}).open(MovePlan(flow="f", entity="e", source="", target="t", home=home,
                                                          store={}, run_type="full_drop", root=str(tmp_path),
                                                          batch_bytes=1 << 16))
    assert source.schema.field("v").type == pa.float64()  # what the sample holds
    with pytest.raises(ReadError) as caught:
        read(tmp_path, home, batch_bytes=1 << 16)
    text = str(caught.value)
    assert "column v holds numbers that float64 would round" in text and "12345678901234567890.5" in text
    assert "columns: {v: decimal(21,1)}" in text
    table = read(tmp_path, {"type": "csv", "path": "t.csv", "columns": {"v": "decimal(21,1)"}}, batch_bytes=1 << 16)
    assert table.column("v")[-1].as_py() == Decimal("12345678901234567890.5")


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_whole_number_far_past_the_sample_beyond_int64_is_refused_with_the_type_that_holds_it(
        tmp_path: Path, kind: str) -> None:
    long_file(tmp_path / f"t.{kind}", kind, "18446744073709551616")
    with pytest.raises(ReadError) as caught:
        read(tmp_path, {"type": kind, "path": f"t.{kind}"}, batch_bytes=1 << 16)
    text = str(caught.value)
    assert " v " in text and "int64" in text and "18446744073709551616" in text
    assert "columns: {v: decimal(20,0)}" in text
    table = read(tmp_path, {"type": kind, "path": f"t.{kind}", "columns": {"v": "decimal(20,0)"}},
                 batch_bytes=1 << 16)
    assert table.column("v")[-1].as_py() == Decimal(2**64)


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_declared_decimal_refuses_a_value_it_cannot_hold_instead_of_wrapping(tmp_path: Path, kind: str) -> None:
    # Arrow's own parsers rescale this into decimal(38,10) by wrapping around 128 bits: 9551369208078320544...
    write(tmp_path / f"t.{kind}", kind, {"v": ["1.5", "1234567890123456789012345678901.5"]})
    home = {"type": kind, "path": f"t.{kind}", "columns": {"v": "decimal(38,10)"}}
    with pytest.raises(ReadError) as caught:
        read(tmp_path, home)
    assert "decimal(38,10) does not hold" in str(caught.value) and "decimal(32,1)" in str(caught.value)
    home["columns"] = {"v": "decimal(45,10)"}
    wide = read(tmp_path, home).column("v").to_pylist()
    assert wide == [Decimal("1.5"), Decimal("1234567890123456789012345678901.5")]


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_uint64_and_wide_decimals_survive_a_round_trip_without_declaring_them(tmp_path: Path, kind: str) -> None:
    table = pa.table({"id": pa.array([2**64 - 1, 0, None], pa.uint64()),
                      "big": pa.array([Decimal(BIG), Decimal("-0.50"), None], pa.decimal256(42, 2))})
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "t.parquet")
    assert hygge.move({"type": "parquet", "path": "in"}, {"type": kind, "path": "mid"}, "t", root=tmp_path).ok
    back = hygge.move({"type": kind, "path": "mid"}, {"type": "parquet", "path": "out"}, "t", root=tmp_path)
    assert back.ok, back.error
    out = read_target(tmp_path / "out" / "t")
    assert out.schema.field("id").type == pa.uint64() and out.column("id").to_pylist() == [2**64 - 1, 0, None]
    # the jsonl store writes decimals as strings (exact), so they come back as text unless declared
    big = [Decimal(BIG), Decimal("-0.50"), None] if kind == "csv" else [BIG, "-0.50", None]
    assert out.column("big").to_pylist() == big


def test_a_declared_field_that_fails_its_type_does_not_hide_another_fields_digits(tmp_path: Path) -> None:
    write(tmp_path / "t.jsonl", "jsonl", {"d": ["1.25"], "x": ["12345678901234567890.5"]})
    home = {"type": "jsonl", "path": "t.jsonl", "columns": {"d": "decimal(10,1)"}}
    source = open_home(tmp_path, home, {}).open(MovePlan(flow="f", entity="e", source="", target="t", home=home,
                                                          store={}, run_type="full_drop", root=str(tmp_path)))
    assert source.schema.field("x").type == pa.decimal128(21, 1)
    with pytest.raises(ReadError, match="field d"):
        list(source.batches())
