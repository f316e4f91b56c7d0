"""Comparing and unifying the schemas of many files of one entity."""

from __future__ import annotations

import pyarrow as pa

from hygge.core.arrowtypes import type_name
from hygge.errors import ReadError
from hygge.formats import numbers
from hygge.storage.blob import FilePath


def plain(schema: pa.Schema) -> pa.Schema:
    """Schema without metadata and with every field nullable: what must agree across files."""
    return pa.schema([pa.field(f.name, f.type, nullable=True) for f in schema])


def describe_difference(a: pa.Schema, b: pa.Schema) -> str:
    names_a, names_b = a.names, b.names
    only_a = [n for n in names_a if n not in names_b]
    only_b = [n for n in names_b if n not in names_a]
    parts = []
    if only_a:
        parts.append(f"missing column(s) {', '.join(only_a)}")
    if only_b:
        parts.append(f"extra column(s) {', '.join(only_b)}")
    for name in names_a:
        if name in names_b:
            ta, tb = a.field(name).type, b.field(name).type
            if ta != tb:
                parts.append(f"column {name} is {type_name(tb)} instead of {type_name(ta)}")
    if not parts and names_a != names_b:
        parts.append(f"columns in another order: {', '.join(names_b)}")
    return "; ".join(parts) or "schemas differ"


def require_same(schemas: list[tuple[FilePath, pa.Schema]]) -> pa.Schema:
    first_path, first = schemas[0]
    reference = plain(first)
    for path, schema in schemas[1:]:
        if plain(schema) != reference:
            raise ReadError(
                "the files of this entity do not share one schema",
                path=str(path),
                expected=f"the schema of {first_path.name}",
                found=describe_difference(reference, plain(schema)),
                hint="make the files agree, or give each its own entity with `source:`",
            )
    return reference


def widen(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """A type that holds every value of both without loss, or None (numbers: see unify_fields)."""
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b) and a.tz == b.tz:
        order = ["s", "ms", "us", "ns"]
        return a if order.index(a.unit) >= order.index(b.unit) else b
    return None


def unify_fields(a: pa.Field, b: pa.Field, text_ok: bool) -> pa.Field | None:
    """One field for a column inferred as ``a`` in one file and ``b`` in another, or None if none holds both.

    Numbers widen by the digits their samples needed (formats/numbers.py): an integer column and a float one
    become float64 while float64 holds every integer seen, else a decimal; where no number holds both, text
    (``text_ok``: CSV, whose values are text anyway) or None.
    """
    if pa.types.is_null(a.type):
        return b
    if pa.types.is_null(b.type):
        return a
    if numbers.is_number(a.type) and numbers.is_number(b.type):
        dtype, digits = numbers.unify(a, b)
        if dtype is None:
            return pa.field(a.name, pa.string()) if text_ok else None
        return numbers.with_digits(pa.field(a.name, dtype), digits)
    merged = widen(a.type, b.type)
    return None if merged is None else pa.field(a.name, merged)


def unify_inferred(schemas: list[tuple[FilePath, pa.Schema]], fixed: dict[str, pa.DataType],
                   text_ok: bool = False) -> pa.Schema:
    """Unify schemas that were guessed from text (CSV, JSON lines): widen where lossless, else fail."""
    first_path, first = schemas[0]
    names = list(first.names)
    fields = {f.name: f for f in first}
    for path, schema in schemas[1:]:
        if schema.names != names:
            raise ReadError(
                "the files of this entity do not have the same columns",
                path=str(path),
                expected=f"columns {', '.join(names)} (as in {first_path.name})",
                found=f"columns {', '.join(schema.names)}",
                hint="make the files agree, or give each its own entity with `source:`",
            )
        for field in schema:
            if field.name in fixed:
                continue
            merged = unify_fields(fields[field.name], field, text_ok)
            if merged is None:
                known = fields[field.name]
                both_numbers = numbers.is_number(known.type) and numbers.is_number(field.type)
                raise ReadError(
                    f"column {field.name} holds different kinds of values in different files"
                    + (", and no one type holds all of them exactly" if both_numbers else ""),
                    path=str(path),
                    expected=f"{type_name(known.type)} (as in {first_path.name})",
                    found=type_name(field.type),
                    hint="set its type on the home, e.g. "
                    + (numbers.declaration(field.name, numbers.column_digits(known).merge(
                        numbers.column_digits(field)), text_ok) if both_numbers
                       else f"`columns: {{{field.name}: string}}`"),
                )
            fields[field.name] = merged
    out = []
    for name in names:
        dtype = fixed.get(name, fields[name].type)
        # A column empty in every sampled block has no type yet; text keeps every value.
        out.append(pa.field(name, pa.string() if pa.types.is_null(dtype) else dtype))
    return pa.schema(out)
