"""CSV: streaming reads with explicit options and a schema unified across files; part files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from hygge.core.arrowtypes import as_type, extension_name, type_name, utc_as_naive_text
from hygge.errors import ReadError, WriteError
from hygge.formats.base import FormatReader, PartWriter, streamed
from hygge.formats.csv_errors import COLUMN, check_names, explain, header_moved
from hygge.formats.datetimes import formatted_type, parse_formatted
from hygge.formats.inferred import as_numbers, exact_schema
from hygge.formats.quarantine import Quarantine
from hygge.formats.quotes import QuoteTally, needle, unclosed_quote
from hygge.formats.schemas import unify_inferred
from hygge.storage.blob import Blob, FilePath, stream


def _read_options(options: Any, block: int, names: list[str] | None = None, sample: bool = False) -> pcsv.ReadOptions:
    column_names = names if names is not None else options.column_names
    return pcsv.ReadOptions(
        block_size=block,
        skip_rows=options.skip_rows,
        column_names=column_names,
        autogenerate_column_names=not options.header and not column_names,
        encoding=options.encoding,
        # A sample is one block: with threads the reader parses blocks ahead, and reading the first batch of a
        # 114 MB file parsed all of it (2 s) only to be closed.
        use_threads=not sample,
    )


def _parse_options(options: Any, delimiter: str, quarantine: Quarantine | None = None, record: bool = True,
                   one_column: bool = False) -> pcsv.ParseOptions:
    quote = options.quote if options.quote else False
    return pcsv.ParseOptions(
        delimiter=delimiter,
        quote_char=quote,
        double_quote=options.double_quote,
        escape_char=options.escape or False,
        newlines_in_values=options.newlines_in_values,
        # In a file of one column an empty line is a row whose value is null: that is how the csv store writes it
        # (RFC 4180 agrees). With more columns an empty line holds no row, and is skipped.
        ignore_empty_lines=not one_column,
        # Sampling for types skips bad rows too, but only the real read sets them aside.
        invalid_row_handler=(quarantine.handler if record else _skip) if quarantine else None,
    )


def _convert_options(options: Any, column_types: dict[str, pa.DataType],
                     include: list[str] | None = None) -> pcsv.ConvertOptions:
    kwargs: dict[str, Any] = {"include_columns": include} if include else {}
    if options.true_values:
        kwargs["true_values"] = options.true_values
    if options.false_values:
        kwargs["false_values"] = options.false_values
    return pcsv.ConvertOptions(
        column_types=column_types,
        null_values=options.null_values,
        strings_can_be_null=True,
        # A quoted empty field is an empty string, an unquoted one is null:
        # this is how the CSV store writes them, so round trips keep both.
        quoted_strings_can_be_null=False,
        **kwargs,
    )


def _skip(row: Any) -> str:
    return "skip"


def _first_batch(reader: pcsv.CSVStreamingReader) -> pa.RecordBatch | None:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None


def _as_text(field: pa.Field, fixed: dict[str, pa.DataType]) -> bool:
    """Whether a column is read as text and parsed by inferred.as_numbers rather than by the CSV reader."""
    return pa.types.is_decimal(field.type) or (pa.types.is_floating(field.type) and field.name not in fixed)


class CsvReader(FormatReader):
    extensions = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".csv.bz2", ".csv.zst")
    quarantine: Quarantine | None = None

    def _fixed(self) -> dict[str, pa.DataType]:
        """The declared types: `columns`, and the date or timestamp each of `formats` reads."""
        from hygge.core.arrowtypes import parse_type

        fixed = {name: parse_type(text) for name, text in self.options.columns.items()}
        for name, fmt in self._formats().items():
            fixed[name] = formatted_type(fmt, fixed.get(name))
        return fixed

    def _formats(self) -> dict[str, str]:
        return dict(getattr(self.options, "formats", None) or {})

    def delimiter(self, path: FilePath) -> str:
        """The home's `delimiter`; a .tsv file left at the default is read with tabs, as its name says."""
        if "delimiter" not in self.options.model_fields_set and path.name.lower().endswith((".tsv", ".tsv.gz")):
            return "\t"
        return str(self.options.delimiter)

    def _open(self, path: FilePath, column_types: dict[str, pa.DataType], block: int, sample: bool = False,
              one_column: bool = False, include: list[str] | None = None,
              schema: pa.Schema | None = None, tally: QuoteTally | None = None) -> pcsv.CSVStreamingReader:
        try:
            return pcsv.open_csv(
                stream(path) if tally is None else pa.PythonFile(tally, mode="r"),
                read_options=_read_options(self.options, block, sample=sample),
                parse_options=_parse_options(self.options, self.delimiter(path), self.quarantine,
                                             record=not sample, one_column=one_column),
                convert_options=_convert_options(self.options, column_types, include),
            )
        except FileNotFoundError as exc:
            raise ReadError("a file of this entity disappeared while it was being read", path=str(path)) from exc
        except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
            raise explain(exc, path, schema) from exc

    def schema_of(self, path: FilePath) -> pa.Schema:
        fixed = self._fixed()
        # Types are inferred from the first block: a large one (up to 16 MB) samples more rows.
        block = min(self.batch_bytes, 16 << 20)
        # Arrow's CSV reader parses no decimal256, and wraps 128-bit ones: declared decimals are read as text, and
        # so are dates and times in a format of their own.
        formats = self._formats()
        readable = {name: pa.string() if pa.types.is_decimal(t) or name in formats else t for name, t in fixed.items()}
        try:
            reader = self._open(path, readable, block, sample=True)
        except ReadError as exc:
            raise self._named(exc, path, fixed, block) from exc.__cause__
        try:
            schema = reader.schema
        finally:
            reader.close()
        check_names(schema, path, self.options.header)
        # pyarrow infers bytes that are not valid in the encoding as binary; text was meant.
        garbled = [f.name for f in schema if pa.types.is_binary(f.type) and f.name not in fixed]
        if garbled:
            raise ReadError(
                "this CSV file is not in the expected text encoding",
                path=str(path),
                expected=f"text in {self.options.encoding}",
                found=f"bytes that are not {self.options.encoding} in column(s) {', '.join(garbled)}",
                hint="set `encoding:` on the home (for example latin-1 or cp1252)",
            )
        # float64 is Arrow's guess for every number but an int64: the text of the sample says which type holds
        # them; and the digits of every number are noted, for unifying files (formats/inferred.py)
        floats = [f.name for f in schema if pa.types.is_floating(f.type) and f.name not in fixed]
        sampled = [f.name for f in schema if f.name not in fixed and (f.name in floats or pa.types.is_integer(f.type))]
        sample = None
        if sampled:
            types = {f.name: pa.string() if f.name in floats else f.type for f in schema if f.name in sampled}
            reader = self._open(path, types, block, sample=True, include=sampled)
            try:
                sample = _first_batch(reader)
            finally:
                reader.close()
        exact = exact_schema(schema, sample, floats)
        return pa.schema([pa.field(f.name, fixed[f.name]) if f.name in fixed else f for f in exact],
                         metadata=exact.metadata)

    def _named(self, error: ReadError, path: FilePath, fixed: dict[str, pa.DataType], block: int) -> ReadError:
        """A declared type that a value of the sample does not read, said with the column's name: the header is
        read again without declared types (every value then reads as something)."""
        cause = error.__cause__
        if not isinstance(cause, Exception) or not COLUMN.search(str(cause)):
            return error
        try:
            reader = self._open(path, {}, block, sample=True)
        except ReadError:
            return error
        try:
            header = reader.schema
        finally:
            reader.close()
        schema = pa.schema([pa.field(f.name, fixed.get(f.name, f.type)) for f in header])
        return explain(cause, path, schema)

    def unify(self, schemas: list[tuple[FilePath, pa.Schema]]) -> pa.Schema:
        fixed = self._fixed()
        unknown = [name for name in fixed if name not in schemas[0][1].names]
        if unknown:
            from hygge.errors import did_you_mean

            key = "formats" if all(name in self._formats() for name in unknown) else "columns"
            raise ReadError(
                f"`{key}` names {', '.join(unknown)}, which the CSV header does not have",
                path=str(schemas[0][0]),
                expected=f"one of {', '.join(schemas[0][1].names)}",
                found=", ".join(unknown),
                hint=did_you_mean(unknown[0], schemas[0][1].names) or f"fix the names under `{key}`",
            )
        return unify_inferred(schemas, fixed, text_ok=True)

    def _tally(self, path: FilePath) -> QuoteTally | None:
        """A fresh count of the quotes in the file, or None where counting says nothing (no quote character, or
        an escape character, which may stand before a quote)."""
        quote = self.options.quote
        if not quote or self.options.escape:
            return None
        # the bytes the reader parses: a compressed file's are counted as they come out of its codec
        inner = path.open_input_stream() if isinstance(path, Blob) else pa.input_stream(str(path))
        return QuoteTally(inner, needle(quote, self.options.encoding))

    def _recount(self, path: FilePath) -> QuoteTally | None:
        """The quotes of the whole file, counted anew: after a parse error the reader stopped short of the end.
        None when there is nothing to count or the file cannot be read again."""
        tally = self._tally(path)
        if tally is None:
            return None
        try:
            tally.drain()
        except (pa.ArrowException, OSError):
            return None  # the reader's own error is the one to tell
        finally:
            tally.close()
        return tally

    def _refuse_unclosed(self, path: FilePath, tally: QuoteTally | None) -> None:
        if tally is not None and tally.odd():
            raise unclosed_quote(str(path), str(self.options.quote), tally.count)

    def batches(self, path: FilePath, schema: pa.Schema, pieces: list[int] | None = None) -> Iterator[pa.RecordBatch]:
        fixed, formats = self._fixed(), self._formats()
        # Inferred float64 columns and every decimal are read as their text and parsed here (inferred.as_numbers):
        # no digit float64 would lose goes unnoticed, even in rows far past the sample, and no decimal wraps.
        # Columns of `formats` are read as text too, and parsed by their format (formats/datetimes.py).
        types = {f.name: pa.string() if _as_text(f, fixed) or f.name in formats else f.type for f in schema}
        exact = any(_as_text(f, fixed) for f in schema)
        one_column = len(schema) == 1
        recorded = len(self.quarantine.rows) if self.quarantine else 0

        def forget() -> None:  # the file is read again from its start: its bad rows will be met again
            if self.quarantine:
                del self.quarantine.rows[recorded:]

        tally: QuoteTally | None = None

        def open_reader(block: int) -> pcsv.CSVStreamingReader:
            nonlocal tally
            tally = self._tally(path)  # each reading starts from the file's first byte
            reader = self._open(path, types, block, one_column=one_column, schema=schema, tally=tally)
            if reader.schema.names != schema.names:
                reader.close()
                raise header_moved(path, schema, reader.schema)
            return reader

        row = 1
        try:
            for batch in streamed(open_reader, self.batch_bytes, forget):
                if formats:
                    batch = self._dated(batch, schema, formats, path, row)
                row += batch.num_rows
                yield as_numbers(batch, schema, path, text_ok=True) if exact else batch
        except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
            self._refuse_unclosed(path, self._recount(path))  # a stray quote is the likelier cause: said first
            raise explain(exc, path, schema) from exc
        else:
            self._refuse_unclosed(path, tally)
        finally:
            self._set_aside(path)

    @staticmethod
    def _dated(batch: pa.RecordBatch, schema: pa.Schema, formats: dict[str, str], path: FilePath,
               row: int) -> pa.RecordBatch:
        columns = list(batch.columns)
        for name, fmt in formats.items():
            index = schema.get_field_index(name)
            columns[index] = parse_formatted(columns[index], name, fmt, schema.field(index).type, path, row)
        fields = [pa.field(f.name, c.type) for f, c in zip(batch.schema, columns, strict=True)]
        return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, metadata=batch.schema.metadata))

    def _set_aside(self, path: FilePath) -> None:
        if self.quarantine is None:
            return
        assert isinstance(path, Path), "set aside from local files only (homes/csv.py refuses it on a bucket)"
        done = self.quarantine.flush(path)
        if done:
            count, side = done
            self.notes.append(f"{count} bad row(s) of {path.name} set aside in {side}")


