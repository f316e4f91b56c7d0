"""What hygge keeps beside an Iceberg table's own files, under ``<table location>/_hygge/``.

- ``runs/<run id>.lock``: held (``flock``) by a run while it writes; the kernel lets go when the process
  dies, however it dies. A data file named for a run whose lock nobody holds, and that no snapshot
  references, was left by a run that died before its commit: the next run deletes it (guarantee 3).
  Writers of other runs are alive and hold their locks, so their staged files are never touched.
- ``failed/<run id>.json``: the record of a run that failed or was cancelled, for ``hygge history``
  (committed runs are read from the snapshot summaries themselves).

On a bucket warehouse the run's mark is a conditional object with a lease, ``_hygge/runs/<run id>.lock``
(lake/iceberg_bucket.py): a run whose lease ended, or whose process is gone on this host, is dead, and its
files no snapshot references are deleted the same way.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from hygge.lake.iceberg_files import delete, run_of
from hygge.state.journal import RunRecord

if TYPE_CHECKING:
    from pyiceberg.io import FileIO
    from pyiceberg.table import Table
    from pyiceberg.table.metadata import TableMetadata

    from hygge.storage.settings import BucketSettings

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def local_path(location: str) -> Path | None:
    """The folder of a table location on this machine's disk, or None for a bucket."""
    parts = urlsplit(location)
    if parts.scheme in ("", "file"):
        return Path(unquote(parts.path))
    return None


def commit_uuid(run_id: str) -> uuid.UUID:
    """The uuid in the names of a run's manifests, so that they too are known to be the run's."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"hygge-run:{run_id}")


class RunMark:
    """This run's lock beside the table: its staged files are not debris while it holds it."""

    def __init__(self, location: str, run_id: str, bucket: BucketSettings | None = None):
        self.fd: int | None = None
        self.path: Path | None = None
        self.remote: Any = None
        folder = local_path(location)
        if folder is None and bucket is not None:
            from hygge.lake.iceberg_bucket import BucketMark, BucketTree

            self.remote = BucketMark(BucketTree(location, bucket), run_id)
            return
        if folder is None or fcntl is None:
            return
        self.path = folder / "_hygge" / "runs" / f"{run_id}.lock"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            # Another run's sweep may have locked the new file first, taken it for a dead run's and unlinked it:
            # the lock only counts if it is on the file that is at the path now.
            try:
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    self.fd = fd
                    return
            except FileNotFoundError:
                pass
            os.close(fd)

    def release(self) -> None:
        if self.remote is not None:
            self.remote.release()
            self.remote = None
        if self.fd is None or self.path is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)  # closing the last descriptor lets go of the flock
            self.fd = None


def _dead(folder: Path, run_id: str) -> bool:
    """Whether the run that wrote files under this id is gone (nobody holds its lock)."""
    lock = folder / "_hygge" / "runs" / f"{run_id}.lock"
    if fcntl is None:
        return False
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return True  # a run removes its lock last, after its commit or its own clean-up
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        lock.unlink(missing_ok=True)  # while holding it: a run that opened it meanwhile sees it is gone (RunMark)
    finally:
        os.close(fd)
    return True


def _referenced(metadata: TableMetadata, io: FileIO) -> set[str]:
    """Every file any snapshot of the table needs: manifest lists, manifests, data and delete files."""
    used: set[str] = set()
    seen: set[str] = set()
    for snapshot in metadata.snapshots:
        used.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            used.add(manifest.manifest_path)
            if manifest.manifest_path in seen:
                continue
            seen.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=False):
                used.add(entry.data_file.file_path)
    return used


def _files(folder: Path) -> list[Path]:
    return [Path(d) / name for d, _, names in os.walk(folder) for name in names] if folder.is_dir() else []


class Tree(Protocol):
    """The files below a table's location, and whether the run that wrote some of them is gone."""

    def files(self, sub: str) -> list[str]: ...  # URIs as the table's metadata names them

    def dead(self, run_id: str) -> bool: ...


class LocalTree:
    def __init__(self, folder: Path):
        self.folder = folder

    def files(self, sub: str) -> list[str]:
        return [p.as_uri() for p in _files(self.folder / sub)]

    def dead(self, run_id: str) -> bool:
        return _dead(self.folder, run_id)


