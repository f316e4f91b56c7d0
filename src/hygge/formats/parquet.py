"""Parquet: streaming reads by row-group-sized batches, and part files with byte-sized row groups."""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.errors import ReadError, WriteError, first_line
from hygge.formats.base import FormatReader, PartWriter, within_budget
from hygge.formats.parquet_decode import PolarsDecodeFailed, polars_decodes, polars_row_groups
from hygge.formats.parquet_join import JoinedParquet
from hygge.storage.blob import FilePath, local, readable

MIN_BATCH_ROWS = 1024
SAMPLE_ROWS = 4096  # decoded to measure a file's width as Arrow (decoded_batch_rows)
READ_BUFFER_BYTES = 1 << 16
PAGE_BYTES = 1 << 20
FOOTERS_KEPT = 8
# Row groups of one part encoded at the same time; the writer collects the next one meanwhile.
ENCODING = 2


@cache
def _encoders() -> ThreadPoolExecutor:
    """The threads that encode row groups, shared by every part writer of the process (pyarrow frees the GIL)."""
    return ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1), thread_name_prefix="hygge-encode")


def _open(path: FilePath, metadata: pq.FileMetaData | None = None) -> pq.ParquetFile:
    try:
        # pre_buffer reads whole row groups ahead: hundreds of MB for nothing on a local disk. A small
        # buffer_size streams each column chunk page by page instead of reading it whole (200-column file:
        # 494 MB -> 380 MB held by the reader, and faster). On a bucket, where each read is a request,
        # pre_buffer coalesces a row group's column chunks into a few large range requests instead.
        remote = local(path) is None
        return pq.ParquetFile(readable(path), metadata=metadata, pre_buffer=remote,
                              buffer_size=0 if remote else READ_BUFFER_BYTES, page_checksum_verification=True)
    except FileNotFoundError as exc:
        raise ReadError("a file of this entity disappeared while it was being read", path=str(path)) from exc
    except (pa.ArrowException, OSError) as exc:
        raise ReadError(
            "this file is not a readable parquet file (truncated or corrupted)",
            path=str(path),
            expected="a parquet file with a valid footer",
            found=str(exc).splitlines()[0],
            hint="re-export the file from its source, or move it out of the home folder",
        ) from exc


def batch_rows(metadata: pq.FileMetaData, batch_bytes: int) -> int:
    """Rows per batch so that one decoded batch is about ``batch_bytes``."""
    rows = metadata.num_rows
    if rows == 0 or metadata.num_row_groups == 0:
        return MIN_BATCH_ROWS
    size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    per_row = max(1.0, size / rows)
    return max(MIN_BATCH_ROWS, int(batch_bytes / per_row))


def decoded_batch_rows(handle: pq.ParquetFile, columns: list[str] | None, batch_bytes: int,
                       measure: bool = True, row_groups: list[int] | None = None) -> int:
    """Rows per batch so that one batch as Arrow decodes it is about ``batch_bytes``.

    The footer's sizes are the pages' encoded bytes: dictionary-encoded text and string views decode to several
    times that (TPC-H lineitem: 64 bytes a row in the footer, 218 as Arrow, so a batch meant to be 32 MiB held
    109 MiB, and every slice of it kept it all alive). A file of more than SAMPLE_ROWS rows has its first rows
    decoded to measure their width (also one the footer says fits a batch: its text may be dictionary-encoded);
    batches only ever get smaller for it. ``measure=False`` (a file on a bucket, read with pre_buffer: the sample
    would fetch a whole row group once more) leaves it to the footer. ``row_groups``: where to take the sample (a
    reader over all of them checks every column chunk against the file's size: a file still downloading fails)."""
    rows = batch_rows(handle.metadata, batch_bytes)
    if not measure or handle.metadata.num_rows <= SAMPLE_ROWS:
        return rows
    sample = next(handle.iter_batches(batch_size=SAMPLE_ROWS, columns=columns, row_groups=row_groups), None)
    if sample is None or not sample.num_rows or not sample.nbytes:
        return rows
    return max(MIN_BATCH_ROWS, min(rows, int(batch_bytes * sample.num_rows / sample.nbytes)))


