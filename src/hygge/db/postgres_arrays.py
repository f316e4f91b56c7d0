"""PostgreSQL arrays with more than one dimension, which the driver would hand over flattened.

A PostgreSQL array column does not fix its number of dimensions: ``int[]`` can hold
``{1,2}`` and ``{{1,2},{3,4}}``, and the ADBC driver reads both as a flat list. Columns
declared with more dimensions (``int[][]``) are read as JSON into lists of lists
(postgres.py). For the others every read counts each value's dimensions on the server
(``array_ndims``, a look at the array's header) and fails naming the column when a value
has more than one, instead of flattening it.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from hygge.errors import ReadError

PREFIX = "hygge_ndims_"


def with_dimensions(quote: Callable[[str], str], sql: str, schema: pa.Schema | None) -> tuple[str, list[str]]:
    """The query with each one-level list column's dimension count appended; and the names of those columns."""
    if schema is None:
        return sql, []
    flat = [f.name for f in schema if (pa.types.is_list(f.type) or pa.types.is_large_list(f.type))
            and not pa.types.is_nested(f.type.value_type)]
    if not flat:
        return sql, []
    counts = ", ".join(f"array_ndims(hygge_a.{quote(name)}) AS {quote(PREFIX + str(i))}" for i, name in enumerate(flat))
    return f"SELECT hygge_a.*, {counts} FROM ({sql}) hygge_a", flat


def one_dimension(batch: pa.RecordBatch, flat: list[str]) -> pa.RecordBatch:
    """The batch without the dimension counts, once they say every list has at most one dimension."""
    width = batch.num_columns - len(flat)
    for i, name in enumerate(flat):
        counts = batch.column(width + i)
        most = pc.max(counts).as_py()
        if most is not None and most > 1:
            row = pc.index(pc.greater(counts, 1), True).as_py()
            raise ReadError(
                f"column {name} holds an array of {most} dimensions, which would arrive flattened",
                expected="arrays of one dimension, as the column is declared",
                found=f"{pc.sum(pc.greater(counts, 1)).as_py():,} such value(s); the first is in row {row + 1:,} "
                      "of its batch",
                hint=f"declare the column with its dimensions (ALTER TABLE ... ALTER COLUMN {name} TYPE "
                     f"int[][], for example) so hygge reads lists of lists, or read it with a `query:` that turns "
                     f"it into text ({name}::text) or JSON (array_to_json({name}))")
    return batch.select(range(width))
