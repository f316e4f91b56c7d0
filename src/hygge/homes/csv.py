"""Home `csv`: delimited text files with explicit parsing options and a schema unified across files."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hygge.core.arrowtypes import validate_column_types
from hygge.core.plan import MovePlan
from hygge.formats.base import FormatReader
from hygge.formats.csv import CsvReader
from hygge.formats.quarantine import Quarantine
from hygge.homes.files import FileHome, FileHomeConfig


class CsvHomeConfig(FileHomeConfig):
    delimiter: str = Field(",", min_length=1, max_length=1)
    header: bool = True
    column_names: list[str] | None = Field(None, description="names to use when header is false")
    quote: str | None = Field('"', max_length=1, description="quote character; empty for none")
    double_quote: bool = True
    escape: str | None = Field(None, max_length=1)
    encoding: str = "utf-8"
    null_values: list[str] = Field(default_factory=lambda: [""])
    true_values: list[str] | None = None
    false_values: list[str] | None = None
    columns: dict[str, str] = Field(default_factory=dict, description="column: type, e.g. amount: decimal(12,2)")
    formats: dict[str, str] = Field(
        default_factory=dict, description='column: strptime format of its dates or times, e.g. order_date: "%d/%m/%Y"')
    skip_rows: int = Field(0, ge=0)
    newlines_in_values: bool = True
    on_bad_rows: Literal["fail", "quarantine"] = Field(
        "fail", description="quarantine: rows with the wrong number of fields go to a side file; the rest load"
    )

    @field_validator("columns")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_column_types(value)

    @model_validator(mode="after")
    def _formats(self) -> CsvHomeConfig:
        from hygge.core.arrowtypes import parse_type
        from hygge.formats.datetimes import check_format

        wrong = [problem for name, fmt in self.formats.items()
                 if (problem := check_format(name, fmt, parse_type(self.columns[name]) if name in self.columns
                                             else None))]
        if wrong:
            raise ValueError("; ".join(wrong))
        return self

    @field_validator("column_names")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        twice = sorted({name for name in value or [] if (value or []).count(name) > 1})
        if twice:
            raise ValueError(f"names {', '.join(twice)} more than once: every column needs a name of its own")
        return value


class CsvHome(FileHome):
    type_name = "csv"
    Config = CsvHomeConfig
    Reader = CsvReader
    config: CsvHomeConfig

    def reader(self, plan: MovePlan) -> FormatReader:
        reader = super().reader(plan)
        if self.config.on_bad_rows == "quarantine" and self.remote:
            from hygge.errors import ConfigError, ConfigProblem

            raise ConfigError([ConfigProblem(
                "on_bad_rows: quarantine reads the bad rows back from a local file; this home is on a bucket",
                key="on_bad_rows", expected="a local path for a quarantining csv home", found=self.config.path,
                hint="use on_bad_rows: fail here, or copy the files to a local folder first")])
        if self.config.on_bad_rows == "quarantine":
            assert isinstance(reader, CsvReader)
            folder = self.root / ".hygge" / "quarantine" / plan.flow / plan.entity
            reader.quarantine = Quarantine(folder, self.config.encoding)
        return reader