class ParquetReader(FormatReader):
    extensions = (".parquet", ".pq", ".parq")

    def __init__(self, config: Any, batch_bytes: int):
        super().__init__(config, batch_bytes)
        self._footers: OrderedDict[FilePath, tuple[tuple[int, int], pq.FileMetaData]] = OrderedDict()

    def footer(self, path: FilePath) -> pq.FileMetaData:
        """The file's footer for planning: schema, row count, row groups and codecs come from one parse.

        Kept while the file's size and modification time stay the same, for the last FOOTERS_KEPT files only (a
        footer of many columns and row groups takes megabytes; an entity may have thousands of files). Reading
        rows parses the footer again from the handle it reads with, so footer and pages always agree.
        """
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            raise ReadError("a file of this entity disappeared while it was being read", path=str(path)) from exc
        key = (stat.st_mtime_ns, stat.st_size)
        known = self._footers.get(path)
        if known is None or known[0] != key:
            known = (key, _open(path).metadata)
            self._footers[path] = known
            while len(self._footers) > FOOTERS_KEPT:
                self._footers.popitem(last=False)
        self._footers.move_to_end(path)
        return known[1]

    def schema_of(self, path: FilePath) -> pa.Schema:
        # The footer's own schema is what a reader of the file gets, without opening the file a second time.
        return self.footer(path).schema.to_arrow_schema()

    def estimate_rows(self, path: FilePath) -> int | None:
        return int(self.footer(path).num_rows)

    def working_bytes(self, path: FilePath) -> int:
        # Arrow's reader keeps one page per column, compressed and decoded; a page is at most a column chunk
        # and rarely above 1 MiB (the writers' default). Measured: 200 columns, 380 MB held, estimated 292 MB.
        meta = self.footer(path)
        return max((sum(2 * min(group.column(i).total_uncompressed_size, PAGE_BYTES) for i in range(group.num_columns))
                    for group in (meta.row_group(r) for r in range(meta.num_row_groups))), default=0)

    def pieces(self, path: FilePath) -> list[tuple[list[int] | None, int]]:
        meta = self.footer(path)
        return [([i], meta.row_group(i).total_byte_size) for i in range(meta.num_row_groups)] or [
            (None, path.stat().st_size)]

    def batches(self, path: FilePath, schema: pa.Schema, pieces: list[int] | None = None) -> Iterator[pa.RecordBatch]:
        handle = _open(path)
        try:
            size = batch_rows(handle.metadata, self.batch_bytes)  # polars' row groups are sliced by their bytes too
            groups = list(range(handle.metadata.num_row_groups)) if pieces is None else pieces
            setting = getattr(self.options, "decoder", "pyarrow")
            on_disk = local(path)
            if on_disk and polars_decodes(setting, on_disk, handle.metadata, handle.schema_arrow, schema, groups):
                done: list[int] = []
                try:
                    for table in polars_row_groups(on_disk, handle.metadata, schema, groups, done):
                        for batch in table.to_batches(max_chunksize=size):
                            yield from within_budget(batch, self.batch_bytes)
                    return
                except PolarsDecodeFailed as failed:
                    self.notes.append(f"{path.name}: polars could not decode row group {failed.row_group} "
                                      f"({failed.reason}); pyarrow read the file from there on")
                    pieces = groups[len(done):]
            size = decoded_batch_rows(handle, schema.names, self.batch_bytes, measure=on_disk is not None)
            for batch in handle.iter_batches(batch_size=size, row_groups=pieces, columns=schema.names,
                                             use_threads=True):
                if batch.schema != schema:
                    batch = batch.cast(schema)
                yield from within_budget(batch, self.batch_bytes)
        except (pa.ArrowException, OSError) as exc:
            raise ReadError(
                "this parquet file could not be decoded (corrupted data pages)",
                path=str(path),
                expected="readable row groups",
                found=first_line(exc),
                hint="re-export the file from its source, or move it out of the home folder",
            ) from exc
        finally:
            handle.close()


