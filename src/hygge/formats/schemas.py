"""Comparing and unifying the schemas of many files of one entity."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from hygge.core.arrowtypes import type_name
from hygge.errors import ReadError


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


def require_same(schemas: list[tuple[Path, pa.Schema]]) -> pa.Schema:
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
    """A type that holds every value of both without loss, or None."""
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if pa.types.is_integer(a) and pa.types.is_integer(b):
        try:
            return pa.unify_schemas(
                [pa.schema([("x", a)]), pa.schema([("x", b)])], promote_options="permissive"
            ).field("x").type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
    if (pa.types.is_integer(a) and pa.types.is_floating(b)) or (pa.types.is_floating(a) and pa.types.is_integer(b)):
        # CSV inference picks int64 when a block happens to hold only whole numbers.
        return pa.float64()
    if pa.types.is_floating(a) and pa.types.is_floating(b):
        return pa.float64()
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b) and a.tz == b.tz:
        order = ["s", "ms", "us", "ns"]
        return a if order.index(a.unit) >= order.index(b.unit) else b
    return None


def unify_inferred(schemas: list[tuple[Path, pa.Schema]], fixed: dict[str, pa.DataType]) -> pa.Schema:
    """Unify schemas that were guessed from text (CSV, JSON lines): widen where lossless, else fail."""
    first_path, first = schemas[0]
    names = list(first.names)
    types = {f.name: f.type for f in first}
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
            merged = widen(types[field.name], field.type)
            if merged is None:
                raise ReadError(
                    f"column {field.name} holds different kinds of values in different files",
                    path=str(path),
                    expected=f"{type_name(types[field.name])} (as in {first_path.name})",
                    found=type_name(field.type),
                    hint=f"set its type on the home, e.g. `columns: {{{field.name}: string}}`",
                )
            types[field.name] = merged
    out = []
    for name in names:
        dtype = fixed.get(name, types[name])
        # A column empty in every sampled block has no type yet; text keeps every value.
        out.append(pa.field(name, pa.string() if pa.types.is_null(dtype) else dtype))
    return pa.schema(out)
