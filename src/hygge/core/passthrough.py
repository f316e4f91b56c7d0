"""Parquet files with nothing to change: moved by a faster path than decoding and encoding every batch.

When a move neither reshapes nor filters the rows, and the source files
already hold the entity's exact schema, two stores can take them whole:

- a parquet store copies each file as bytes, at disk speed, when the store's
  compression is the files' own or was left unset (a codec the user wrote
  is a promise about the files; the default only says how hygge encodes);
  each copy is checked by its footer (row count and schema) before it is
  published. A copy keeps its source's size: only a
  `target_file_size` the user set makes larger files go through encoding,
  to be split into parts of that size. Pages are not decoded, so damage inside a source
  page travels as it is; set `copy_unchanged: false` on the store to
  re-encode (and check) every page instead;
- a parquet store that must encode them all the same (another codec or
  compression level, parts smaller than the files) lets polars re-encode
  them on every core when every column has a type polars writes as Arrow
  does (formats/parquet_polars.py); `copy_unchanged: false` or
  `parallel_encode: false` keep every page on hygge's checked path;
- a DuckDB store reads the files with DuckDB's own parquet reader, in
  parallel, when DuckDB sees exactly the column types hygge created the
  table with; the rows it inserted are checked against the footers. DuckDB
  does not verify page checksums; set `native_parquet: false` on the store
  to read through hygge's checked reader instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.core.drift import Drift
from hygge.core.polish import Polisher
from hygge.formats.schemas import plain
from hygge.homes.base import Source

CODECS = {"none": "UNCOMPRESSED", "snappy": "SNAPPY", "zstd": "ZSTD", "gzip": "GZIP", "brotli": "BROTLI",
          "lz4": "LZ4"}
KNOWN_CODECS = {*CODECS.values(), "LZ4_RAW"}


def unchanged_files(source: Source, polisher: Polisher, drift: Drift | None, mode: str) -> list[Path]:
    """The source's parquet files, when the move changes nothing about their rows; otherwise an empty list."""
    files: list[Path] = getattr(source, "files", [])
    if not files or getattr(source, "rows", None) is not None or getattr(source, "reader", None) is None:
        return []
    if type(source.reader).__name__ != "ParquetReader" or not polisher.identity or drift is not None:  # type: ignore
        return []
    if mode not in ("full_drop", "append"):
        return []
    if not getattr(source, "estimated_rows", 0):
        return []  # nothing to move: the usual path writes an empty part or table that carries the schema
    return files


def whole_files(source: Source, landing: Any, polisher: Polisher, drift: Drift | None, mode: str) -> list[Path]:
    """The source's files, if every one can be copied as it is into a parquet store; otherwise an empty list."""
    store = getattr(landing, "store", None)
    if store is None or store.type_name != "parquet" or not getattr(store.config, "copy_unchanged", False):
        return []
    config = store.config
    files = unchanged_files(source, polisher, drift, mode)
    if not files or config.compression_level is not None:
        return []
    # Left unset, compression only says how hygge encodes; a file copied whole keeps its own codec (a zstd file
    # from polars or Spark is not worth re-encoding to snappy). A codec the user wrote is a promise about every file.
    wanted = CODECS.get(config.compression, "") if "compression" in config.model_fields_set else None
    # The default part size is only where hygge cuts files it encodes; re-encoding a 4 GB file just to cut it
    # costs minutes. A size the user chose is a promise about the files, so larger ones are re-encoded.
    limit = config.target_file_size if "target_file_size" in config.model_fields_set else None
    footer = source.reader.footer  # type: ignore[attr-defined]  # a ParquetReader (unchanged_files checked)
    for path in files:
        if (limit is not None and path.stat().st_size > limit) or not _same(footer(path), source.schema, wanted):
            return []
    return files


def polars_files(source: Source, landing: Any, polisher: Polisher, drift: Drift | None, mode: str) -> list[Path]:
    """The source's files, if a parquet store may re-encode them with polars (formats/parquet_polars.py)."""
    store = getattr(landing, "store", None)
    if store is None or store.type_name != "parquet" or not store.config.parallel_encode:
        return []
    if not store.config.copy_unchanged:
        return []  # the user asked for every page through hygge's checked reader and writer
    from hygge.formats.parquet_decode import polars_can_encode

    files = unchanged_files(source, polisher, drift, mode)
    if not files or not polars_can_encode(source.schema):
        return []
    footer = source.reader.footer  # type: ignore[attr-defined]
    # exact types, and codecs hygge reads too (an LZO file goes to hygge's reader, which says it cannot decode it)
    metas = [footer(path) for path in files]
    if not all(_same_exact_schema(meta, source.schema) and _same(meta, source.schema, None) for meta in metas):
        return []
    return files


def native_files(source: Source, landing: Any, polisher: Polisher, drift: Drift | None, mode: str) -> list[Path]:
    """The source's files, if a database store may read them with its own parquet reader; else an empty list."""
    store = getattr(landing, "store", None)
    if store is None or not getattr(store.config, "native_parquet", False) or not hasattr(landing, "load_files"):
        return []
    files = unchanged_files(source, polisher, drift, mode)
    # One schema in every file: the engine reads them as one table, without hygge's unification across files.
    footer = source.reader.footer  # type: ignore[attr-defined]
    if not all(_same_schema(footer(path), source.schema) for path in files):
        return []
    return files


def _same_schema(meta: pq.FileMetaData, schema: pa.Schema) -> bool:
    return plain(meta.schema.to_arrow_schema()) == plain(schema)


def _same_exact_schema(meta: pq.FileMetaData, schema: pa.Schema) -> bool:
    """Same names and types: polars reads each file with its own types, hygge's reader would cast them."""
    found = meta.schema.to_arrow_schema()
    return found.names == schema.names and found.types == schema.types


def _same(meta: pq.FileMetaData, schema: pa.Schema, codec: str | None) -> bool:
    """Whether the file holds exactly ``schema``, every column chunk compressed with ``codec`` (None: any codec
    hygge itself reads and writes; an LZO file goes through the reader, which says it cannot decode it)."""
    if not _same_schema(meta, schema):
        return False
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        for column in range(row_group.num_columns):
            found = row_group.column(column).compression
            if codec is None:
                if found not in KNOWN_CODECS:
                    return False
            elif found != codec and not (codec == "LZ4" and found == "LZ4_RAW"):
                return False
    return True
