"""Store `csv`: delimited text part files, optionally gzip-compressed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hygge.formats.csv import CsvPartWriter
from hygge.stores.files import FileStore, FileStoreConfig


class CsvStoreConfig(FileStoreConfig):
    delimiter: str = Field(",", min_length=1, max_length=1)
    header: bool = True
    quoting: Literal["needed", "all_valid", "none"] = "needed"
    compression: Literal["gzip", "bz2", "zstd"] | None = None


class CsvStore(FileStore):
    type_name = "csv"
    Config = CsvStoreConfig
    Writer = CsvPartWriter
    extension = ".csv"
    config: CsvStoreConfig

    def part_name(self, number: int) -> str:
        suffix = {"gzip": ".gz", "bz2": ".bz2", "zstd": ".zst"}.get(self.config.compression or "", "")
        return f"part-{number:05d}{self.extension}{suffix}"
