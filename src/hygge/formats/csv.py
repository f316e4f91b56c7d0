"""CSV: streaming reads with explicit options and a schema unified across files; part files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from hygge.core.arrowtypes import as_type, extension_name, type_name, utc_as_naive_text
from hygge.errors import ReadError, WriteError
from hygge.formats.base import FormatReader, PartWriter, streamed
from hygge.formats.quarantine import Quarantine
from hygge.formats.schemas import unify_inferred


def _read_options(options: Any, block: int, names: list[str] | None = None) -> pcsv.ReadOptions:
    column_names = names if names is not None else options.column_names
    return pcsv.ReadOptions(
        block_size=block,
        skip_rows=options.skip_rows,
        column_names=column_names,
        autogenerate_column_names=not options.header and not column_names,
        encoding=options.encoding,
        use_threads=True,
    )


def _parse_options(options: Any, quarantine: Quarantine | None = None, record: bool = True) -> pcsv.ParseOptions:
    quote = options.quote if options.quote else False
    return pcsv.ParseOptions(
        delimiter=options.delimiter,
        quote_char=quote,
        double_quote=options.double_quote,
        escape_char=options.escape or False,
        newlines_in_values=options.newlines_in_values,
        # Sampling for types skips bad rows too, but only the real read sets them aside.
        invalid_row_handler=(quarantine.handler if record else _skip) if quarantine else None,
    )


def _convert_options(options: Any, column_types: dict[str, pa.DataType]) -> pcsv.ConvertOptions:
    kwargs: dict[str, Any] = {}
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


_COLUMN = re.compile(r"In CSV column #(\d+): ")


def _explain(exc: Exception, path: Path, schema: pa.Schema | None) -> ReadError:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, UnicodeDecodeError) or "invalid utf8" in text.lower() or "codec" in text.lower():
        return ReadError(
            "this CSV file is not in the expected text encoding",
            path=str(path),
            expected="text in the home's `encoding`",
            found=first,
            hint="set `encoding:` on the home (for example latin-1 or cp1252)",
        )
    if "Expected" in text and "columns" in text:
        return ReadError(
            "this CSV file has rows with a different number of fields than its header (ragged rows)",
            path=str(path),
            expected="the same number of fields on every row",
            found=first,
            hint="fix the file, check `delimiter` and `quote`, or set `on_bad_rows: quarantine`",
        )
    match = _COLUMN.search(text)
    if match and schema is not None:
        index = int(match.group(1))
        column = schema.names[index] if index < len(schema.names) else f"#{index}"
        expected = type_name(schema.field(index).type) if index < len(schema.names) else "a value"
        return ReadError(
            f"column {column} has a value that is not {expected}",
            path=str(path),
            expected=f"{expected} (inferred from the start of the files, or set in `columns`)",
            found=_COLUMN.sub("", first),
            hint=f"set the column's type on the home, e.g. `columns: {{{column}: string}}`",
        )
    return ReadError("this CSV file could not be read", path=str(path), found=first,
                     hint="check `delimiter`, `quote`, `header` and `encoding` on the home")


class CsvReader(FormatReader):
    extensions = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".csv.bz2", ".csv.zst")
    quarantine: Quarantine | None = None

    def _fixed(self) -> dict[str, pa.DataType]:
        from hygge.core.arrowtypes import parse_type

        return {name: parse_type(text) for name, text in self.options.columns.items()}

    def _open(self, path: Path, column_types: dict[str, pa.DataType], block: int,
              sample: bool = False) -> pcsv.CSVStreamingReader:
        try:
            return pcsv.open_csv(
                str(path),
                read_options=_read_options(self.options, block),
                parse_options=_parse_options(self.options, self.quarantine, record=not sample),
                convert_options=_convert_options(self.options, column_types),
            )
        except FileNotFoundError as exc:
            raise ReadError("a file of this entity disappeared while it was being read", path=str(path)) from exc
        except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
            raise _explain(exc, path, None) from exc

    def schema_of(self, path: Path) -> pa.Schema:
        fixed = self._fixed()
        # Types are inferred from the first block: a large one (up to 16 MB) samples more rows.
        reader = self._open(path, fixed, min(self.batch_bytes, 16 << 20), sample=True)
        try:
            schema = reader.schema
        finally:
            reader.close()
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
        return schema

    def unify(self, schemas: list[tuple[Path, pa.Schema]]) -> pa.Schema:
        fixed = self._fixed()
        unknown = [name for name in fixed if name not in schemas[0][1].names]
        if unknown:
            from hygge.errors import did_you_mean

            raise ReadError(
                f"`columns` names {', '.join(unknown)}, which the CSV header does not have",
                path=str(schemas[0][0]),
                expected=f"one of {', '.join(schemas[0][1].names)}",
                found=", ".join(unknown),
                hint=did_you_mean(unknown[0], schemas[0][1].names) or "fix the names under `columns`",
            )
        return unify_inferred(schemas, fixed)

    def _check_quotes(self, path: Path) -> None:
        """An unclosed quote makes one value swallow the rest of the file, silently: count them first."""
        quote = self.options.quote
        if not quote or self.options.escape or path.suffix in (".gz", ".bz2", ".zst") or not path.stat().st_size:
            return
        needle, count = quote.encode(self.options.encoding), 0
        # Plain reads into one reused buffer, not mmap: mapped pages of a big file count as resident memory, and
        # a 1.4 GB file read that way made the whole move peak at 1.7 GB.
        window, carry = bytearray(16 << 20), len(needle) - 1
        with open(path, "rb") as handle:
            kept = 0
            while (read := handle.readinto(memoryview(window)[kept:])):
                filled = kept + read
                count += _occurrences(window, filled, needle)
                # a needle of several bytes may straddle two windows: keep its possible start for the next
                kept = min(carry, filled)
                window[:kept] = window[filled - kept:filled]
        if count % 2:
            raise ReadError(
                "a quote in this CSV file is never closed, so one value would swallow the rest of the file",
                path=str(path),
                expected=f"every {quote} that opens a value closed again",
                found=f"an odd number ({count:,}) of {quote} characters",
                hint="fix the stray quote in the file, or set `quote: ''` if the data has no quoted values",
            )

    def batches(self, path: Path, schema: pa.Schema, pieces: list[int] | None = None) -> Iterator[pa.RecordBatch]:
        self._check_quotes(path)
        types = {f.name: f.type for f in schema}
        recorded = len(self.quarantine.rows) if self.quarantine else 0

        def forget() -> None:  # the file is read again from its start: its bad rows will be met again
            if self.quarantine:
                del self.quarantine.rows[recorded:]

        try:
            yield from streamed(lambda block: self._open(path, types, block), self.batch_bytes, forget)
        except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
            raise _explain(exc, path, schema) from exc
        finally:
            self._set_aside(path)

    def _set_aside(self, path: Path) -> None:
        if self.quarantine is None:
            return
        done = self.quarantine.flush(path)
        if done:
            count, side = done
            self.notes.append(f"{count} bad row(s) of {path.name} set aside in {side}")


def _occurrences(window: bytearray, filled: int, needle: bytes) -> int:
    """How often ``needle`` occurs in the first ``filled`` bytes of ``window``.

    A one-byte needle is counted by Arrow compute, which releases the GIL and took half the time of
    ``bytearray.count`` on a 1.4 GB CSV full of quotes (0.4 s against 0.8 s).
    """
    if len(needle) != 1:
        return window.count(needle, 0, filled)
    data = pa.Array.from_buffers(pa.uint8(), filled, [None, pa.py_buffer(window)])
    return int(pc.sum(pc.equal(data, pa.scalar(needle[0], pa.uint8()))).as_py() or 0)


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
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def size(self) -> int:
        return int(self._file.tell())

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            self._sink.close()
