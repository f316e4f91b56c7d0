"""Store `parquet`: part files with chosen compression, byte-sized row groups and a target file size."""

from __future__ import annotations

from typing import Literal

from pydantic import ByteSize, Field

from hygge.formats.parquet import ParquetPartWriter
from hygge.stores.files import FileStore, FileStoreConfig


class ParquetStoreConfig(FileStoreConfig):
    compression: Literal["snappy", "zstd", "gzip", "lz4", "brotli", "none"] = "snappy"
    compression_level: int | None = None
    row_group_bytes: ByteSize = Field(ByteSize(64 * 2**20), description="decoded bytes per row group")
    copy_unchanged: bool = Field(
        True, description="copy parquet files whole when nothing about their rows, types or compression changes"
    )


class ParquetStore(FileStore):
    type_name = "parquet"
    Config = ParquetStoreConfig
    Writer = ParquetPartWriter
    extension = ".parquet"
    config: ParquetStoreConfig

    def slice_bytes(self) -> int:
        return int(self.config.row_group_bytes)
