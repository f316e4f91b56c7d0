"""Parquet files with nothing to change: moved by a faster path than decoding and encoding every batch.

When a move neither reshapes nor filters the rows, a Source may offer them
as whole parquet files (``Source.whole_parquet``) and a Landing may take them
so (``Landing.take_whole``); both are declared in the Home and Store
interfaces. When the files already hold the entity's exact schema, two
stores can take them whole:

- a parquet store copies each file as bytes, at disk speed, when the store's
  compression is the files' own or was left unset (a codec the user wrote
  is a promise about the files; the default only says how hygge encodes);
  each copy is checked by its footer (row count and schema) and by decoding
  every page (with their checksums, where the file has them) before it is
  published: a damaged file fails the move, naming it. A copy keeps its source's size: only a
  `target_file_size` the user set makes larger files go through encoding,
  to be split into parts of that size;
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

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.core.drift import Drift
from hygge.core.polish import Polisher
from hygge.formats.schemas import plain
from hygge.homes.base import Source, WholeParquet
from hygge.storage.blob import local

if TYPE_CHECKING:
    from hygge.stores.parquet import ParquetStoreConfig

CODECS = {"none": "UNCOMPRESSED", "snappy": "SNAPPY", "zstd": "ZSTD", "gzip": "GZIP", "brotli": "BROTLI",
          "lz4": "LZ4"}
KNOWN_CODECS = {*CODECS.values(), "LZ4_RAW"}


def unchanged(source: Source, polisher: Polisher, drift: Drift | None, mode: str) -> WholeParquet | None:
    """The source's parquet files, when the move changes nothing about their rows; otherwise None."""
    if not polisher.identity or drift is not None or mode not in ("full_drop", "append"):
        return None
    return source.whole_parquet()


def copyable(whole: WholeParquet, config: ParquetStoreConfig) -> bool:
    """Whether every file can be copied as it is into a parquet store with this config."""
    if not config.copy_unchanged or config.compression_level is not None:
        return False
    # Left unset, compression only says how hygge encodes; a file copied whole keeps its own codec (a zstd file
    # from polars or Spark is not worth re-encoding to snappy). A codec the user wrote is a promise about every file.
    wanted = CODECS.get(config.compression, "") if "compression" in config.model_fields_set else None
    # The default part size is only where hygge cuts files it encodes; re-encoding a 4 GB file just to cut it
    # costs minutes. A size the user chose is a promise about the files, so larger ones are re-encoded.
    limit = config.target_file_size if "target_file_size" in config.model_fields_set else None
    return all((limit is None or path.stat().st_size <= limit) and _same(whole.footer(path), whole.schema, wanted)
               for path in whole.files)


def polars_encodable(whole: WholeParquet, config: ParquetStoreConfig) -> bool:
    """Whether a parquet store may re-encode the files with polars (formats/parquet_polars.py)."""
    if not config.parallel_encode or not config.copy_unchanged:
        return False  # copy_unchanged false: the user asked for every page through hygge's reader and writer
    from hygge.formats.parquet_decode import polars_can_encode
    from hygge.formats.parquet_footer import pages_carry_checksums

    if not polars_can_encode(whole.schema) or not all(local(path) for path in whole.files):
        return False  # polars reads local files here; objects on a bucket go through hygge's reader
    # Exact types, and codecs hygge reads too (an LZO file goes to hygge's reader, which says it cannot decode it).
    # Polars does not verify page checksums: files that carry them (hygge's own parts among them) go through
    # pyarrow, which does, so a page damaged in a way that still decodes is caught.
    return all(_same_exact_schema(meta, whole.schema) and _same(meta, whole.schema, None)
               and not pages_carry_checksums(path, meta)
               for path, meta in ((path, whole.footer(path)) for path in whole.files))


def one_schema(whole: WholeParquet) -> bool:
    """Whether every file holds the entity's schema, so an engine can read them as one table without hygge's
    unification across files."""
    return all(_same_schema(whole.footer(path), whole.schema) for path in whole.files)


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
