"""Polish: select, drop, rename and cast columns, add constants and a load timestamp, batch by batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from hygge.core.arrowtypes import parse_type, type_name
from hygge.core.casting import cast_column
from hygge.core.config import Polish
from hygge.errors import CastError, ConfigError, ConfigProblem, ReadError, did_you_mean


class Polisher:
    """Checks a Polish against the source schema once, then reshapes every batch the same way."""

    def __init__(self, polish: Polish | dict[str, Any], schema: pa.Schema, loaded_at: datetime, *,
                 flow: str | None = None, entity: str | None = None):
        self.polish = polish if isinstance(polish, Polish) else Polish.model_validate(polish)
        self.flow, self.entity = flow, entity
        self.input_schema = schema
        names = list(schema.names)
        self._check_source_names(names)
        self._check_known("drop", self.polish.drop, names)
        keep = [n for n in names if n not in set(self.polish.drop)]
        if self.polish.select is not None:
            self._check_known("select", self.polish.select, keep)
            keep = list(self.polish.select)
        self._check_known("rename", list(self.polish.rename), keep)
        self._check_known("cast", list(self.polish.cast), keep)
        self.casts = {name: parse_type(text) for name, text in self.polish.cast.items()}
        self._check_castable(schema)
        self.columns = keep
        self.out_names = [self.polish.rename.get(n, n) for n in keep]
        self.constants: list[tuple[str, pa.Scalar]] = []
        for name, value in self.polish.constants.items():
            self.constants.append((name, pa.scalar(value) if value is not None else pa.scalar(None, pa.string())))
        if self.polish.load_timestamp:
            self.constants.append((self.polish.load_timestamp, pa.scalar(loaded_at, pa.timestamp("us", tz="UTC"))))
        final = self.out_names + [n for n, _ in self.constants]
        duplicates = sorted({n for n in final if final.count(n) > 1})
        if duplicates:
            raise self._error(f"polish would make two columns named {', '.join(duplicates)}",
                              "column names that are unique after rename and added columns",
                              ", ".join(duplicates), "rename or drop one of them")
        fields = [self._field(schema.field(name), out) for name, out in zip(keep, self.out_names, strict=True)]
        fields += [pa.field(n, s.type) for n, s in self.constants]
        self.schema = pa.schema(fields, metadata=schema.metadata)
        self.identity = self.polish.is_empty()

    def _field(self, source: pa.Field, out: str) -> pa.Field:
        if source.name in self.casts:  # the source's metadata (digits, exact types) described the old type
            return pa.field(out, self.casts[source.name], source.nullable)
        return pa.field(out, source.type, source.nullable, source.metadata)

    def _error(self, what: str, expected: str, found: str, hint: str) -> ConfigError:
        problem = ConfigProblem(what, key="polish", expected=expected, found=found, hint=hint)
        return ConfigError([problem], flow=self.flow, entity=self.entity)

    def _check_source_names(self, names: list[str]) -> None:
        """Two source columns of one name are the source's problem, not polish's: say so, whatever polish does."""
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ReadError(
                f"the source has more than one column named {', '.join(twice)}",
                flow=self.flow, entity=self.entity,
                expected="a different name for every column of the source",
                found=f"columns {', '.join(names)}" if len(names) <= 20 else f"{len(names)} columns",
                hint="rename them at the source (in a query: give each its own alias)",
            )

    def _check_castable(self, schema: pa.Schema) -> None:
        """A cast Arrow has no way to make fails before any row is read, not at the first batch."""
        for name, target in self.casts.items():
            source = schema.field(name).type
            try:
                cast_column(pa.array([], source), name, target)
            except CastError:
                raise self._error(
                    f"polish cast: column '{name}' is {type_name(source)}, which cannot be cast to {type_name(target)}",
                    f"a type {type_name(source)} converts to", type_name(target),
                    f"cast it to string first (in `columns:` on a csv home), or choose another type for {name}",
                ) from None

    def _check_known(self, step: str, wanted: list[str], names: list[str]) -> None:
        for name in wanted:
            if name not in names:
                raise self._error(
                    f"polish {step} names column '{name}', which the source does not have",
                    f"one of {', '.join(names)}", name,
                    did_you_mean(name, names) or f"fix the column name under polish: {step}",
                )

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self.identity:
            return batch
        arrays = [self._cast(name, batch.column(name)) for name in self.columns]
        arrays += [pa.repeat(scalar, batch.num_rows) for _, scalar in self.constants]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _cast(self, name: str, column: pa.Array) -> pa.Array:
        target = self.casts.get(name)
        if target is None:
            return column
        return cast_column(column, name, target, flow=self.flow, entity=self.entity)
