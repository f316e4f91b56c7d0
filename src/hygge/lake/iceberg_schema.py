"""An Iceberg table's columns after a run: the schema policy's decisions mapped to Iceberg schema evolution.

``full_drop`` gives the table exactly the rows' columns (a column whose stored type changes is dropped and
added again, in the same commit as the data that replaces it). ``append`` and ``merge`` add new columns
and widen columns where Iceberg can promote the stored type (int to long, float to double, a decimal's
precision); a widening Iceberg cannot do in place fails before anything is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from hygge.core.drift import Drift
from hygge.errors import WriteError
from hygge.lake.iceberg_types import ARROW_SCHEMA, encode, read_schema, to_iceberg

if TYPE_CHECKING:
    from pyiceberg.schema import Schema
    from pyiceberg.table import Transaction
    from pyiceberg.types import NestedField


def after_run(existing: pa.Schema | None, rows: pa.Schema, mode: str, drift: Drift | None) -> pa.Schema:
    """The table's exact Arrow schema once this run is committed."""
    if existing is None or mode == "full_drop":
        return rows
    widened = {name: new for name, _, new in (drift.widened if drift else [])}
    fields = [pa.field(f.name, widened[f.name], f.nullable) if f.name in widened else f for f in existing]
    # New columns hold nulls in every row committed before them.
    fields += [pa.field(f.name, f.type, True) for f in rows if f.name not in existing.names]
    return pa.schema(fields)


def _arrow_of(field: NestedField) -> pa.DataType:
    from pyiceberg.schema import Schema

    return read_schema(Schema(field)).field(0).type


def _same(a: NestedField, b: NestedField) -> bool:
    return a.required == b.required and _arrow_of(a).equals(_arrow_of(b))


def evolve(tx: Transaction, exact: pa.Schema, stored: pa.Schema, mode: str, version: int, entity: str,
           where: str) -> None:
    """Stage the schema changes (and the exact Arrow schema property) that make ``tx``'s table hold ``exact``."""
    target = to_iceberg(stored, version)
    current = tx.table_metadata.schema()
    if mode == "full_drop":
        gone = [f.name for f in current.fields
                if f.name not in stored.names or not _same(f, target.find_field(f.name))]
        if gone:
            with tx.update_schema(allow_incompatible_changes=True) as update:
                for name in gone:
                    update.delete_column(name)
            current = tx.table_metadata.schema()
    names = {f.name for f in current.fields}
    added = [f for f in target.fields if f.name not in names]
    changed = [f for f in target.fields if f.name in names and not _same(f, current.find_field(f.name))]
    if added or changed:
        _change(tx, added, changed, mode, entity, where, current)
    if mode == "full_drop" and [f.name for f in tx.table_metadata.schema().fields] != stored.names:
        with tx.update_schema() as update:
            update.move_first(stored.names[0])
            for before, name in zip(stored.names, stored.names[1:], strict=False):
                update.move_after(name, before)
    if tx.table_metadata.properties.get(ARROW_SCHEMA) != encode(exact):
        tx.set_properties({ARROW_SCHEMA: encode(exact)})


def _change(tx: Transaction, added: list[NestedField], changed: list[NestedField], mode: str, entity: str,
            where: str, current: Schema) -> None:
    from pyiceberg.exceptions import ValidationError

    try:
        with tx.update_schema(allow_incompatible_changes=mode == "full_drop") as update:
            for f in changed:
                update.update_column(f.name, field_type=f.field_type)
            for f in added:
                update.add_column(f.name, f.field_type, required=f.required and mode == "full_drop")
    except (ValidationError, ValueError) as exc:
        old = ", ".join(f"{f.name}: {current.find_field(f.name).field_type} -> {f.field_type}" for f in changed)
        raise WriteError(
            "Iceberg cannot change these columns in place; nothing was written",
            entity=entity, path=where, expected="int -> long, float -> double, or a decimal's precision growing",
            found=old or str(exc).splitlines()[0],
            hint="run once with --full-drop to rebuild the table with the new columns, or cast them at the source",
        ) from None


def same_ids(a: Schema, b: Schema) -> bool:
    """Whether data files written for schema ``a`` are files of schema ``b`` (same fields, ids and types)."""
    return bool(a.as_struct() == b.as_struct())
