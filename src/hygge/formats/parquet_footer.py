"""A parquet file's footer, read and written back: here, to set the Arrow schema a reader restores.

Files written by another engine (polars, see parquet_polars.py) carry that engine's idea of the Arrow types
(large_string for string, say) in the footer's ``ARROW:schema`` key, which pyarrow uses to choose the types it
reads back. Setting hygge's own schema there makes the file read back with exactly the types it was given, as a
file written by Arrow would: the parquet types underneath are the same for every type allowed on that path.

No library writes a parquet footer as data (pyarrow's FileMetaData has no setters), so this holds just enough of
Thrift's compact protocol to read a footer into a tree and write it back byte for byte. Only the key-value
metadata field is interpreted; every other field goes through untouched, whatever its meaning.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.storage.blob import FilePath, opened

MAGIC = b"PAR1"

# Thrift compact protocol type codes
STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)
INTEGERS = (I16, I32, I64)

# parquet.thrift: FileMetaData.key_value_metadata, KeyValue.key, KeyValue.value
FILE_KEY_VALUES, KEY, VALUE = 5, 1, 2
ARROW_SCHEMA = b"ARROW:schema"

Fields = list[list[Any]]  # [field id, type code, value] in the order they were read


class FooterError(ValueError):
    """A footer this module cannot read."""


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> Any:
        if kind in INTEGERS:
            return self.zigzag()
        if kind == STRUCT:
            return self.struct()
        if kind == BINARY:
            size = self.varint()
            self.pos += size
            return self.data[self.pos - size:self.pos]
        if kind in (LIST, SET):
            head = self.byte()
            size, element = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return element, [self.element(element) for _ in range(size)]
        if kind == MAP:
            size = self.varint()
            if size == 0:
                return 0, []
            types = self.byte()
            return types, [(self.element(types >> 4), self.element(types & 0x0F)) for _ in range(size)]
        if kind == BYTE:
            return self.byte()
        if kind == DOUBLE:
            self.pos += 8
            return self.data[self.pos - 8:self.pos]
        raise FooterError(f"unknown Thrift type {kind} at byte {self.pos}")

    def element(self, kind: int) -> Any:
        # inside collections a boolean is one byte of its own
        return self.byte() if kind in (TRUE, FALSE) else self.value(kind)

    def struct(self) -> Fields:
        fields: Fields = []
        last = 0
        while True:
            head = self.byte()
            if head == STOP:
                return fields
            kind, delta = head & 0x0F, head >> 4
            number = last + delta if delta else self.zigzag()
            fields.append([number, kind, None if kind in (TRUE, FALSE) else self.value(kind)])
            last = number


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n >= 0x80:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int) -> None:
        self.varint((n << 1) ^ (n >> 63))

    def value(self, kind: int, value: Any) -> None:
        if kind in INTEGERS:
            self.zigzag(value)
        elif kind == STRUCT:
            self.struct(value)
        elif kind == BINARY:
            self.varint(len(value))
            self.out += value
        elif kind in (LIST, SET):
            element, items = value
            if len(items) < 15:
                self.out.append(len(items) << 4 | element)
            else:
                self.out.append(0xF0 | element)
                self.varint(len(items))
            for item in items:
                self.element(element, item)
        elif kind == MAP:
            types, pairs = value
            self.varint(len(pairs))
            if pairs:
                self.out.append(types)
                for key, item in pairs:
                    self.element(types >> 4, key)
                    self.element(types & 0x0F, item)
        elif kind == BYTE:
            self.out.append(value)
        elif kind == DOUBLE:
            self.out += value
        else:
            raise FooterError(f"unknown Thrift type {kind}")

    def element(self, kind: int, value: Any) -> None:
        if kind in (TRUE, FALSE):
            self.out.append(value)
        else:
            self.value(kind, value)

    def struct(self, fields: Fields) -> None:
        last = 0
        for number, kind, value in fields:
            if 0 < number - last <= 15:
                self.out.append((number - last) << 4 | kind)
            else:
                self.out.append(kind)
                self.zigzag(number)
            if kind not in (TRUE, FALSE):
                self.value(kind, value)
            last = number
        self.out.append(STOP)


def decode(footer: bytes) -> Fields:
    return _Reader(footer).struct()


def encode(fields: Fields) -> bytes:
    writer = _Writer()
    writer.struct(fields)
    return bytes(writer.out)


def field(fields: Fields, number: int) -> list[Any] | None:
    return next((f for f in fields if f[0] == number), None)


def arrow_schema_value(schema: pa.Schema) -> bytes:
    """The ``ARROW:schema`` value Arrow's own writer stores for ``schema`` (taken from an empty file it writes)."""
    sink = pa.BufferOutputStream()
    pq.ParquetWriter(sink, schema, store_schema=True).close()
    metadata = pq.read_metadata(pa.BufferReader(sink.getvalue())).metadata
    return bytes(metadata[ARROW_SCHEMA])


def set_arrow_schema(path: Path, schema: pa.Schema) -> None:
    """Rewrite the footer of the parquet file at ``path`` so that its ``ARROW:schema`` is ``schema``'s."""
    with open(path, "r+b") as file:
        size = file.seek(0, 2)
        file.seek(size - 8)
        tail = file.read(8)
        if size < 12 or tail[4:] != MAGIC:
            raise FooterError(f"{path} is not a parquet file: the PAR1 magic is missing")
        start = size - 8 - int.from_bytes(tail[:4], "little")
        file.seek(start)
        footer = decode(file.read(size - 8 - start))
        pairs = [[[KEY, BINARY, ARROW_SCHEMA], [VALUE, BINARY, arrow_schema_value(schema)]]]
        found = field(footer, FILE_KEY_VALUES)
        if found is None:
            footer.append([FILE_KEY_VALUES, LIST, (STRUCT, pairs)])
            footer.sort(key=lambda f: f[0])
        else:
            kept = [pair for pair in found[2][1] if bytes(field(pair, KEY)[2]) != ARROW_SCHEMA]  # type: ignore[index]
            found[1], found[2] = LIST, (STRUCT, kept + pairs)
        new = encode(footer)
        file.seek(start)
        file.write(new + struct.pack("<I", len(new)) + MAGIC)
        file.truncate()


# parquet.thrift: PageHeader.crc
PAGE_CRC = 4
# A page header is a few dozen bytes, more with statistics of long values; one that does not fit is not probed.
PAGE_HEADER_BYTES = 64 * 2**10


def pages_carry_checksums(path: FilePath, meta: pq.FileMetaData) -> bool:
    """Whether the file's pages carry CRC checksums, judged by the first page of its first column chunk.

    Writers set checksums for a whole file or not at all (Arrow's ``write_page_checksum``, hygge's parts); a
    header this module cannot read counts as carrying them, so the reader that verifies them gets the file.
    """
    if meta.num_row_groups == 0 or meta.num_columns == 0:
        return False
    chunk = meta.row_group(0).column(0)
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    if start is None or start < len(MAGIC):  # some old writers record no usable offset
        return True
    try:
        with opened(path) as file:
            file.seek(start)
            header = decode(file.read(PAGE_HEADER_BYTES))
    except (FooterError, IndexError, OSError, ValueError):
        return True
    return field(header, PAGE_CRC) is not None
