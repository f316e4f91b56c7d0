"""JSON lines: streaming reads with inferred or explicit types; part files written by Polars.

JSON has no types of its own, so a round trip through JSON lines keeps values,
not Arrow types: decimals are written as strings (exact), binary as base64,
timestamps as ISO 8601 text. Give the home `columns:` to read them back typed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pjson

from hygge.core import lazy
from hygge.core.arrowtypes import as_type, extension_name, from_text, type_name
from hygge.errors import ReadError, WriteError, first_line
from hygge.formats.base import FormatReader, PartWriter, streamed
from hygge.formats.schemas import unify_inferred

# Types the JSON parser cannot build from text itself; read as text, then cast.
_CAST_AFTER = (pa.types.is_date, pa.types.is_time, pa.types.is_binary)


def _explain(exc: Exception, path: Path) -> ReadError:
    text = first_line(exc)
    if "changed from" in text:
        return ReadError(
            "a field of this JSON lines file holds different kinds of values",
            path=str(path),
            expected="one JSON type per field (after the first block of the file)",
            found=text,
            hint="set the field's type on the home, e.g. `columns: {name: string}`",
        )
    return ReadError(
        "this JSON lines file could not be parsed",
        path=str(path),
        expected="one JSON object per line",
        found=text,
        hint="fix the line named above, or move the file out of the home folder",
    )


class JsonlReader(FormatReader):
    extensions = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")

    def _fixed(self) -> dict[str, pa.DataType]:
        from hygge.core.arrowtypes import parse_type

        return {name: parse_type(text) for name, text in self.options.columns.items()}

    def _open(self, path: Path, schema: pa.Schema | None, block: int) -> pjson.JSONStreamingReader:
        parse = pjson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error" if schema else "infer")
        try:
            return pjson.open_json(
                str(path),
                read_options=pjson.ReadOptions(block_size=block),
                parse_options=parse,
            )
        except FileNotFoundError as exc:
            raise ReadError("a file of this entity disappeared while it was being read", path=str(path)) from exc
        except (pa.ArrowException, OSError) as exc:
            raise _explain(exc, path) from exc

    def schema_of(self, path: Path) -> pa.Schema:
        fixed = self._fixed()
        if path.stat().st_size == 0:  # no lines: only the declared fields are known
            return pa.schema(list(fixed.items()), metadata={b"hygge:empty": b"1"})
        reader = self._open(path, None, min(self.batch_bytes, 16 << 20))
        try:
            inferred = reader.schema
        finally:
            reader.close()
        return pa.schema([pa.field(f.name, fixed.get(f.name, f.type)) for f in inferred])

    def unify(self, schemas: list[tuple[Path, pa.Schema]]) -> pa.Schema:
        filled = [(p, s) for p, s in schemas if not (s.metadata and b"hygge:empty" in s.metadata)]
        return unify_inferred(filled or schemas[:1], self._fixed())

    def batches(self, path: Path, schema: pa.Schema, pieces: list[int] | None = None) -> Iterator[pa.RecordBatch]:
        if path.stat().st_size == 0:
            return
        parse_schema = pa.schema(
            [pa.field(f.name, pa.string() if any(t(f.type) for t in _CAST_AFTER) else f.type) for f in schema]
        )
        try:
            for batch in streamed(lambda block: self._open(path, parse_schema, block), self.batch_bytes):
                yield self._finish(batch, schema, path)
        except (pa.ArrowException, OSError) as exc:
            raise _explain(exc, path) from exc

    @staticmethod
    def _finish(batch: pa.RecordBatch, schema: pa.Schema, path: Path) -> pa.RecordBatch:
        if batch.schema == schema:
            return batch
        columns = []
        for field in schema:
            column = batch.column(field.name)
            if column.type != field.type:
                try:
                    binary = pa.types.is_binary(field.type)
                    column = _from_base64(column) if binary else from_text(column, field.type)
                except (pa.ArrowException, ValueError) as exc:
                    raise ReadError(
                        f"field {field.name} has a value that is not {type_name(field.type)}",
                        path=str(path),
                        expected=type_name(field.type),
                        found=str(exc).splitlines()[0],
                        hint="fix the value, or change the field's type under `columns`",
                    ) from exc
            columns.append(column)
        return pa.RecordBatch.from_arrays(columns, schema=schema)


def _from_base64(column: pa.Array) -> pa.Array:
    pl = lazy.polars()

    series = pl.from_arrow(column)
    assert isinstance(series, pl.Series)
    return series.str.decode("base64").to_arrow().cast(pa.binary())


def _to_polars_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Binary becomes base64 text: JSON has no bytes, and base64 keeps every one."""
    pl = lazy.polars()

    arrays = []
    changed = False
    for column in batch.columns:
        if extension_name(column.type) == "arrow.json":
            column = as_type(column, pa.string())
            changed = True
        elif pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            series = pl.from_arrow(column)
            assert isinstance(series, pl.Series)
            column = series.bin.encode("base64").to_arrow()
            changed = True
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names) if changed else batch


class JsonlPartWriter(PartWriter):
    def __init__(self, path: Path, schema: pa.Schema, options: Any):
        super().__init__(path, schema, options)
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()

    @classmethod
    def check_schema(cls, schema: pa.Schema) -> list[str]:
        bad = (pa.types.is_dictionary, pa.types.is_fixed_size_binary, pa.types.is_duration, pa.types.is_map)

        def refused(t: pa.DataType) -> bool:
            name = extension_name(t)
            return name != "arrow.json" if name else any(test(t) for test in bad)

        return [f"{f.name} ({type_name(f.type)})" for f in schema if refused(f.type)]

    def write(self, batch: pa.RecordBatch) -> None:
        pl = lazy.polars()

        for field in batch.schema:
            if pa.types.is_floating(field.type):
                column = batch.column(field.name)
                if pc.any(pc.or_(pc.is_nan(column), pc.is_inf(column))).as_py():
                    raise WriteError(
                        f"column {field.name} holds NaN or infinity, which JSON cannot represent",
                        path=str(self.path),
                        expected="finite numbers or null",
                        found="NaN or infinity",
                        hint="write this entity to parquet, or replace those values at the source",
                    )
        frame = pl.from_arrow(_to_polars_ready(batch))
        assert isinstance(frame, pl.DataFrame)
        frame.write_ndjson(self._file)
        self.rows += batch.num_rows

    def size(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()
