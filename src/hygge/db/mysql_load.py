"""MySQL/MariaDB bulk load: Arrow batches encoded to LOAD DATA's text form, streamed through a FIFO.

Encoding is vectorised (Arrow compute and Polars, no Python loop over rows):
``\\N`` is NULL, backslash escapes keep tabs, newlines and backslashes,
binary travels as hex and is decoded by ``UNHEX`` on the server, lists and
structs as JSON. ``LOAD DATA LOCAL`` turns data errors into warnings and keeps
going, so every load checks the warning count and the row count and fails
the move (rolling back) when either is off.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hygge.core import lazy
from hygge.core.arrowtypes import extension_name
from hygge.db.bounds import negative_zeros
from hygge.db.dialect import Unfit, refuse_unfit
from hygge.db.json_lists import string_bytes
from hygge.errors import WriteError

_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ("\x00", "\\0"))


def escape(column: pa.Array) -> pa.Array:
    for old, new in _ESCAPES:  # the backslash first, or the others would be escaped twice
        column = pc.replace_substring(column, old, new)
    return column


def json_text(column: pa.Array) -> pa.Array:
    """Lists and structs as JSON text, encoded by Polars."""
    pl = lazy.polars()

    wrapped = pa.StructArray.from_arrays([column], names=["v"])
    series = pl.from_arrow(wrapped)
    assert isinstance(series, pl.Series)
    text = series.struct.json_encode().to_arrow().cast(pa.string())
    # '{"v":[1,2]}' -> '[1,2]'; a null list was encoded as '{"v":null}'
    inner = pc.utf8_slice_codeunits(text, 5, -1)
    return pc.if_else(pc.is_null(column), pa.scalar(None, pa.string()), inner)


def hex_text(column: pa.Array) -> pa.Array:
    pl = lazy.polars()

    raw = column.cast(column.type.storage_type) if extension_name(column.type) else column
    series = pl.from_arrow(raw.cast(pa.binary()))
    assert isinstance(series, pl.Series)
    return series.bin.encode("hex").to_arrow().cast(pa.string())


def field_text(field: pa.Field, column: pa.Array, kind: str = "") -> pa.Array:
    """One column as LOAD DATA text (nulls stay null here; they become \\N when the line is joined).

    ``kind`` is the target column's type (information_schema DATA_TYPE), where the text depends on it."""
    t = field.type
    name = extension_name(t)
    if pa.types.is_duration(t) and kind == "time":  # microseconds, turned into a TIME by the SET clause
        return _without_loss(field, column, pa.duration("us")).cast(pa.int64()).cast(pa.string())
    if name == "arrow.uuid" or pa.types.is_binary(t) or pa.types.is_large_binary(t) or (
            pa.types.is_fixed_size_binary(t)):
        return hex_text(column)
    if name == "arrow.json":
        return escape(column.cast(pa.string()))
    if pa.types.is_dictionary(t):
        return field_text(pa.field(field.name, t.value_type), column.dictionary_decode(), kind)
    if pa.types.is_nested(t):
        return escape(json_text(column))
    if pa.types.is_boolean(t):
        return column.cast(pa.int8()).cast(pa.string())
    if pa.types.is_floating(t):
        bad = pc.sum(pc.or_(pc.is_nan(column), pc.is_inf(column))).as_py() or 0
        if bad:
            raise Unfit(field.name, f"{bad} NaN or infinite value(s), which MySQL cannot store",
                        "replace NaN and infinity at the source, or write this entity to parquet or PostgreSQL")
        zeros = pc.sum(negative_zeros(column)).as_py() or 0
        if zeros:
            raise Unfit(field.name, f"{zeros} value(s) of -0.0, which MySQL stores as 0",
                        "turn -0.0 into 0.0 at the source, or write this entity to parquet, DuckDB or PostgreSQL")
        # As a double: float32's shortest text (3.4028235e+38 for its largest value) can read back beyond
        # FLOAT's range on the server, which parses it as a double; the double's text is the exact value.
        return column.cast(pa.float64()).cast(pa.string())
    if pa.types.is_timestamp(t):
        wanted = pa.timestamp("us")
        if t.tz:
            column = column.cast(pa.timestamp(t.unit, tz="UTC")).cast(pa.timestamp(t.unit))
        return _without_loss(field, column, wanted).cast(pa.string())
    if pa.types.is_time(t):
        return _without_loss(field, column, pa.time64("us")).cast(pa.string())
    if pa.types.is_duration(t):
        return column.cast(pa.int64()).cast(pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return escape(column.cast(pa.string()))
    return column.cast(pa.string())


def _without_loss(field: pa.Field, column: pa.Array, wanted: pa.DataType) -> pa.Array:
    try:
        return column.cast(wanted, safe=True)
    except pa.ArrowInvalid as exc:
        raise Unfit(field.name, f"nanoseconds, and MySQL keeps at most microseconds ({str(exc).splitlines()[0]})",
                    "round the column at the source, or write this entity to parquet or DuckDB") from exc


def lines(batch: pa.RecordBatch, kinds: dict[str, str] | None = None) -> memoryview:
    """The batch as LOAD DATA lines: one contiguous buffer, no per-row Python."""
    kinds = kinds or {}
    columns, problems = [], []
    for f, c in zip(batch.schema, batch.columns, strict=True):
        try:
            columns.append(pc.fill_null(field_text(f, c, kinds.get(f.name, "")), "\\N"))
        except Unfit as exc:
            problems.append(exc)
    if problems:
        raise refuse_unfit("MySQL", problems)
    joined = pc.binary_join_element_wise(*columns, "\t") if len(columns) > 1 else columns[0]
    return string_bytes(pc.binary_join_element_wise(joined, "\n", ""))  # the last argument is the separator


def column_list(d: Any, schema: pa.Schema, kinds: dict[str, str] | None = None) -> tuple[str, str]:
    """LOAD DATA's column list and SET clause: hex columns go through a variable and UNHEX; text cannot say a
    BIT (it would load the characters' bits), nor a TIME as a count, so those are converted on the server."""
    kinds = kinds or {}
    names, sets = [], []
    for index, field in enumerate(schema):
        t, kind, c = field.type, kinds.get(field.name, ""), d.quote(field.name)
        if extension_name(t) == "arrow.uuid" or pa.types.is_binary(t) or pa.types.is_large_binary(t) or (
                pa.types.is_fixed_size_binary(t)):
            names.append(f"@v{index}")
            sets.append(f"{c} = UNHEX(@v{index})")
        elif kind == "bit":
            names.append(f"@v{index}")
            sets.append(f"{c} = CAST(@v{index} AS UNSIGNED)")
        elif kind == "time" and pa.types.is_duration(t):
            names.append(f"@v{index}")
            sets.append(f"{c} = SEC_TO_TIME(CAST(@v{index} AS DECIMAL(30,6)) / 1000000)")
        else:
            names.append(c)
    return ", ".join(names), (" SET " + ", ".join(sets)) if sets else ""


def load(d: Any, conn: Any, ref: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
         kinds: dict[str, str] | None = None) -> int:
    """Stream every batch into ``ref`` with one LOAD DATA LOCAL; return the rows the server took.

    ``kinds`` are the target columns' types (information_schema DATA_TYPE), for the columns whose text needs them."""
    _sweep()
    folder = Path(tempfile.mkdtemp(prefix=f"hygge-load-{os.getpid()}-"))
    fifo = folder / "rows.tsv"
    os.mkfifo(fifo)
    sent = [0]
    failure: list[BaseException] = []

    def feed() -> None:
        try:
            with open(fifo, "wb") as out:
                for batch in batches:
                    out.write(lines(batch, kinds))
                    sent[0] += batch.num_rows
        except BrokenPipeError:
            pass  # the server stopped reading: its error is the one to report
        except BaseException as exc:  # noqa: BLE001 - re-raised in the loading thread
            failure.append(exc)

    writer = threading.Thread(target=feed, name="hygge-mysql-load", daemon=True)
    writer.start()
    columns, sets = column_list(d, schema, kinds)
    sql = (f"LOAD DATA LOCAL INFILE '{fifo}' INTO TABLE {ref} CHARACTER SET utf8mb4 "
           f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({columns}){sets}")
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            taken = cursor.rowcount
            refuse_warnings(cursor, ref, "loading")
    finally:
        _release(fifo, writer)
        fifo.unlink(missing_ok=True)
        folder.rmdir()
    if failure:
        raise failure[0]
    if taken != sent[0]:
        raise WriteError("MySQL took a different number of rows than hygge sent; nothing was committed", path=ref,
                         expected=f"{sent[0]:,} rows", found=f"{taken:,} rows",
                         hint="check the target table for unique keys or triggers that drop rows")
    return int(taken)


def refuse_warnings(cursor: Any, ref: str, doing: str) -> None:
    """Fail on any warning of the statement just run: LOAD DATA LOCAL (IGNORE) only warns where it cut a value."""
    count = cursor.warning_count
    if not count:
        return
    cursor.execute("SHOW WARNINGS LIMIT 5")
    shown = "; ".join(f"{row[2]}" for row in cursor.fetchall())
    raise WriteError(
        f"MySQL changed or dropped values while {doing} ({count} warning(s)); nothing was committed",
        path=ref, expected="every value stored as it is", found=shown,
        hint="widen the named target columns, or fix the values at the source or with `polish`",
    )


def _sweep() -> None:
    """Remove FIFO folders left by hygge processes that were killed mid-load (they cannot clean up)."""
    for folder in Path(tempfile.gettempdir()).glob("hygge-load-*"):
        pid = folder.name.split("-")[2]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            for leftover in folder.iterdir():
                leftover.unlink(missing_ok=True)
            folder.rmdir()
        except OSError:
            pass  # another process swept it first


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _release(fifo: Path, writer: threading.Thread) -> None:
    """Make sure the feeding thread ends, whether or not the server ever opened the FIFO."""
    writer.join(timeout=0.2)
    if writer.is_alive():
        try:
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)  # a reader that leaves at once: the writer's next write fails with EPIPE
        except OSError:
            pass
        writer.join(timeout=10)
