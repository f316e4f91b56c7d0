"""Home `parquet`: parquet files, folders of them, or a glob."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hygge.formats.parquet import ParquetReader
from hygge.homes.base import WholeParquet
from hygge.homes.files import FileHome, FileHomeConfig, FileSource


class ParquetHomeConfig(FileHomeConfig):
    decoder: Literal["auto", "pyarrow", "polars"] = Field(
        "auto", description="who decodes the pages: auto gives files of at least 64 MiB whose pages carry no "
                            "checksums to polars (half the CPU), the rest to pyarrow (formats/parquet_decode.py)")


class ParquetSource(FileSource):
    reader: ParquetReader

    def whole_parquet(self) -> WholeParquet | None:
        if (self.is_part or self.rows is not None or self.path_columns is not None or not self.files
                or not self.estimated_rows):
            # A row filter changes what the files hold, and path columns are not in them; with no rows at all,
            # the batch path writes the empty part or table that carries the schema.
            return None
        return WholeParquet(files=list(self.files), schema=self.schema, footer=self.reader.footer,
                            rows_of=self.file_rows.get, changed=self.changed_since_open, show=self.home.show)


class ParquetHome(FileHome):
    type_name = "parquet"
    Config = ParquetHomeConfig
    Reader = ParquetReader
    source_type = ParquetSource
