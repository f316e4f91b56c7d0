"""Opening a Delta table, counting its rows, and the commits hygge makes to it (with delta-rs)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable, WriterProperties
from deltalake.exceptions import CommitFailedError, DeltaError, DeltaProtocolError, TableNotFoundError
from deltalake.transaction import AddAction

from hygge.errors import HyggeError, ReadError, StateError, WriteError, first_line
from hygge.lake.datafiles import DataFile
from hygge.lake.location import TableLocation, storage_options

DELTA_ERRORS = (DeltaError, DeltaProtocolError, TableNotFoundError, CommitFailedError, OSError, pa.ArrowException)


def is_table(folder: Path) -> bool:
    log = folder / "_delta_log"
    return log.is_dir() and any(p.suffix in (".json", ".parquet") for p in log.iterdir())


def open_table(location: TableLocation, entity: str | None = None, version: int | str | datetime | None = None,
               reading: bool = False) -> DeltaTable | None:
    """The table, or None where there is none yet; a folder that holds something else is refused."""
    from hygge.lake.place import place_of

    place = place_of(location)
    if not place.has_log():
        found = place.foreign()
        if found is not None:
            raise WriteError(
                "the target folder exists and is not a Delta table; it is left untouched", entity=entity,
                path=location.shown, expected="no folder, or a folder with a _delta_log", found=found,
                hint="move that folder away, or set `target:` on the entity to another name")
        return None
    try:
        table = DeltaTable(location.uri, storage_options=storage_options(location))
        if version is not None:
            table.load_as_version(version)
        return table
    except DELTA_ERRORS as exc:
        kind = ReadError if reading else WriteError
        raise kind(f"the Delta table could not be opened{' at that version' if version is not None else ''}",
                   entity=entity, path=location.shown, found=first_line(exc),
                   hint="check `as_of` and the table's history" if version is not None
                   else "check that the folder holds a Delta table hygge can read") from exc


UNREADABLE_FEATURES = ("deletionVectors", "columnMapping")


def refuse_unsupported(table: DeltaTable, location: TableLocation, entity: str | None, reading: bool) -> None:
    """Tables whose rows are not just their data files (deletion vectors) or whose files name columns
    differently (column mapping): hygge would count, read or rewrite them wrongly, so it does not touch them."""
    found = sorted(set(table.protocol().reader_features or []) & set(UNREADABLE_FEATURES))
    if found:
        kind = ReadError if reading else WriteError
        raise kind("the table uses Delta features hygge does not read or write yet", entity=entity,
                   path=location.shown, expected="a table without deletion vectors or column mapping",
                   found=", ".join(found),
                   hint="rewrite the table without them (in Spark: REORG TABLE ... APPLY (PURGE), and a table "
                        "without column mapping), or read it with the engine that wrote it")


def physical_schema(table: DeltaTable) -> pa.Schema:
    """The table's columns as Arrow types, with the column metadata hygge keeps its own types in."""
    return pa.schema(table.schema().to_arrow())


def count_rows(table: DeltaTable, folder: Path | None) -> int:
    """Rows in the table's current version: the log's counts, and the files' footers where the log has none."""
    actions = pa.table(table.get_add_actions(flatten=True))
    if actions.num_rows == 0:
        return 0
    counts = actions.column("num_records")
    total = int(pc.sum(counts).as_py() or 0)
    if counts.null_count and folder is not None:
        missing = pc.filter(actions.column("path"), pc.is_null(counts))
        total += sum(pq.read_metadata(folder / unquote(p)).num_rows for p in missing.to_pylist())
    return total


def add_action(data_file: DataFile) -> AddAction:
    return AddAction(data_file.path, data_file.size, data_file.partition_values, data_file.modification_time, True,
                     data_file.stats)


def writer_properties(compression: str, level: int | None) -> WriterProperties:
    codec = {"none": "UNCOMPRESSED"}.get(compression, compression.upper())
    return WriterProperties(compression=codec, compression_level=level)  # type: ignore[arg-type]


def committed_anyway(location: TableLocation, app: str, counter: int) -> bool:
    """After an unclear failure: whether the commit of ``counter`` is in the log all the same."""
    try:
        table = DeltaTable(location.uri, storage_options=storage_options(location))
    except DELTA_ERRORS:
        return False
    return (table.transaction_version(app) or 0) >= counter


def guarded(commit: Callable[[], Any], location: TableLocation, app: str, counter: int, entity: str) -> Any:
    """Run one commit; a commit that lost a race with another writer is a transient failure, retried whole."""
    try:
        return commit()
    except HyggeError:
        raise
    except CommitFailedError as exc:
        if committed_anyway(location, app, counter):
            return None  # the same run's commit landed: retrying it would be a no-op
        raise StateError(
            "another writer committed to the table while this run was writing; nothing of this run was committed",
            entity=entity, path=location.shown, expected="the table at the version this run read",
            found=first_line(exc), transient=True,
            hint="hygge retries the move (`options: retries`); if it keeps happening, find the other writer",
        ) from exc
    except Exception as exc:  # delta-rs raises plain exceptions too (a failed cast in a MERGE)
        if committed_anyway(location, app, counter):
            return None
        raise WriteError("the Delta commit failed; nothing of this run was committed", entity=entity,
                         path=location.shown, found=_brief(exc),
                         hint="check the table with the engine that wrote it, and run again") from exc


def _brief(exc: BaseException) -> str:
    """delta-rs puts the cause (a bucket server's answer) on the lines after a generic first one: all of it, on
    one line, cut at a length a person reads."""
    text = " ".join(str(exc).split())
    return (text[:400] + "…" if len(text) > 400 else text) or type(exc).__name__
