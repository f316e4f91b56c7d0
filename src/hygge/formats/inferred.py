"""Columns whose types were guessed from text (CSV, JSON lines): made exact where Arrow guessed float64.

Arrow reads every number that is not an int64 as float64. Here the guess is checked against the text of the
sample (formats/numbers.py says which type holds it), and each field records the digits its values need, so
that the files of one entity unify into a type that holds all of them (formats/schemas.py).
"""

from __future__ import annotations

import re

import pyarrow as pa

from hygge.core.arrowtypes import type_name
from hygge.errors import ReadError, first_line
from hygge.formats import numbers
from hygge.storage.blob import FilePath


def exact_schema(schema: pa.Schema, sample: pa.RecordBatch | None, floats: list[str]) -> pa.Schema:
    """``schema`` as inferred from a file's sample, with each float64 guess (``floats``, read as text in
    ``sample``) replaced by the type its text needs (text itself when no number holds it), and the digits of
    every inferred number recorded. Integer columns take their digits from their values in ``sample``."""
    fields = []
    for field in schema:
        if field.name in floats and sample is not None:
            text = sample.column(field.name)
            digits = _float_digits(text) or numbers.digits_of_text(text)
            exact = numbers.exact_type(digits, text)
            field = numbers.with_digits(field, digits, exact) if exact is not None else pa.field(field.name,
                                                                                                 pa.string())
        elif sample is not None and pa.types.is_integer(field.type) and field.name in sample.schema.names:
            field = numbers.with_digits(field, numbers.digits_of_ints(sample.column(field.name)))
        fields.append(field)
    return pa.schema(fields, metadata=schema.metadata)


def exact_json_schema(schema: pa.Schema, first: pa.RecordBatch | None, values: dict[str, pa.Array],
                      path: FilePath) -> pa.Schema:
    """``schema`` as inferred from a JSON lines file's sample, with each float64 guess whose exact values are
    known (``values``, as decimals) replaced by the type that holds them, and the digits of every inferred
    number recorded. JSON has no text type for numbers: where no number holds them, the field is named."""
    fields = []
    for field in schema:
        if field.name in values:
            exact_values = values[field.name]
            text = numbers.decimal_text(exact_values)
            floats = first.column(field.name) if first is not None else text.cast(pa.float64())
            digits = (numbers.float_digits(text, floats, written=False)
                      or numbers.digits_of_text(text, written=False))
            exact = numbers.exact_type(digits, exact_values, written=False)
            if exact is None:
                raise ReadError(
                    f"field {field.name} holds numbers that no number type holds exactly",
                    path=str(path),
                    expected="numbers of at most 17 significant digits (float64) or 76 digits (decimal)",
                    found=f"numbers of up to {digits.significant} significant digits",
                    hint=f"declare the field on the home, e.g. {numbers.declaration(field.name, digits, False)}",
                )
            field = numbers.with_digits(field, digits, exact)
        elif first is not None and pa.types.is_integer(field.type) and field.name in first.schema.names:
            field = numbers.with_digits(field, numbers.digits_of_ints(first.column(field.name)))
        fields.append(field)
    return pa.schema(fields, metadata=schema.metadata)


def _float_digits(text: pa.Array) -> numbers.Digits | None:
    try:
        floats = text.cast(pa.float64())
    except pa.ArrowInvalid:
        return None  # text Arrow parsed as a float only in its own CSV dialect: take it apart
    return numbers.float_digits(text, floats)


def as_numbers(batch: pa.RecordBatch, schema: pa.Schema, path: FilePath, text_ok: bool) -> pa.RecordBatch:
    """The batch with each column read as text or a wide decimal turned into its type in ``schema``: a float64
    guess whose value it would round, or a value its decimal does not hold, is refused, naming the column and
    the type that holds it. (Columns already of their type pass as they are.)"""
    columns, fields = list(batch.columns), list(batch.schema)
    for index, (field, column) in enumerate(zip(schema, batch.columns, strict=True)):
        if column.type == field.type:
            continue
        if pa.types.is_floating(field.type):
            columns[index] = _as_float(column, field.name, path)
        else:
            columns[index] = as_decimal(column, field, path, text_ok)
        fields[index] = pa.field(field.name, field.type)
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, metadata=batch.schema.metadata))


def _as_float(text: pa.Array, name: str, path: FilePath) -> pa.Array:
    try:
        values = text.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        found = _PARSED.search(first_line(exc))
        raise ReadError(
            f"column {name} has a value that is not float64",
            path=str(path),
            expected="float64 (inferred from the start of the files, or set in `columns`)",
            found=first_line(exc),
            hint=text_hint(name, found.group(1) if found else ""),
        ) from exc
    lost = numbers.rounded(text, values)
    if len(lost):
        raise rounding_error(name, lost, numbers.digits_of_text(text), path, text_ok=True)
    return values


_PARSED = re.compile(r"Failed to parse string: '(.*)' as a scalar")


def text_hint(name: str, value: str) -> str:
    """The fix for text in a column of numbers: a word for "no value" is a null; otherwise the column is text."""
    missing = (f"if '{value}' stands for a missing value, add it to `null_values` on the home; otherwise "
               if value and not any(ch.isdigit() for ch in value) else "")
    return (f"{missing}read column {name} as text with `columns: {{{name}: string}}` (and type it with polish "
            "`cast:` where that is wanted)")


def as_decimal(values: pa.Array, field: pa.Field, path: FilePath, text_ok: bool) -> pa.Array:
    try:
        return numbers.to_decimal(values, field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        text = values.cast(pa.string())
        digits = numbers.digits_of_text(text, written=pa.types.is_string(values.type))
        raise ReadError(
            f"{'column' if text_ok else 'field'} {field.name} has a value that {type_name(field.type)} does not hold",
            path=str(path),
            expected=f"{type_name(field.type)} (inferred from the start of the files, or set in `columns`)",
            found=first_line(exc),
            hint=f"set the column's type on the home, e.g. {numbers.declaration(field.name, digits, text_ok)}",
        ) from exc


def rounding_error(name: str, lost: pa.Array, digits: numbers.Digits, path: FilePath, text_ok: bool) -> ReadError:
    shown = ", ".join(str(v) for v in lost.slice(0, 3).to_pylist())
    more = f" and {len(lost) - 3:,} more" if len(lost) > 3 else ""
    return ReadError(
        f"column {name} holds numbers that float64 would round",
        path=str(path),
        expected="numbers of at most 17 significant digits within float64's range, as at the start of the files "
                 "(where its type was inferred)",
        found=f"{shown}{more}",
        hint=f"declare the column on the home, e.g. {numbers.declaration(name, digits, text_ok)}",
    )


def declaration_for(name: str, value: str, current: pa.DataType | None = None) -> str:
    """The `columns:` entry for a column of type ``current`` that met ``value``, which that type does not hold."""
    digits = numbers.digits_of_text(pa.array([value], pa.string())) if value else None
    if digits is None or digits.special or not digits.significant:
        return f"`columns: {{{name}: string}}`"
    if current is not None and pa.types.is_decimal(current):
        digits = digits.merge(numbers.column_digits(pa.field(name, current)))
        return numbers.declaration(name, digits, text_ok=True)
    if digits.whole:
        widest = numbers.decimal_type(max(digits.integer, 19), 0)
        return f"`columns: {{{name}: {type_name(widest)}}}`" if widest else f"`columns: {{{name}: string}}`"
    if digits.fits_float():
        return f"`columns: {{{name}: float64}}`"
    return numbers.declaration(name, digits, text_ok=True)
