"""Home `parquet`: parquet files, folders of them, or a glob."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hygge.formats.parquet import ParquetReader
from hygge.homes.files import FileHome, FileHomeConfig


class ParquetHomeConfig(FileHomeConfig):
    decoder: Literal["auto", "pyarrow", "polars"] = Field(
        "auto", description="who decodes the pages: auto gives files of at least 64 MiB whose pages carry no "
                            "checksums to polars (half the CPU), the rest to pyarrow (formats/parquet_decode.py)")


class ParquetHome(FileHome):
    type_name = "parquet"
    Config = ParquetHomeConfig
    Reader = ParquetReader