_NOT_TEXT = (pa.types.is_nested, pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary,
             pa.types.is_binary_view, pa.types.is_dictionary, pa.types.is_duration)


def _text_type(t: pa.DataType) -> pa.DataType:
    """JSON extension columns are written as their text; Arrow's CSV writer knows plain strings, not string views."""
    if extension_name(t) == "arrow.json":
        return t.storage_type
    return pa.string() if pa.types.is_string_view(t) else t


class CsvPartWriter(PartWriter):
    def __init__(self, path: Path, schema: pa.Schema, options: Any):
        super().__init__(path, schema, options)
        # UTC timestamps go out as text formatted the quick way (as_type; same bytes as Arrow's writer).
        self._plain = pa.schema([pa.field(f.name, pa.string() if utc_as_naive_text(f.type) else _text_type(f.type))
                                 for f in schema])
        self._sink: Any = pa.OSFile(str(path), "wb")
        self._file = self._sink
        if options.compression:
            self._sink = pa.CompressedOutputStream(self._file, options.compression)
        try:
            self._writer = pcsv.CSVWriter(
                self._sink,
                self._plain,
                write_options=pcsv.WriteOptions(
                    include_header=options.header,
                    delimiter=options.delimiter,
                    quoting_style=options.quoting,
                ),
            )
        except pa.ArrowException as exc:
            self._sink.close()
            raise WriteError("CSV cannot hold this schema", path=str(path), found=str(exc)) from exc

    @classmethod
    def check_schema(cls, schema: pa.Schema) -> list[str]:
        def refused(t: pa.DataType) -> bool:
            name = extension_name(t)
            if name:
                return name != "arrow.json"
            return any(test(t) for test in _NOT_TEXT)

        return [f"{f.name} ({type_name(f.type)})" for f in schema if refused(f.type)]

    def write(self, batch: pa.RecordBatch) -> None:
        if self._plain != batch.schema:
            columns = [as_type(c, t) for c, t in zip(batch.columns, self._plain.types, strict=True)]
            batch = pa.RecordBatch.from_arrays(columns, schema=self._plain)
        if self.options.quoting == "none":
            self._refuse_empty_strings(batch)
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def _refuse_empty_strings(self, batch: pa.RecordBatch) -> None:
        """Unquoted, an empty string is written as nothing, as a null is: it would come back as a null."""
        text = (pa.types.is_string, pa.types.is_large_string)
        empty = [f.name for f, column in zip(batch.schema, batch.columns, strict=True)
                 if any(test(f.type) for test in text) and pc.any(pc.equal(pc.binary_length(column), 0)).as_py()]
        if empty:
            raise WriteError(
                f"column(s) {', '.join(empty)} hold empty strings, which `quoting: none` writes like nulls",
                path=str(self.path),
                expected="no empty strings with `quoting: none`",
                found="empty strings",
                hint="leave `quoting` at `needed` (empty strings are written as \"\"), or use `all_valid`",
            )

    def size(self) -> int:
        return int(self._file.tell())

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            self._sink.close()
