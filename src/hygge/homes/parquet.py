"""Home `parquet`: parquet files, folders of them, or a glob."""

from __future__ import annotations

from hygge.formats.parquet import ParquetReader
from hygge.homes.files import FileHome, FileHomeConfig


class ParquetHomeConfig(FileHomeConfig):
    pass


class ParquetHome(FileHome):
    type_name = "parquet"
    Config = ParquetHomeConfig
    Reader = ParquetReader
