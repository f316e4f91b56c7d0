"""JSON lines: streaming reads with inferred or explicit types; part files written by Polars.

JSON has no types of its own, so a round trip through JSON lines keeps values,
not Arrow types: decimals are written as strings (exact), binary as base64,
timestamps as ISO 8601 text. Give the home `columns:` to read them back typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pjson

from hygge.core import lazy
from hygge.core.arrowtypes import as_type, extension_name, from_text, type_name
from hygge.errors import ReadError, WriteError, first_line
from hygge.formats import numbers
from hygge.formats.base import FormatReader, PartWriter, streamed
from hygge.formats.inferred import as_decimal, declaration_for, exact_json_schema
from hygge.formats.schemas import unify_inferred
from hygge.storage.blob import FilePath, stream

# Types the JSON parser cannot build from text itself; read as text, then cast.
_CAST_AFTER = (pa.types.is_date, pa.types.is_time, pa.types.is_binary)


def _parse_type(dtype: pa.DataType) -> pa.DataType:
    """The type the JSON reader builds a field of ``dtype`` as; _finish makes it ``dtype``."""
    if any(test(dtype) for test in _CAST_AFTER):
        return pa.string()
    return numbers.wide_decimal(dtype) if pa.types.is_decimal(dtype) else dtype


def _first_batch(reader: pjson.JSONStreamingReader, path: FilePath) -> pa.RecordBatch | None:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None
    except pa.ArrowInvalid as exc:
        raise _explain(exc, path) from exc


_CONVERT = re.compile(r"Failed to convert JSON to (.+?)(?:, couldn't parse:|: )(\S+)")


def _explain(exc: Exception, path: FilePath, schema: pa.Schema | None = None) -> ReadError:
    text = first_line(exc)
    if "changed from" in text:
        return ReadError(
            "a field of this JSON lines file holds different kinds of values",
            path=str(path),
            expected="one JSON type per field (after the first block of the file)",
            found=text,
            hint="set the field's type on the home, e.g. `columns: {name: string}`",
        )
    converting = _CONVERT.search(text)
    if converting and schema is not None:
        # Arrow names the type and the value, not the field: name the fields of that type.
        wanted, value = converting.groups()
        fields = [f for f in schema if str(_parse_type(f.type)) == wanted]
        if fields:
            shown = type_name(fields[0].type)
            return ReadError(
                f"a value does not fit the type of field {' or '.join(f.name for f in fields)} ({shown})",
                path=str(path),
                expected=f"{shown} (inferred from the start of the file, or set in `columns`)",
                found=value,
                hint=f"set the field's type on the home, e.g. {declaration_for(fields[0].name, value, fields[0].type)}",
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

    def _open(self, path: FilePath, schema: pa.Schema | None, block: int,
              target: pa.Schema | None = None, sample: bool = False) -> pjson.JSONStreamingReader:
        parse = pjson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error" if schema else "infer")
        try:
            return pjson.open_json(
                stream(path),
                # a sample is one block: with threads the reader would parse blocks ahead only to be closed
                read_options=pjson.ReadOptions(block_size=block, use_threads=not sample),
                parse_options=parse,
            )
        except FileNotFoundError as exc:
            raise ReadError("a file of this entity disappeared while it was being read", path=str(path)) from exc
        except (pa.ArrowException, OSError) as exc:
            raise _explain(exc, path, target) from exc

    def schema_of(self, path: FilePath) -> pa.Schema:
        fixed = self._fixed()
        if path.stat().st_size == 0:  # no lines: only the declared fields are known
            return pa.schema(list(fixed.items()), metadata={b"hygge:empty": b"1"})
        block = min(self.batch_bytes, 16 << 20)
        reader = self._open(path, None, block, sample=True)
        try:
            inferred = reader.schema
            first = _first_batch(reader, path)
        finally:
            reader.close()
        schema = pa.schema([pa.field(f.name, fixed.get(f.name, f.type)) for f in inferred])
        floats = [f.name for f in schema if pa.types.is_floating(f.type) and f.name not in fixed]
        texts = self._number_text(path, inferred, floats, block) if floats else {}
        return exact_json_schema(schema, first, texts, path)

    def _number_text(self, path: FilePath, inferred: pa.Schema, floats: list[str], block: int) -> dict[str, pa.Array]:
        """The values of the sample's float64 guesses, exactly: Arrow's JSON reader parses a number into a decimal
        from its text, so a decimal wide enough gives the digits back. Decimals of 76 digits with 38, 16 and no
        digits after the point are tried in turn; a field none holds (numbers such as 1e-50 next to 1e50:
        floats, surely) keeps float64 and is not in the answer."""
        def read(names: list[str], scale: int) -> dict[str, pa.Array] | None:
            # the other fields as inferred: a declared type has nothing to say here, and could fail the read
            wide = pa.schema([pa.field(f.name, pa.decimal256(76, scale) if f.name in names else f.type)
                              for f in inferred])
            try:
                reader = pjson.open_json(stream(path),
                                         read_options=pjson.ReadOptions(block_size=block, use_threads=False),
                                         parse_options=pjson.ParseOptions(explicit_schema=wide))
                try:
                    batch = reader.read_next_batch()
                finally:
                    reader.close()
            except StopIteration:
                return {}
            except pa.ArrowInvalid as exc:
                if "decimal" not in str(exc):
                    raise _explain(exc, path) from exc
                return None  # a number this decimal does not hold
            except (pa.ArrowException, OSError) as exc:
                raise _explain(exc, path) from exc
            return {name: batch.column(name) for name in names}

        found: dict[str, pa.Array] = {}
        pending = list(floats)
        for scale in (38, 16, 0):
            together = read(pending, scale)
            if together is None:  # one of them holds such a number: find which
                together = {}
                for name in pending:
                    together.update(read([name], scale) or {})
            found.update(together)
            pending = [name for name in pending if name not in together]
            if not pending:
                break
        return found

    def unify(self, schemas: list[tuple[FilePath, pa.Schema]]) -> pa.Schema:
        filled = [(p, s) for p, s in schemas if not (s.metadata and b"hygge:empty" in s.metadata)]
        return unify_inferred(filled or schemas[:1], self._fixed())

    def batches(self, path: FilePath, schema: pa.Schema, pieces: list[int] | None = None) -> Iterator[pa.RecordBatch]:
        if path.stat().st_size == 0:
            return
        parse_schema = pa.schema([pa.field(f.name, _parse_type(f.type)) for f in schema])
        try:
            for batch in streamed(lambda block: self._open(path, parse_schema, block, schema), self.batch_bytes):
                yield self._finish(batch, schema, path)
        except (pa.ArrowException, OSError) as exc:
            raise _explain(exc, path, schema) from exc

    @staticmethod
    def _finish(batch: pa.RecordBatch, schema: pa.Schema, path: FilePath) -> pa.RecordBatch:
        if batch.schema == schema:
            return batch
        columns = []
        for field in schema:
            column = batch.column(field.name)
            if pa.types.is_decimal(field.type) and column.type != field.type:
                column = as_decimal(column, field, path, text_ok=False)
            elif column.type != field.type:
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
    """Binary becomes base64 text: JSON has no bytes, and base64 keeps every one. Wide decimals become their text."""
    pl = lazy.polars()

    arrays = []
    changed = False
    for column in batch.columns:
        if extension_name(column.type) == "arrow.json" or pa.types.is_decimal256(column.type):
            # polars has no 256-bit decimal (it panicked); Arrow writes its digits as polars writes a decimal's
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
