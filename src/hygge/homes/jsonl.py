"""Home `jsonl`: JSON lines (one object per line), with inferred or explicit field types."""

from __future__ import annotations

from pydantic import Field, field_validator

from hygge.core.arrowtypes import validate_column_types
from hygge.formats.jsonl import JsonlReader
from hygge.homes.files import FileHome, FileHomeConfig


class JsonlHomeConfig(FileHomeConfig):
    columns: dict[str, str] = Field(default_factory=dict, description="field: type, e.g. day: date32")

    @field_validator("columns")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_column_types(value)


class JsonlHome(FileHome):
    type_name = "jsonl"
    Config = JsonlHomeConfig
    Reader = JsonlReader
