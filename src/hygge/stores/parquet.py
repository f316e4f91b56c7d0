"""Store `parquet`: part files with chosen compression, byte-sized row groups and a target file size."""

from __future__ import annotations

from typing import Literal

from pydantic import ByteSize, Field, model_validator

from hygge.core.plan import MovePlan
from hygge.formats.parquet import ParquetPartWriter
from hygge.state.journal import RunRecord
from hygge.stores.base import Landing
from hygge.stores.files import FileStore, FileStoreConfig


class ParquetStoreConfig(FileStoreConfig):
    compression: Literal["snappy", "zstd", "gzip", "lz4", "brotli", "none"] = "snappy"
    compression_level: int | None = None
    row_group_bytes: ByteSize = Field(ByteSize(64 * 2**20), description="decoded bytes per row group")
    # Arrow's default (1 MiB) hashes up to a MiB of values (128k int64) into a dictionary before it gives up on a
    # column of unique values: writing the 200-column benchmark table took 3.7 s per 200k rows at 1 MiB, 2.8 s at
    # 256 KiB, 1.9 s at 64 KiB, and the files came out larger, not smaller. At 64 KiB a column keeps its dictionary
    # up to ~8k distinct 8-byte values or ~4k short strings (codes, categories, statuses); TPC-H lineitem's
    # mid-cardinality keys lose theirs (+5% file size).
    dictionary_page_bytes: ByteSize = Field(
        ByteSize(64 * 2**10), description="largest dictionary per column chunk before falling back to plain"
    )
    parallel_encode: bool = Field(
        True, description="re-encode parquet files whose rows do not change with polars, on every core"
    )
    copy_unchanged: bool = Field(
        True, description="copy parquet files whole when nothing about their rows, types or compression changes"
    )


    @model_validator(mode="after")
    def _level_needs_a_codec_with_levels(self) -> ParquetStoreConfig:
        if self.compression_level is not None and self.compression in ("snappy", "none"):
            raise ValueError(f"compression_level needs a codec with levels (zstd, gzip, brotli, lz4); "
                             f"{self.compression} has none")
        return self


class ParquetStore(FileStore):
    type_name = "parquet"
    Config = ParquetStoreConfig
    Writer = ParquetPartWriter
    extension = ".parquet"
    config: ParquetStoreConfig

    def slice_bytes(self) -> int:
        return int(self.config.row_group_bytes)

    def local_landing(self, plan: MovePlan, record: RunRecord) -> Landing:
        from hygge.stores.parquet_landing import ParquetLanding

        return ParquetLanding(self, plan, record)