def check_pages(path: FilePath, shown: str, batch_bytes: int) -> None:
    """Decode every page of a file (verifying page checksums where it has them), so that a file published without
    being re-encoded is one every reader can read. Cheaper checks are not enough: a page that decompresses can
    still hold run lengths, dictionary indices or string lengths no reader can decode. Measured on the 10M-row
    mixed table (404 MB snappy): 1.4-2.0 s on 2 cores, against 0.3 s for the copy and 5.4 s for a re-encode."""
    with _damaged(shown):
        handle = _open(path)
        try:
            rows = decoded_batch_rows(handle, None, batch_bytes, measure=local(path) is not None)
            for _ in handle.iter_batches(batch_size=rows, use_threads=True):
                pass
        finally:
            handle.close()


def check_arriving(path: Path, footer: pq.FileMetaData, held: Callable[[int], bool], shown: str,
                   batch_bytes: int) -> bool:
    """check_pages for a file still being downloaded into ``path``: each row group is decoded once the bytes up to
    its end are there (``held(offset)`` waits for them, False when the download ended before). The footer is the
    one read when the move opened the file: the caller compares the downloaded file's own footer with it after.
    Returns False when the file ended before a row group the footer names.

    One GET of 404 MB took 0.6 s and decoding it 1.0-1.3 s after: S3 → parquet, 10M rows, took their sum."""
    rows = 0
    with _damaged(shown):
        for group in range(footer.num_row_groups):
            if not held(row_group_end(footer.row_group(group))):
                return False
            handle = _open(path, footer)  # opened again: a reader takes the file's size when it opens it
            try:
                rows = rows or decoded_batch_rows(handle, None, batch_bytes, row_groups=[group])
                for _ in handle.iter_batches(batch_size=rows, row_groups=[group], use_threads=True):
                    pass
            finally:
                handle.close()
    return True


def row_group_end(group: pq.RowGroupMetaData) -> int:
    """The offset just past a row group's last column chunk."""
    ends = []
    for i in range(group.num_columns):
        column = group.column(i)
        starts = [column.data_page_offset] + ([column.dictionary_page_offset] if column.has_dictionary_page else [])
        ends.append(min(offset for offset in starts if offset is not None) + column.total_compressed_size)
    return max(ends, default=0)


@contextmanager
def _damaged(shown: str) -> Iterator[None]:
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        raise ReadError(
            "this parquet file is damaged: its footer reads, but some of its pages do not; nothing was committed",
            path=shown,
            expected="pages every reader can decode",
            found=first_line(exc),
            hint="re-export the file from its source, or move it out of the home folder",
        ) from exc


def dictionary_columns(first: pa.Table, page_bytes: int) -> bool | list[str]:
    """The columns worth dictionary-encoding, judged on the first row group of a part.

    Arrow tries a dictionary for every column of every row group and falls back to plain encoding once the
    dictionary outgrows ``page_bytes``: for columns of mostly distinct values (ids, amounts, timestamps) that is
    hashing spent for nothing. Writing the 200-column benchmark table took 6.1 s with those attempts and 5.0 s
    without. A column keeps its dictionary when the distinct values of a sample big enough to overflow the page
    would still fit in it; the file's values are the same either way, only their encoding differs.
    """
    if any(pa.types.is_nested(field.type) for field in first.schema):
        return True  # the option names leaf columns; nested ones keep Arrow's default
    chosen = [field.name for field, column in zip(first.schema, first.columns, strict=True)
              if _worth_a_dictionary(column, page_bytes)]
    return True if len(chosen) == first.num_columns else chosen


