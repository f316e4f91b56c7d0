"""The file Stores: one folder of part files per entity; the commit protocol lives in file_landing.py."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ByteSize, Field

from hygge.core.arrowtypes import parse_type
from hygge.core.plan import MovePlan
from hygge.errors import HyggeError, WriteError
from hygge.formats.base import PartWriter
from hygge.homes.base import Check
from hygge.state.journal import EntityState, RunRecord, interrupted, interrupted_note, settled
from hygge.state.lock import EntityLock
from hygge.state.manifest import Manifest
from hygge.storage.address import is_url, parse
from hygge.storage.base import Storage
from hygge.stores import bucket_store
from hygge.stores.base import Landing, Store, StoreConfig

_SAFE_NAME = re.compile(r"^[^/\\\x00]+$")


class FileStoreConfig(StoreConfig):
    path: str = Field(description="the folder entities settle in, relative to the project; or an s3://, gs://, "
                                  "az:// or abfss:// URL")
    connection: str | dict[str, Any] | None = Field(
        None, description="for a bucket: a name from `connections:` (type s3, gcs or azure), or a mapping")
    target_file_size: ByteSize = Field(ByteSize(512 * 2**20), description="start a new part file past this size")
    durable: bool = Field(True, description="fsync files before publishing, so a power cut cannot lose a commit")
    keep_replaced: float = Field(
        300, ge=0, description="seconds a replaced version stays in .hygge/trash for readers still reading it"
    )


_ERRNO_IN_TEXT = re.compile(r"\[errno (\d+)\]|\(os error (\d+)\)|errno[ =:]+(\d+)", re.IGNORECASE)


def os_errno(exc: OSError) -> int:
    """The errno of an OSError; writers in other languages (Arrow's C++, polars' Rust) leave it only in the text."""
    if exc.errno:
        return exc.errno
    found = _ERRNO_IN_TEXT.search(str(exc))
    return int(next(g for g in found.groups() if g)) if found else 0


def _file_size_limit() -> int | None:
    """This process's file size limit (`ulimit -f`) in bytes, or None when it has none."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    except (ImportError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft


def _too_large() -> tuple[str, str]:
    limit = _file_size_limit()
    if limit is not None:
        from hygge.progress.human import size

        return (f"a file grew past the size this system allows (this process's file size limit, ulimit -f: "
                f"{size(limit)})",
                "raise the file size limit (`ulimit -f`, LimitFSIZE= in systemd) of whoever runs hygge, or lower "
                f"`target_file_size` on the store below {size(limit)}")
    return ("a file grew past the size this system allows (the largest file its file system holds)",
            "lower `target_file_size` on the store, or point the store at a file system that holds larger files")


def explain_os_error(exc: OSError, path: Path | str, doing: str) -> HyggeError:
    """What ran out or refused (disk space, quota, file size limit, permission), at which path, and what to do.

    ``path`` is the file or folder being written when the caller knows it; the error's own file name wins."""
    reasons = {
        errno.ENOSPC: ("the disk is full", "free space on that disk, or point the store elsewhere"),
        errno.EDQUOT: ("the disk quota is exhausted", "free space or raise the quota"),
        errno.EACCES: ("permission denied", "give this user write access to the store folder"),
        errno.EPERM: ("operation not permitted", "give this user write access to the store folder"),
        errno.EROFS: ("the file system is read-only", "point the store at a writable folder"),
    }
    code = os_errno(exc)
    what, hint = _too_large() if code == errno.EFBIG else reasons.get(
        code, (exc.strerror or str(exc), "check the store folder"))
    return WriteError(
        f"could not {doing}: {what}; the target was left as it was",
        path=str(exc.filename2 or exc.filename or path),  # a copy or rename names its destination second
        found=f"{type(exc).__name__}: {exc}",
        hint=hint,
    )


