"""The one small interface every place bytes live goes through: range reads, streamed uploads, listing,
deletes and a conditional put (create-if-absent, compare-and-swap on an ETag or generation).

The commit protocol of file Stores on a bucket (stores/bucket_landing.py), the manifest with its lease
(storage/manifest_object.py) and the file Homes are written against it; a new backend is a subclass that says
how, not another copy of the protocol.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from hygge.errors import HyggeError


@dataclass(frozen=True)
class Entry:
    """One object: its key below the storage's root, size, modification time and version tag."""

    key: str
    size: int
    mtime_ns: int | None = None
    etag: str | None = None

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def fingerprint(self) -> dict[str, Any]:
        """What tells one version of the object from another (incremental homes skip objects already loaded)."""
        return {"size": self.size, "mtime_ns": self.mtime_ns, "etag": self.etag}


class Conflict(Exception):
    """A conditional put found the object in another state than the caller expected."""


class StorageError(HyggeError):
    kind = "storage"


class Storage(ABC):
    """A bucket prefix (or a folder): keys are '/'-separated paths below it."""

    url: str  # the root, as people see it (no secrets)

    def show(self, key: str) -> str:
        return f"{self.url.rstrip('/')}/{key}" if key else self.url

    @abstractmethod
    def entries(self, prefix: str = "", recursive: bool = True) -> list[Entry]:
        """The objects below ``prefix`` (a folder-like key, "" for the root), sorted by key."""

    @abstractmethod
    def folders(self, prefix: str = "") -> list[str]:
        """The names of the folder-like prefixes directly below ``prefix``."""

    @abstractmethod
    def stat(self, key: str) -> Entry | None: ...

    @abstractmethod
    def open_input_file(self, key: str) -> pa.NativeFile:
        """For random access (parquet footers, then only the row groups and columns needed)."""

    def open_input_stream(self, key: str) -> pa.NativeFile:
        """For reading from start to end (csv, jsonl)."""
        return self.open_input_file(key)

    @abstractmethod
    def upload(self, local: Path, key: str) -> Entry:
        """Put a local file as one object, in parallel parts when it is large; never the whole file in memory."""

    @abstractmethod
    def create_file(self, local: Path, key: str) -> Entry:
        """Put a local file as one object only if no object has the key (raises Conflict otherwise). The object
        appears whole or not at all; ``create_limit`` says how large the file may be."""

    def create_limit(self) -> int | None:
        """The bytes a create_file takes at most, when the backend has a bound."""
        return None

    @abstractmethod
    def download(self, key: str, local: Path, progress: Callable[[int], None] | None = None) -> None:
        """The object's bytes into a local file; ``progress`` is told the bytes the file holds after each
        chunk, once they are written through to it (another handle on the file can read them)."""

    @abstractmethod
    def read(self, key: str) -> tuple[bytes, str] | None:
        """A small object's bytes and version tag, or None when there is none."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> str:
        """Write ``data`` only if no object has the key; its version tag. Raises Conflict otherwise."""

    @abstractmethod
    def replace(self, key: str, data: bytes, etag: str) -> str:
        """Write ``data`` only if the object is still at version ``etag``; the new tag. Raises Conflict otherwise."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Write a small object unconditionally (run records: one object per run, never shared)."""

    @abstractmethod
    def delete(self, keys: list[str]) -> None:
        """Delete these objects; missing ones are not an error."""

    def walk_files(self, prefix: str) -> Iterator[Entry]:
        yield from self.entries(prefix)
