"""Parquet to parquet with nothing to change: copy the files whole instead of decoding and encoding them.

When a move neither reshapes nor filters the rows, and the source files
already use the store's compression and the entity's exact schema, the
fastest correct move is a byte copy of each file: the same rows, the same
types, at disk speed. Each copy is checked by its footer (row count and
schema) before it is published. Pages are not decoded, so damage inside a
source page travels as it is; set `copy_unchanged: false` on the store to
re-encode (and check) every page instead.
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


def whole_files(source: Source, landing: Any, polisher: Polisher, drift: Drift | None, mode: str) -> list[Path]:
    """The source's files, if every one can be copied as it is; otherwise an empty list."""
    files: list[Path] = getattr(source, "files", [])
    store = getattr(landing, "store", None)
    if not files or store is None or getattr(source, "rows", None) is not None:
        return []
    config = store.config
    if store.type_name != "parquet" or getattr(source, "reader", None) is None or not getattr(
            config, "copy_unchanged", False):
        return []
    if type(source.reader).__name__ != "ParquetReader" or not polisher.identity or drift is not None:  # type: ignore
        return []
    if mode not in ("full_drop", "append") or config.compression_level is not None:
        return []
    if not getattr(source, "estimated_rows", 0):
        return []  # nothing to copy: the usual path writes an empty part that carries the schema
    wanted = CODECS.get(config.compression, "")
    for path in files:
        if path.stat().st_size > config.target_file_size or not _same(path, source.schema, wanted):
            return []
    return files


def _same(path: Path, schema: pa.Schema, codec: str) -> bool:
    meta = pq.read_metadata(path)
    if plain(meta.schema.to_arrow_schema()) != plain(schema):
        return False
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        for column in range(row_group.num_columns):
            found = row_group.column(column).compression
            if found != codec and not (codec == "LZ4" and found == "LZ4_RAW"):
                return False
    return True
