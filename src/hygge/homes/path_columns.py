"""Columns a file Home takes from where each file is: `file_column` (its path) and `hive_columns` (`year=2024/`).

Both hold text. A hive value is the text of a folder name, and text keeps it as written: `month=01` stays `01`,
where a number would make it 1 and a date guess could make `2024-13` fail. Type them with polish `cast:`.
Hive columns are found over every file of the entity (not only this run's), so their set does not change from
one incremental run to the next; a file outside a `key=value` folder holds nulls in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

import pyarrow as pa

from hygge.errors import ReadError

# What Hive and Spark write for a null partition value.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def hive_pairs(relative: str) -> list[tuple[str, str | None]]:
    """The `key=value` folders of a path relative to the Home's path, outermost first; values percent-decoded."""
    pairs: list[tuple[str, str | None]] = []
    for part in relative.split("/")[:-1]:
        key, sep, value = part.partition("=")
        if sep and key:
            text = unquote(value)
            pairs.append((unquote(key), None if text == HIVE_NULL else text))
    return pairs


@dataclass
class PathColumns:
    file_column: str | None
    hive: list[str] = field(default_factory=list)
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)  # relative path: column: value

    @classmethod
    def of(cls, relative: dict[str, str], file_column: str | None, hive: bool) -> PathColumns | None:
        """The path columns of these files (shown name: path relative to the Home), or None when none are asked."""
        if not file_column and not hive:
            return None
        columns = cls(file_column)
        for shown, rel in relative.items():
            pairs = dict(hive_pairs(rel)) if hive else {}
            columns.hive += [key for key in pairs if key not in columns.hive]
            columns.values[shown] = {**pairs, **({file_column: rel} if file_column else {})}
        return columns

    def fields(self) -> list[pa.Field]:
        names = [*self.hive, *([self.file_column] if self.file_column else [])]
        return [pa.field(name, pa.string()) for name in names]

    def extend(self, schema: pa.Schema, where: str) -> pa.Schema:
        """The files' schema with these columns after it; a name the files already use is refused."""
        taken = [f.name for f in self.fields() if f.name in schema.names]
        if self.file_column and self.hive.count(self.file_column):
            taken.append(self.file_column)
        if taken:
            raise ReadError(
                f"column {', '.join(sorted(set(taken)))} would be both a column of the files and a column from "
                "their path",
                path=where,
                expected="names of their own for `file_column` and for hive folders (key=value)",
                found=f"columns {', '.join(schema.names)}" if len(schema) <= 20 else f"{len(schema)} columns",
                hint="choose another `file_column`, or turn `hive_columns` off and keep the files' own column",
            )
        return pa.schema([*schema, *self.fields()], metadata=schema.metadata)

    def add(self, batch: pa.RecordBatch, shown: str, schema: pa.Schema) -> pa.RecordBatch:
        """``batch`` of the file ``shown`` with its path columns, one repeated value each."""
        found = self.values[shown]
        extra = [pa.repeat(pa.scalar(found.get(f.name), pa.string()), batch.num_rows) for f in self.fields()]
        return pa.RecordBatch.from_arrays([*batch.columns, *extra], schema=schema)
