"""Which rows an incremental run or a backfill reads: one filter, pushed into SQL or applied to batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from hygge.core.arrowtypes import type_name
from hygge.errors import ConfigError, ConfigProblem, did_you_mean
from hygge.state import watermark

if TYPE_CHECKING:
    from hygge.db.sqltext import Sql

# pyarrow.compute is imported where it is used: it takes 30-50 ms to import, and many moves never need it.


@dataclass
class RowFilter:
    column: str
    after: pa.Scalar | None = None  # column > after  (the watermark, minus lookback)
    start: pa.Scalar | None = None  # column >= start (backfill --from)
    end: pa.Scalar | None = None  # column < end     (backfill --to)

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.after, self.start, self.end))

    def mask(self, batch: pa.RecordBatch) -> pa.Array:
        import pyarrow.compute as pc
        values = batch.column(self.column)
        keep = pc.is_valid(values)
        for test, bound in ((pc.greater, self.after), (pc.greater_equal, self.start), (pc.less, self.end)):
            if bound is not None:
                keep = pc.and_kleene(keep, test(values, bound.cast(values.type)))
        return pc.fill_null(keep, False)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch.filter(self.mask(batch)) if self.active else batch

    def sql(self, quote: Any) -> Sql:
        """The filter as a SQL condition; its bounds stay values until the whole statement is rendered."""
        from hygge.db.sqltext import Sql

        col = quote(self.column)
        tests = [Sql.text(f"{col} {op} ") + Sql.value(bound)
                 for op, bound in ((">", self.after), (">=", self.start), ("<", self.end)) if bound is not None]
        return Sql.join(" AND ", tests)


@dataclass
class ReadState:
    """What the journal and the command line say about which rows to read."""

    column: str | None = None
    previous: Any = None  # the encoded watermark of the last committed run
    lookback: Any = None
    window: tuple[str | None, str | None] = (None, None)
    loaded_files: dict[str, dict[str, Any]] | None = None  # files already loaded (incremental file homes)

    def picks_rows(self) -> bool:
        """Whether only some rows are read (after the watermark, or in a window): then no estimate of the whole
        source says how many."""
        return bool(self.column) and (self.previous is not None or self.window != (None, None))

    def filter_for(self, schema: pa.Schema) -> RowFilter | None:
        if not self.column:
            return None
        if self.column not in schema.names:
            raise ConfigError([ConfigProblem(
                f"watermark column '{self.column}' is not in the source",
                key="watermark", expected=f"one of {', '.join(schema.names)}", found=self.column,
                hint=did_you_mean(self.column, schema.names) or "fix `watermark:` on the entity")])
        dtype = schema.field(self.column).type
        if not watermark.supported(dtype):
            raise ConfigError([ConfigProblem(
                f"watermark column '{self.column}' is {type_name(dtype)}", key="watermark",
                expected="an integer, date or timestamp column", found=type_name(dtype),
                hint="choose a column that grows with every change, such as updated_at")])
        rows = RowFilter(self.column)
        previous = watermark.decode(self.previous)
        if previous is not None and self.window == (None, None):
            rows.after = watermark.lower_bound(previous.cast(dtype), watermark.parse_lookback(self.lookback, dtype,
                                                                                               self.column))
        rows.start = watermark.parse_bound(self.window[0], dtype, self.column)
        rows.end = watermark.parse_bound(self.window[1], dtype, self.column)
        return rows