def _worth_a_dictionary(column: pa.ChunkedArray, page_bytes: int) -> bool:
    kind = column.type
    if pa.types.is_dictionary(kind) or pa.types.is_boolean(kind) or len(column) == 0:
        return True  # dictionary arrays are written as they are; booleans never get one
    try:
        width = kind.bit_width // 8  # fixed-width values are stored at this size in the dictionary page
    except ValueError:
        width = column.nbytes // len(column)  # variable width: about the length prefix plus the mean value
    width = max(1, width)
    import pyarrow.compute as pc  # only when a part gets rows: start-up of runs without parquet stays lean

    sample = column.slice(0, max(MIN_BATCH_ROWS, 2 * page_bytes // width))
    try:
        distinct = len(pc.unique(sample))  # unique: twice as fast as count_distinct on these samples
    except pa.ArrowNotImplementedError:
        return True  # a type Arrow cannot hash: leave the choice to the writer
    return distinct * width <= page_bytes


class ParquetPartWriter(PartWriter):
    """Collects batches into row groups of about ``row_group_bytes``, encoded on the encoder threads.

    pyarrow encodes a row group on one thread, which made the encoder the limit of every move whose reader is
    cheaper than it. Each row group is encoded as a parquet file of its own beside the part while the next one is
    collected, up to ENCODING at a time, and its pages are appended to the part in order by the kernel
    (parquet_join.JoinedParquet). Encoding the 200-column table's 1M rows alone took 7.1 s one row group after
    another and 5.2 s two at a time on 2 cores; files rather than memory, because a row group encoded in memory
    held 0.3 GB more at peak in the whole move.
    """

    def __init__(self, path: Path, schema: pa.Schema, options: Any):
        super().__init__(path, schema, options)
        self._sink = open(path, "wb", buffering=0)  # noqa: SIM115 - closed in close(); unbuffered for copy_file_range
        self._joined = JoinedParquet(self._sink)
        self._encoded = 0  # row groups handed to the encoders, which name their files
        # Chosen with the first row group, which tells which columns are worth a dictionary (dictionary_columns).
        self._dictionary: bool | list[str] | None = None
        self._encoding: deque[tuple[Future[Path], int]] = deque()
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._stored_per_byte = 1.0  # stored bytes per decoded byte so far, to tell the size of what is in flight

    def _encode(self, table: pa.Table, into: Path) -> Path:
        """``table`` as the parquet file ``into``, one row group (runs on an encoder thread)."""
        try:
            writer = pq.ParquetWriter(
                str(into),
                self.schema,
                compression=self.options.compression,
                compression_level=self.options.compression_level,
                use_dictionary=True if self._dictionary is None else self._dictionary,
                write_statistics=True,
                store_schema=True,
                write_page_checksum=True,  # so a reader can tell a damaged page from data
                dictionary_pagesize_limit=int(self.options.dictionary_page_bytes),
            )
        except (pa.ArrowException, ValueError) as exc:
            raise WriteError(
                "parquet cannot hold this schema with the chosen settings",
                path=str(self.path),
                found=str(exc),
                hint="check `compression` on the store, or drop the offending column with polish",
            ) from exc
        with writer:
            if table.num_rows:
                writer.write_table(table, row_group_size=table.num_rows)
        return into

    def _next_file(self) -> Path:
        self._encoded += 1
        return self._file(self._encoded)

    def _file(self, number: int) -> Path:
        # Beside the part, hidden (listings skip dot files), so the kernel copies it into the part (parquet_join).
        return self.path.with_name(f".{self.path.name}.{number}")

    def write(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._pending_bytes += batch.nbytes
        self.rows += batch.num_rows
        if self._pending_bytes >= self.options.row_group_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        if self._dictionary is None:
            self._dictionary = dictionary_columns(table, int(self.options.dictionary_page_bytes))
        while len(self._encoding) >= ENCODING:
            self._append_oldest()
        self._encoding.append((_encoders().submit(self._encode, table, self._next_file()), table.nbytes))
        self._pending = []
        self._pending_bytes = 0

    def _append_oldest(self) -> None:
        future, decoded = self._encoding.popleft()
        encoded = future.result()
        self._stored_per_byte = encoded.stat().st_size / max(1, decoded)
        self._joined.append(encoded)

    def size(self) -> int:
        # Grows in row-group steps; the landing rotates parts on this number, so what is still being encoded
        # counts at the stored size per decoded byte seen so far.
        flight = sum(decoded for _, decoded in self._encoding)
        return int(self._joined.position + flight * self._stored_per_byte)

    def close(self) -> None:
        try:
            self._flush()
            while self._encoding:
                self._append_oldest()
            if not self._joined.groups:  # a part without rows still holds the schema
                self._joined.append(self._encode(self.schema.empty_table(), self._next_file()))
            self._joined.close()
        finally:
            for future, _ in self._encoding:  # only when closing failed: the part is thrown away
                future.cancel()
            wait([future for future, _ in self._encoding])
            self._encoding.clear()
            self._sink.close()
            for number in range(1, self._encoded + 1):
                self._file(number).unlink(missing_ok=True)

    @classmethod
    def count_rows(cls, path: Path) -> int | None:
        return int(pq.read_metadata(path).num_rows)
