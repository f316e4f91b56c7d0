"""One parquet file made of row groups encoded apart, each as a parquet file of its own in memory.

pyarrow's writer encodes a row group on one thread. To encode row groups on every core and still write one part
file in order, the part writer encodes each row group as a complete little parquet file and appends it here: its
column chunks (pages, and any page index or bloom filter behind them) are copied byte for byte, and its footer's
row group goes into the part's footer with every file offset moved by where the bytes landed. The pages, their
checksums and statistics are exactly what the writer made; only their position changes.

The footers are read and written with parquet_footer's Thrift codec; the fields below are parquet.thrift's.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path
from typing import BinaryIO

from hygge.formats.parquet_footer import I16, I64, LIST, MAGIC, STRUCT, Fields, FooterError, decode, encode, field

# FileMetaData
NUM_ROWS, ROW_GROUPS = 3, 4
# RowGroup
COLUMNS, GROUP_FILE_OFFSET, ORDINAL = 1, 5, 7
# ColumnChunk
CHUNK_FILE_OFFSET, META_DATA, OFFSET_INDEX_OFFSET, COLUMN_INDEX_OFFSET = 2, 3, 4, 6
# ColumnMetaData
DATA_PAGE_OFFSET, INDEX_PAGE_OFFSET, DICTIONARY_PAGE_OFFSET, BLOOM_FILTER_OFFSET = 9, 10, 11, 14

CHUNK_OFFSETS = (CHUNK_FILE_OFFSET, OFFSET_INDEX_OFFSET, COLUMN_INDEX_OFFSET)
META_OFFSETS = (DATA_PAGE_OFFSET, INDEX_PAGE_OFFSET, DICTIONARY_PAGE_OFFSET, BLOOM_FILTER_OFFSET)


def read_footer(file: BinaryIO) -> tuple[Fields, int]:
    """A parquet file's decoded footer and where its footer starts."""
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - 8))
    tail = file.read(8)
    if size < 12 or tail[4:] != MAGIC:
        raise FooterError("not a parquet file: the PAR1 magic is missing")
    start = size - 8 - int.from_bytes(tail[:4], "little")
    file.seek(start)
    return decode(file.read(size - 8 - start)), start


def copy_range(source: BinaryIO, sink: BinaryIO, start: int, length: int) -> None:
    """Bytes ``start`` to ``start + length`` of ``source`` appended to ``sink``, in the kernel where it can."""
    source.seek(start)
    sink.flush()
    while length > 0:
        try:
            done = os.copy_file_range(source.fileno(), sink.fileno(), length)
        except (AttributeError, OSError):  # not Linux, or filesystems that cannot: through user space
            source.seek(start)
            shutil.copyfileobj(_Limited(source, length), sink)
            return
        if done == 0:
            raise FooterError("the row group's file ended early")
        start += done
        length -= done


def _shift(fields: Fields, numbers: tuple[int, ...], delta: int) -> None:
    for found in fields:
        if found[0] in numbers and found[1] == I64:
            found[2] += delta


def _moved(group: Fields, delta: int) -> Fields:
    _shift(group, (GROUP_FILE_OFFSET,), delta)
    columns = field(group, COLUMNS)
    for chunk in columns[2][1] if columns else []:
        _shift(chunk, CHUNK_OFFSETS, delta)
        meta = field(chunk, META_DATA)
        if meta is not None:
            _shift(meta[2], META_OFFSETS, delta)
    return group


class JoinedParquet:
    """Writes one parquet file to ``sink`` from whole parquet files appended in order (see the module)."""

    def __init__(self, sink: BinaryIO):
        self.sink = sink
        self.sink.write(MAGIC)
        self.position = len(MAGIC)
        self.footer: Fields | None = None
        self.groups: list[Fields] = []
        self.rows = 0

    def append(self, path: Path) -> None:
        """The row groups of the parquet file at ``path``, which is then removed."""
        with open(path, "rb") as source:
            footer, start = read_footer(source)
            copy_range(source, self.sink, len(MAGIC), start - len(MAGIC))
        path.unlink()
        if self.footer is None:
            self.footer = footer  # schema, created_by, key-value metadata (ARROW:schema), column orders
        delta = self.position - len(MAGIC)
        found = field(footer, ROW_GROUPS)
        for group in found[2][1] if found else []:
            self.groups.append(_moved(group, delta))
        num_rows = field(footer, NUM_ROWS)
        self.rows += num_rows[2] if num_rows else 0
        self.position += start - len(MAGIC)

    def close(self) -> None:
        """Write the footer: the first file's, with every row group appended and their row count."""
        if self.footer is None:
            raise FooterError("no parquet file was appended")
        for ordinal, group in enumerate(self.groups):
            found = field(group, ORDINAL)
            if found is not None:
                found[2] = ordinal
            elif ordinal < 2**15:
                group.append([ORDINAL, I16, ordinal])
                group.sort(key=lambda f: f[0])
        footer = [f for f in self.footer if f[0] not in (NUM_ROWS, ROW_GROUPS)]
        footer += [[NUM_ROWS, I64, self.rows], [ROW_GROUPS, LIST, (STRUCT, self.groups)]]
        footer.sort(key=lambda f: f[0])
        data = encode(footer)
        self.sink.write(data + struct.pack("<I", len(data)) + MAGIC)


class _Limited:
    """The first ``length`` bytes of a file, for shutil.copyfileobj."""

    def __init__(self, file: BinaryIO, length: int):
        self.file, self.left = file, length

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.file.read(size)
        self.left -= len(data)
        return data
