"""Schema drift: how the rows of this run differ from the target, and what the entity's policy does about it.

Safe defaults: a new source column is added to the target (nullable), a column
the source no longer has is filled with nulls, a type that became wider is
widened in the target, a narrower one is cast up to the target's type (quietly: the target does not
change, so that is no change to report or refuse), and
anything that could lose a value stops the move.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from hygge.core.arrowtypes import as_type, type_name
from hygge.core.config import SchemaPolicy
from hygge.errors import HyggeError

__all__ = ["Drift", "SchemaDriftError", "SchemaPolicy", "check", "compare", "conform", "fits"]


class SchemaDriftError(HyggeError):
    kind = "schema"


_INT_ORDER = [pa.int8(), pa.int16(), pa.int32(), pa.int64()]
_UINT_ORDER = [pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]
_UNITS = ["s", "ms", "us", "ns"]


def _int_digits(t: pa.DataType) -> int:
    return len(str(2 ** t.bit_width)) if pa.types.is_unsigned_integer(t) else len(str(2 ** (t.bit_width - 1)))


def fits(narrow: pa.DataType, wide: pa.DataType) -> bool:
    """Whether every value of ``narrow`` is exactly a value of ``wide``."""
    if narrow == wide:
        return True
    if pa.types.is_signed_integer(narrow) and pa.types.is_signed_integer(wide):
        return narrow.bit_width <= wide.bit_width
    if pa.types.is_unsigned_integer(narrow):
        if pa.types.is_unsigned_integer(wide):
            return narrow.bit_width <= wide.bit_width
        if pa.types.is_signed_integer(wide):
            return narrow.bit_width < wide.bit_width
    if pa.types.is_integer(narrow) and pa.types.is_decimal(wide):
        return wide.precision - wide.scale >= _int_digits(narrow)
    if pa.types.is_integer(narrow) and pa.types.is_floating(wide):
        return narrow.bit_width < {16: 11, 32: 24, 64: 53}[wide.bit_width]
    if pa.types.is_floating(narrow) and pa.types.is_floating(wide):
        return narrow.bit_width <= wide.bit_width
    if pa.types.is_decimal(narrow) and pa.types.is_decimal(wide):
        return wide.scale >= narrow.scale and wide.precision - wide.scale >= narrow.precision - narrow.scale
    if pa.types.is_timestamp(narrow) and pa.types.is_timestamp(wide):
        return narrow.tz == wide.tz and _UNITS.index(narrow.unit) <= _UNITS.index(wide.unit)
    if pa.types.is_date(narrow) and pa.types.is_timestamp(wide):
        return wide.tz is None
    if pa.types.is_string(narrow) and pa.types.is_large_string(wide):
        return True
    return bool(pa.types.is_binary(narrow) and pa.types.is_large_binary(wide))


@dataclass
class Drift:
    new: list[pa.Field] = field(default_factory=list)
    missing: list[pa.Field] = field(default_factory=list)
    widened: list[tuple[str, pa.DataType, pa.DataType]] = field(default_factory=list)  # target grows
    # Rows cast up into the target's type, losslessly: the target does not change, so this is no change to report
    # or refuse (a .tsv inferred as timestamp[s] into a parquet target that can only hold timestamp[ms]).
    narrowed: list[tuple[str, pa.DataType, pa.DataType]] = field(default_factory=list)
    lossy: list[tuple[str, pa.DataType, pa.DataType]] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.new or self.missing or self.widened or self.narrowed or self.lossy)

    def lines(self, policy: SchemaPolicy) -> list[str]:
        out = []
        for f in self.new:
            actions = {"add": "will be added to the target", "ignore": "will be ignored", "fail": "fails the move"}
            out.append(f"new column {f.name} ({type_name(f.type)}) {actions[policy.new_columns]}")
        for f in self.missing:
            action = "will be filled with nulls" if policy.missing_columns == "fill_null" else "fails the move"
            out.append(f"column {f.name} ({type_name(f.type)}) is gone from the source and {action}")
        for name, old, new in self.widened:
            action = "the target will be widened" if policy.type_changes == "widen" else "fails the move"
            out.append(f"column {name} changed from {type_name(old)} to {type_name(new)}: {action}")
        for name, old, new in self.lossy:
            out.append(f"column {name} changed from {type_name(old)} to {type_name(new)}, which could lose values")
        return out


def compare(source: pa.Schema, target: pa.Schema) -> Drift:
    drift = Drift()
    for f in source:
        if f.name not in target.names:
            drift.new.append(f)
            continue
        old = target.field(f.name).type
        if old == f.type:
            continue
        if fits(old, f.type):
            drift.widened.append((f.name, old, f.type))
        elif fits(f.type, old):
            drift.narrowed.append((f.name, old, f.type))
        else:
            drift.lossy.append((f.name, old, f.type))
    drift.missing = [f for f in target if f.name not in source.names]
    return drift


def check(drift: Drift, policy: SchemaPolicy, *, flow: str, entity: str, where: str) -> None:
    """Raise when the policy forbids a change; lossy changes are always refused."""
    refused = []
    if drift.new and policy.new_columns == "fail":
        refused += [f"new column {f.name}" for f in drift.new]
    if drift.missing and policy.missing_columns == "fail":
        refused += [f"missing column {f.name}" for f in drift.missing]
    if drift.widened and policy.type_changes == "fail":
        refused += [f"{n}: {type_name(a)} -> {type_name(b)}" for n, a, b in drift.widened]
    refused += [f"{n}: {type_name(a)} -> {type_name(b)} (could lose values)" for n, a, b in drift.lossy]
    if refused:
        raise SchemaDriftError(
            "the source's columns changed in a way the schema policy does not allow; nothing was written",
            flow=flow, entity=entity, path=where,
            expected="the target's columns, or changes the entity's `schema_policy` accepts",
            found="; ".join(refused),
            hint="fix the source, set `schema_policy:` on the entity (new_columns, missing_columns, type_changes), "
                 "or run once with --full-drop to rebuild the target",
        )


def conform(batch: pa.RecordBatch, target: pa.Schema, drift: Drift, policy: SchemaPolicy) -> pa.RecordBatch:
    """Reshape a batch to what the target takes after the policy: ignored, filled and cast columns."""
    ignore = {f.name for f in drift.new} if policy.new_columns == "ignore" else set()
    casts = {name: old for name, old, _ in drift.narrowed}
    arrays, fields = [], []
    for f in batch.schema:
        if f.name in ignore:
            continue
        column = batch.column(f.name)
        if f.name in casts:
            column = as_type(column, casts[f.name])
            f = pa.field(f.name, casts[f.name])
        arrays.append(column)
        fields.append(f)
    for f in drift.missing:
        arrays.append(pa.nulls(batch.num_rows, f.type))
        fields.append(pa.field(f.name, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def conformed_schema(source: pa.Schema, drift: Drift, policy: SchemaPolicy) -> pa.Schema:
    empty = pa.RecordBatch.from_pylist([], schema=source)
    return conform(empty, source, drift, policy).schema


def evolve_table(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Old rows in a newer shape: added columns as nulls, widened columns cast up (never lossy)."""
    arrays = []
    for f in schema:
        if f.name in table.column_names:
            arrays.append(as_type(table.column(f.name), f.type))
        else:
            arrays.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)
