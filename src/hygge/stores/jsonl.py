"""Store `jsonl`: JSON lines part files (decimals as strings, binary as base64, times as ISO 8601)."""

from __future__ import annotations

from hygge.formats.jsonl import JsonlPartWriter
from hygge.stores.files import FileStore, FileStoreConfig


class JsonlStoreConfig(FileStoreConfig):
    pass


class JsonlStore(FileStore):
    type_name = "jsonl"
    Config = JsonlStoreConfig
    Writer = JsonlPartWriter
    extension = ".jsonl"
