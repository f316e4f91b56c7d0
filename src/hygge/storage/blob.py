"""An object on a bucket, standing where the file Homes and readers take a local ``Path``.

The file Homes list, name, stat and open files; a Blob answers the same questions from the bucket (a listing
entry, a HEAD request, a range reader), so the Homes, the readers and the fast paths keep one code path for both.
Readers open a file through :func:`readable` (random access) or :func:`stream`, which give pyarrow a local path
or a bucket file; what only works on a local file (copy_file_range, polars' own reader) asks :func:`local`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import pyarrow as pa

if TYPE_CHECKING:
    from hygge.storage.base import Entry, Storage


@dataclass(frozen=True)
class BlobStat:
    st_size: int
    st_mtime_ns: int
    st_ino: int
    etag: str | None


class Blob:
    def __init__(self, storage: Storage, key: str, entry: Entry | None = None):
        self.storage = storage
        self.key = key
        self.entry = entry  # as listed: spares a HEAD request per file while planning

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.name)[1]

    @property
    def stem(self) -> str:
        return os.path.splitext(self.name)[0]

    def with_name(self, name: str) -> Blob:
        head = self.key.rsplit("/", 1)[0] + "/" if "/" in self.key else ""
        return Blob(self.storage, head + name)

    def __truediv__(self, name: str) -> Blob:
        return Blob(self.storage, f"{self.key}/{name}" if self.key else name)

    def __str__(self) -> str:
        return self.storage.show(self.key)

    def __repr__(self) -> str:
        return f"Blob({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blob) and str(other) == str(self)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: Blob) -> bool:
        return str(self) < str(other)

    def stat(self, fresh: bool = True) -> BlobStat:
        """The object as it is now (a HEAD request), or as listed when ``fresh`` is false and it was listed."""
        entry = self.entry if not fresh and self.entry is not None else self.storage.stat(self.key)
        if entry is None:
            raise FileNotFoundError(str(self))
        return BlobStat(entry.size, entry.mtime_ns or 0, 0, entry.etag)

    def is_file(self) -> bool:
        return self.entry is not None or self.storage.stat(self.key) is not None

    def exists(self) -> bool:
        return self.is_file()

    def open_input_file(self) -> pa.NativeFile:
        return self.storage.open_input_file(self.key)

    def open_input_stream(self) -> pa.NativeFile:
        return self.storage.open_input_stream(self.key)


FilePath = Union[Path, Blob]  # noqa: UP007 - a runtime alias that Python 3.10 can evaluate


def readable(path: FilePath) -> Any:
    """What pyarrow opens for random access: the local path, or the bucket object's file."""
    return path.open_input_file() if isinstance(path, Blob) else str(path)


def stream(path: FilePath) -> Any:
    """What pyarrow reads from start to end (compressed text is undone by the file's extension on a bucket)."""
    return path.open_input_stream() if isinstance(path, Blob) else str(path)


def local(path: FilePath) -> Path | None:
    return path if isinstance(path, Path) else None


def opened(path: FilePath) -> Any:
    """A binary file to read, seek and readinto, as a context manager: the local file or the bucket object."""
    return path.open_input_file() if isinstance(path, Blob) else open(path, "rb")
