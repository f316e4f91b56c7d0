"""Reading the files of one entity: one after another, or in partitions of whole files or row groups."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from hygge.core.pipe import fan_in
from hygge.errors import ReadError
from hygge.formats.base import FormatReader
from hygge.homes.base import ReadState, Source
from hygge.homes.path_columns import PathColumns
from hygge.storage.blob import Blob, FilePath

if TYPE_CHECKING:
    from hygge.homes.files import FileHome

# Below this an entity is moved by one writer: more writers would cost more (threads, part files) than they gain.
AUTO_PARTITION_BYTES = 256 * 2**20
# What the parts of one entity may hold together when `partitions: auto` picks their number: a reader's own
# buffers plus about three batches (queue and writer) each. A 200-column parquet file needs ~400 MB per part,
# so it gets one writer (0.9 GB peak) instead of two (1.3 GB). A number the user sets is taken as it is.
AUTO_PARTITION_MEMORY = 512 * 2**20


def partition_limit(setting: int | str) -> int:
    """The most partitions a `partitions` setting can make on this machine."""
    return max(1, os.cpu_count() or 1) if setting == "auto" else int(setting)


def file_key(path: FilePath) -> dict[str, Any]:
    """What tells one version of a file from another: size and time, and the inode here or the ETag on a bucket."""
    if isinstance(path, Blob):
        found = path.stat()
        return {"size": found.st_size, "mtime_ns": found.st_mtime_ns, "etag": found.etag}
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def _merge_units(group: list[tuple[FilePath, list[int] | None]]) -> list[tuple[FilePath, list[int] | None]]:
    """Consecutive pieces of one file become one read of those pieces."""
    out: list[tuple[FilePath, list[int] | None]] = []
    for path, pieces in group:
        if out and out[-1][0] == path and pieces is not None and out[-1][1] is not None:
            out[-1] = (path, [*out[-1][1], *pieces])
        else:
            out.append((path, pieces))
    return out


class FileSource(Source):
    def __init__(self, home: FileHome, files: list[FilePath], reader: FormatReader, state: ReadState | None):
        self.home = home
        self.reader = reader
        self.all_files = files
        self.files = files
        self.state = state
        # Parts that hold, in a new shape, the rows of parts already loaded: skipped, and counted as loaded.
        self.carried: dict[str, dict[str, Any]] = {}
        if state is not None and state.loaded_files:
            # Whole files already loaded by a committed run are skipped before any row is read.
            loaded = state.loaded_files
            self.files = [f for f in files if loaded.get(home.show(f)) != file_key(f) and not self._carried(f, loaded)]
        self._closed = False
        self.is_part = False
        # Rows that share a key are decided by their arrival order (a merge): then the files are read in one
        # stream, in their order, since partitions fanned in interleave their batches.
        self.in_order = False
        self.unmarked = 0  # rows left out for having no watermark (_serial)
        self.units: list[tuple[FilePath, list[int] | None]] = [(f, None) for f in self.files]
        self.read: dict[str, dict[str, Any]] = {}
        self.file_schema = self._unify(files)  # what the reader reads; path columns are added after it
        relative = {home.show(f): home.relative(f) for f in files}
        self.path_columns = PathColumns.of(relative, home.config.file_column, home.config.hive_columns)
        self._schema = (self.path_columns.extend(self.file_schema, home.config.path) if self.path_columns
                        else self.file_schema)
        self.rows = state.filter_for(self._schema) if state is not None else None
        self.file_keys = {f: file_key(f) for f in self.files}  # as the files were when opened
        self.size = sum(key["size"] for key in self.file_keys.values())
        self.description = f"{len(self.files)} file{'s' if len(self.files) != 1 else ''}, {self.size:,} bytes"
        estimates = [reader.estimate_rows(f) for f in self.files]
        self.file_rows = dict(zip(self.files, estimates, strict=True))
        self.estimated_rows = None if None in estimates else sum(e or 0 for e in estimates)

    def changed_since_open(self, path: FilePath, now: dict[str, Any] | None = None) -> bool:
        """Whether the file's size or modification time differ from when the move opened it. Not its inode: a Dask
        worker sees the file through its own mount, where the same file may carry another inode number."""
        opened = self.file_keys.get(path)
        if opened is None:
            return False
        try:
            now = now or file_key(path)
        except FileNotFoundError:
            return True
        return (now["size"], now["mtime_ns"]) != (opened["size"], opened["mtime_ns"])

    def _unify(self, files: list[FilePath]) -> pa.Schema:
        schemas = [(f, self.reader.schema_of(f)) for f in files]
        for path, schema in schemas:
            twice = sorted({name for name in schema.names if schema.names.count(name) > 1})
            if twice:  # each would stand for the other in `columns`, polish and every store
                raise ReadError(
                    f"this file has more than one column named {', '.join(twice)}",
                    path=self.home.show(path),
                    expected="a different name for every column",
                    found=f"columns {', '.join(schema.names)}" if len(schema) <= 20 else f"{len(schema)} columns",
                    hint="rename the columns in the file, or move it out of the home folder",
                )
        return self.reader.unify(schemas)

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        # Reads fanned in here interleave their batches, so only partitions asked for by number come this way;
        # "auto" splits only where each partition has a writer of its own and the order is kept (parts()).
        parts = self.parts(automatic=False) if not (self.is_part or self.in_order) else [self]
        if len(parts) < 2:
            yield from self._serial()
            self._note_unmarked(self.unmarked)
            return
        for part in parts:
            part.is_part = True  # type: ignore[attr-defined]
        # File groups read on threads of their own, into one stream.
        yield from fan_in([p.batches for p in parts], len(parts), 4 * self.reader.batch_bytes,
                          name="hygge-files")
        for part in parts:
            self.read.update(part.read)  # type: ignore[attr-defined]
            self.warnings.extend(part.warnings)
        self._note_unmarked(sum(part.unmarked for part in parts))  # type: ignore[attr-defined]

    def _note_unmarked(self, rows: int) -> None:
        if rows and not self.is_part and self.rows is not None:
            self.warnings.append(
                f"{rows:,} row(s) have no value in the watermark column {self.rows.column}: an incremental run reads "
                "the rows after the watermark, which they are not, so they were left out; give them a value at the "
                "source, or load them once with --full-drop")

    def _serial(self) -> Iterator[pa.RecordBatch]:
        for path, pieces in self.units:
            if self._closed:
                return
            # The schema, the drift decisions and the plan were made from the file as it was when the move opened
            # it; a file replaced since then is not read under that plan.
            before = file_key(path)
            moved = self.changed_since_open(path, before)
            shown = self.home.show(path)
            for batch in () if moved else self.reader.batches(path, self.file_schema, pieces):
                if self.path_columns is not None:
                    batch = self.path_columns.add(batch, shown, self._schema)
                if self.rows is not None:
                    if self.rows.active:
                        self.unmarked += batch.column(self.rows.column).null_count
                    batch = self.rows.apply(batch)
                if batch.num_rows:
                    yield batch
            if moved or file_key(path) != before:
                raise ReadError(
                    "a file changed while the move was reading it; nothing was committed",
                    path=self.home.show(path),
                    expected="files that stay the same from the moment hygge opens them until it has read them",
                    found="its size, modification time or inode changed",
                    hint="hygge retries the move; writers should write to a temporary name and rename when done",
                    transient=True,
                )
            self.read[shown] = before
            self.warnings.extend(self.reader.notes)
            self.reader.notes.clear()

    def _parts_that_fit(self) -> int:
        per_part = max(self.reader.working_bytes(path) for path in self.files) + 3 * self.reader.batch_bytes
        return max(1, AUTO_PARTITION_MEMORY // per_part)

    def parts(self, automatic: bool = True) -> list[Source]:
        """Contiguous runs of files (and of a parquet file's row groups) of about equal size, in order."""
        setting = self.home.config.partitions
        if self.is_part or setting == 1:
            return [self]
        if setting == "auto" and (not automatic or self.size < AUTO_PARTITION_BYTES):
            return [self]
        units = [(path, pieces, size) for path in self.files for pieces, size in self.reader.pieces(path)]
        count = min(partition_limit(setting), len(units))
        if setting == "auto":
            count = min(count, self._parts_that_fit())
        if count < 2:
            return [self]
        total = sum(size for _, _, size in units) or 1
        groups: list[list[tuple[FilePath, list[int] | None]]] = [[]]
        done = 0
        for path, pieces, size in units:
            # Start the next group once this one holds its share; order is kept, so parts read in order.
            if groups[-1] and len(groups) < count and done >= total * len(groups) / count:
                groups.append([])
            groups[-1].append((path, pieces))
            done += size
        out: list[Source] = []
        for group in groups:
            part = copy.copy(self)
            part.units = _merge_units(group)
            part.files = sorted({path for path, _ in group})
            part.read = {}
            part.warnings = []
            part.unmarked = 0
            part.reader = copy.deepcopy(self.reader)  # readers keep notes; one each
            part.is_part = True
            out.append(part)
        return out

    def nothing_new(self) -> bool:
        return bool(self.state is not None and self.state.loaded_files and self.all_files and not self.files)

    def changed_since_loaded(self, loaded: dict[str, dict[str, Any]]) -> list[str]:
        # The same test as the skip in __init__: whatever an incremental run would read again is named here.
        return [shown for path, key in self.file_keys.items()
                if (shown := self.home.show(path)) in loaded and loaded[shown] != key]

    def taken_whole(self, files: list[FilePath]) -> None:
        """Files a store took without reading them through this source (copied, re-encoded by polars, loaded by
        DuckDB) count as read, as they were when the move opened them: an incremental run skips them next time."""
        for path in files:
            self.read[self.home.show(path)] = self.file_keys[path]

    def _carried(self, path: FilePath, loaded: dict[str, dict[str, Any]]) -> bool:
        """Whether ``path`` is a part whose rows an earlier run loaded from a part it rewrites: when an entity a
        hygge store appends to gains a column, its earlier parts are rewritten under new names, and reading them
        again doubled every row downstream."""
        before = self.home.rewrites.get(path, [])
        if not any(self.home.show(old) in loaded for old in before):
            return False
        self.carried[self.home.show(path)] = file_key(path)
        return True

    def new_state(self) -> dict[str, Any]:
        loaded = dict(self.state.loaded_files) if self.state and self.state.loaded_files else {}
        loaded.update(self.carried)
        loaded.update(self.read)  # the files as they were when read, not as they are now
        return {"loaded_files": loaded}

    def close(self) -> None:
        self._closed = True