def tree_of(location: str, bucket: BucketSettings | None) -> Tree | None:
    folder = local_path(location)
    if folder is not None:
        return LocalTree(folder)
    if bucket is None:
        return None
    from hygge.lake.iceberg_bucket import BucketTree

    return BucketTree(location, bucket)


def sweep(location: str, fresh: Callable[[], Table | None], io: FileIO, own_run: str,
          bucket: BucketSettings | None = None) -> int:
    """Delete what runs that died before their commit left in the table's folders; the number of files.

    ``fresh`` loads the table as the catalog has it now. It is called after the dead runs are
    known: a run that let go of its lock had committed before, so its files are in what ``fresh`` returns."""
    tree = tree_of(location, bucket)
    if tree is None:
        return 0
    runs: dict[str, list[str]] = {}
    for uri in tree.files("data"):
        run = run_of(uri)
        if run is not None and run != own_run:
            runs.setdefault(run, []).append(uri)
    dead = {run: uris for run, uris in runs.items() if tree.dead(run)}
    tags = {str(commit_uuid(run)): run for run in dead}
    for uri in tree.files("metadata"):
        name = uri.rsplit("/", 1)[-1]
        for tag, run in tags.items():
            if tag in name and name.endswith(".avro"):
                dead[run].append(uri)
    table = fresh()
    used = _referenced(table.metadata, io) if table is not None and dead else set()
    doomed = [uri for uris in dead.values() for uri in uris if not _named(uri, used)]
    delete(io, doomed)
    return len(doomed) + (sweep_metadata(table, io, bucket) if table is not None else 0)


def _named(uri: str, used: set[str]) -> bool:
    if uri in used:
        return True
    if not uri.startswith("file:"):
        return False
    path = unquote(urlsplit(uri).path)
    return path in used or f"file:{path}" in used


_VERSION = re.compile(r"^(\d+)-[0-9a-fA-F-]+\.metadata\.json(\.gz)?$")


def sweep_metadata(table: Table, io: FileIO, bucket: BucketSettings | None = None) -> int:
    """Delete table metadata files that lost the catalog's compare-and-swap (a writer killed inside its commit,
    or one that lost a race and retried): a file numbered at most the current version that is neither
    current nor in the metadata log can never become current, since the catalog only moves forward."""
    tree = tree_of(table.metadata.location, bucket)
    current = _VERSION.match(table.metadata_location.rsplit("/", 1)[-1])
    if tree is None or current is None:
        return 0
    known = {entry.metadata_file for entry in table.metadata.metadata_log} | {table.metadata_location}
    numbers = [int(m.group(1)) for f in known if (m := _VERSION.match(f.rsplit("/", 1)[-1]))]
    doomed = []
    for uri in tree.files("metadata"):
        match = _VERSION.match(uri.rsplit("/", 1)[-1])
        if match and min(numbers) <= int(match.group(1)) <= int(current.group(1)) and not _named(uri, known):
            doomed.append(uri)
    delete(io, doomed)
    return len(doomed)


def record_failure(location: str, record: RunRecord, bucket: BucketSettings | None = None) -> None:
    """Keep a failed run's record beside the table, for `hygge history` (best effort: the run failed already)."""
    data = json.dumps(record.to_dict(), default=str)
    folder = local_path(location)
    if folder is not None:
        target = folder / "_hygge" / "failed" / f"{record.run_id}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(data, encoding="utf-8")
    elif bucket is not None:
        from hygge.lake.iceberg_bucket import BucketTree

        BucketTree(location, bucket).put(f"_hygge/failed/{record.run_id}.json", data.encode())


def failures(location: str, bucket: BucketSettings | None = None) -> list[RunRecord]:
    folder = local_path(location)
    if folder is not None:
        texts = [p.read_bytes() for p in sorted((folder / "_hygge" / "failed").glob("*.json"))]
    elif bucket is not None:
        from hygge.lake.iceberg_bucket import BucketTree

        texts = BucketTree(location, bucket).contents("_hygge/failed")
    else:
        return []
    out = []
    for text in texts:
        try:
            data: dict[str, Any] = json.loads(text)
            out.append(RunRecord.from_dict(data))
        except (ValueError, TypeError):
            continue
    return out
