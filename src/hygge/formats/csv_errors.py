"""What a CSV read that failed says: the column and the fix for a value, the dialect only for the file's structure."""

from __future__ import annotations

import re

import pyarrow as pa

from hygge.core.arrowtypes import type_name
from hygge.errors import ReadError
from hygge.formats.inferred import declaration_for, text_hint
from hygge.storage.blob import FilePath

COLUMN = re.compile(r"In CSV column #(\d+): ")
_VALUE = re.compile(r"invalid value '(.*)'$")


def explain(exc: Exception, path: FilePath, schema: pa.Schema | None) -> ReadError:
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
    match = COLUMN.search(text)
    if match:
        return _bad_value(int(match.group(1)), first, path, schema)
    # Only what is left is about the file's structure.
    return ReadError("this CSV file could not be read", path=str(path), found=first,
                     hint="check `delimiter`, `quote`, `header` and `encoding` on the home")


_CONVERTING = re.compile(r"conversion error to ([^:]+):")


def _bad_value(index: int, first: str, path: FilePath, schema: pa.Schema | None) -> ReadError:
    """A value its column's type does not read: the fix is that column's type or format, not the file's dialect."""
    known = schema is not None and index < len(schema.names)
    column = schema.names[index] if schema is not None and known else f"#{index + 1}"
    current = schema.field(index).type if schema is not None and known else None
    converting = _CONVERTING.search(first)
    expected = type_name(current) if current is not None else (converting.group(1) if converting else "its type")
    found = _VALUE.search(first)
    value = found.group(1) if found else ""
    temporal = (current is not None and (pa.types.is_date(current) or pa.types.is_timestamp(current))) or (
        current is None and converting is not None and converting.group(1).startswith(("date", "timestamp")))
    if temporal:
        hint = (f"if the dates are written another way, give column {column} its format, e.g. "
                f"`formats: {{{column}: \"%d/%m/%Y\"}}`; or read it as text with `columns: {{{column}: string}}` "
                f"and type it later with polish `cast:`")
    else:
        declared = declaration_for(column, value, current)
        hint = (text_hint(column, value) if declared == f"`columns: {{{column}: string}}`" else
                f"set column {column}'s type on the home, e.g. {declared}, or read it as text "
                f"(`columns: {{{column}: string}}`) and type it with polish `cast:`")
    return ReadError(
        f"column {column} has a value that is not {expected}",
        path=str(path),
        expected=f"{expected} (inferred from the start of the files, or set in `columns`)",
        found=COLUMN.sub("", first),
        hint=hint,
    )


def check_names(schema: pa.Schema, path: FilePath, header: bool) -> None:
    """Two columns of one name would each stand for the other in `columns`, polish and every store: refuse them."""
    names = schema.names
    twice = sorted({name for name in names if names.count(name) > 1})
    if not twice:
        return
    shown = ", ".join(f"'{name}'" for name in twice)
    raise ReadError(
        f"the header of this CSV file names {shown} more than once",
        path=str(path),
        expected="a different name for every column",
        found=f"columns {', '.join(names)}" if len(names) <= 20 else f"{len(names)} columns",
        hint="rename the duplicates in the file's header"
        + (", or read it with `header: false`, `skip_rows: 1` and a name for each column in `column_names`"
           if header else ", or fix `column_names` on the home"),
    )


def header_moved(path: FilePath, schema: pa.Schema, found: pa.Schema) -> ReadError:
    return ReadError(
        "the header of this CSV file reads differently from when its columns were inferred",
        path=str(path),
        expected=f"columns {', '.join(schema.names)}",
        found=f"columns {', '.join(found.names)}",
        hint="in a file of one column every line is a row and an empty line a null: remove empty lines before "
             "the header, or count them in `skip_rows`",
    )