class FileStore(Store):
    """A Store writing one folder of part files per entity."""

    Writer: ClassVar[type[PartWriter]]
    extension: ClassVar[str]
    config: FileStoreConfig
    local_parts = True

    def __init__(self, config: StoreConfig, *, root: Path, connections: dict[str, dict[str, Any]] | None = None):
        super().__init__(config, root=root, connections=connections)
        # On a bucket the store works through the storage interface (stores/bucket_landing.py, bucket_store.py).
        self.storage: Storage | None = None
        if is_url(self.config.path):
            from hygge.storage.remote import storage_for
            from hygge.storage.settings import settings_for

            address = parse(self.config.path)
            self.storage = storage_for(address, settings_for(address, self.config.connection, self.connections))

    @property
    def base(self) -> Path:
        return self.root / os.path.expanduser(self.config.path)

    @property
    def internal(self) -> Path:
        return self.base / ".hygge"

    def entity_dir_name(self, plan: MovePlan) -> str:
        if not _SAFE_NAME.match(plan.target) or plan.target in (".", "..", ".hygge"):
            raise WriteError(
                f"'{plan.target}' cannot be a folder name in a file store",
                entity=plan.entity,
                expected="a name without slashes",
                hint="set `target:` on the entity",
            )
        return plan.target

    def entity_dir(self, plan: MovePlan) -> Path:
        return self.base / self.entity_dir_name(plan)

    def location(self, plan: MovePlan) -> str:
        if self.storage is not None:
            return self.storage.show(self.entity_dir_name(plan))
        return str(Path(self.config.path) / plan.target)

    def slice_bytes(self) -> int:
        """Largest piece handed to a part writer at once."""
        return 16 * 2**20

    def part_name(self, number: int) -> str:
        return f"part-{number:05d}{self.extension}"

    def landing(self, plan: MovePlan, record: RunRecord) -> Landing:
        if self.storage is not None:
            from hygge.stores.bucket_landing import BucketLanding

            return BucketLanding(self, plan, record)
        return self.local_landing(plan, record)

    def local_landing(self, plan: MovePlan, record: RunRecord) -> Landing:
        from hygge.stores.file_landing import FileLanding

        return FileLanding(self, plan, record)

    def state(self, plan: MovePlan) -> EntityState | None:
        if self.storage is not None:
            published = bucket_store.manifest_of(self.storage, self.entity_dir_name(plan))
            return published.state if published else None
        manifest = Manifest.read(self.entity_dir(plan))
        return manifest.state if manifest else None

    def target_schema(self, plan: MovePlan) -> pa.Schema | None:
        if self.storage is not None:
            entity = self.entity_dir_name(plan)
            return self.manifest_schema_of(entity, bucket_store.manifest_of(self.storage, entity))
        folder = self.entity_dir(plan)
        return self.manifest_schema(folder, Manifest.read(folder) if folder.is_dir() else None)

    def manifest_schema_of(self, entity: str, manifest: Manifest | None) -> pa.Schema | None:
        assert self.storage is not None
        return bucket_store.schema_of(self, self.storage, entity, manifest)

    def manifest_schema(self, folder: Path, manifest: Manifest | None) -> pa.Schema | None:
        if manifest is None or not manifest.parts:
            return None
        if self.type_name == "parquet":
            return pq.read_schema(folder / manifest.parts[0].file).remove_metadata()
        if manifest.state.columns:
            return pa.schema([(c["name"], parse_type(c["type"])) for c in manifest.state.columns])
        return None

    def log_run(self, record: RunRecord, plan: MovePlan | None = None) -> None:
        """Append to the store's run history; the manifest, not this log, is the source of truth."""
        if self.storage is not None:
            bucket_store.log_run(self.storage, record)
            return
        self._append([record])

    def _append(self, records: list[RunRecord]) -> None:
        text = "".join(json.dumps(r.to_dict(), default=str) + "\n" for r in records).encode()
        try:
            self.internal.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.internal / "history.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, text)  # one append: the lines of runs writing at the same moment never interleave
            finally:
                os.close(fd)
        except OSError:
            pass  # the history is best effort; the manifest holds what the data needs

    def lock(self, plan: MovePlan, record: RunRecord | None) -> EntityLock:
        """Take the entity's lock for ``record``'s run (None: for `hygge reset`)."""
        path = self.internal / "locks" / f"{plan.target}.lock"
        about = record.to_dict() if record is not None else None
        return EntityLock(path, plan.entity, record.run_id if record else "reset", about).acquire(plan.lock_wait)

    def opened(self, lock: EntityLock, record: RunRecord | None, healed: str) -> list[str]:
        """A run holds the entity (its lock taken, what was left healed): record it as ``running``, after the
        run the lock's text names if any: that one held the lock and never let go, it was interrupted.
        Returns the notes the run says about it."""
        found = lock.previous.get("record") if lock.previous else None
        records, notes = [], []
        if isinstance(found, dict) and found.get("run_id") != (record.run_id if record else None) and \
                not self._ended(str(found.get("run_id"))):
            dead = RunRecord.from_dict(found)
            finder = f"run {record.run_id}" if record else "`hygge reset`"
            records.append(interrupted(dead, finder, healed))
            notes.append(interrupted_note(dead, healed))
        if record is not None:
            records.append(record)
        if records:
            self._append(records)
        return notes

    def _ended(self, run_id: str) -> bool:
        """Whether the run's end is in the history: killed after writing it, it only failed to let go of the lock.
        Read only when a holder died, so the history is not read on every run."""
        return any(r.run_id == run_id and r.status != "running" for r in self.history_lines())

    def history_lines(self) -> list[RunRecord]:
        path = self.internal / "history.jsonl"
        records = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        for line in lines:
            try:
                records.append(RunRecord.from_dict(json.loads(line)))
            except (ValueError, TypeError):
                continue  # a line cut short by a kill
        return records

    def history(self, project: str = "", flow: str | None = None, entity: str | None = None) -> list[RunRecord]:
        if self.storage is not None:
            return settled(r for r in bucket_store.history(self.storage, flow, entity) if r.seen_by(project))
        return settled(r for r in self.history_lines() if r.seen_by(project) and (flow is None or r.flow == flow)
                       and (entity is None or r.entity == entity))

    def forget(self, plan: MovePlan) -> bool:
        if self.storage is not None:
            return bucket_store.forget(self.storage, self.entity_dir_name(plan), plan.entity, plan.lock_wait)
        folder = self.entity_dir(plan)
        lock = self.lock(plan, None)
        self.opened(lock, None, "left what it staged for the next run to remove")
        try:
            manifest = Manifest.read(folder)
            if manifest is None:
                return False
            manifest.state = EntityState(columns=manifest.state.columns, last_run=manifest.state.last_run)
            manifest.write(folder, durable=self.config.durable)
            return True
        finally:
            lock.release()

    def describe(self) -> str:
        return f"{self.type_name} files in {self.config.path}"

    def check(self) -> list[Check]:
        if self.storage is not None:
            return bucket_store.check(self.storage, self.config.path)
        base = self.base
        probe = base
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not os.access(probe, os.W_OK):
            return [Check(f"store path {self.config.path}", False, f"{probe} is not writable",
                          "give this user write access, or point the store elsewhere")]
        detail = "exists" if base.exists() else f"will be created (inside {probe})"
        return [Check(f"store path {self.config.path}", True, detail)]

