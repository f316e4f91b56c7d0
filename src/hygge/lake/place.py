"""Where a Delta table's files and hygge's bookkeeping beside it live: a local folder, or a bucket prefix.

The Delta landing and the Delta home are written once against this; each place says how to lock the table,
record a run's intent, heal what a killed run left, put finished data files where the table is, and open one.

On a local disk everything is in the table's folder (``_hygge/`` beside ``_delta_log/``). On a bucket:

- data files are written to a work folder of the run on this machine, then uploaded under the table's prefix
  before the commit names them (never renamed, never overwritten: each carries its run in its name);
- the lock is a conditional object with a lease (storage/manifest_object.py), so a dead holder never blocks
  for longer than its lease, and on the same host not at all;
- intents are objects ``_hygge/runs/<run>.json``; the next run lists the table's prefix and deletes the objects
  of runs that did not commit, exactly as on a local disk.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from deltalake import DeltaTable

from hygge.lake.bucket import LakeBucket, check_conditional_put
from hygge.lake.datafiles import DataFile
from hygge.lake.heal import (
    HYGGE_DIR,
    Intent,
    committed,
    doomed,
    drop_intent,
    heal,
    only_leftovers,
    record_intent,
    referenced_since,
    run_tag,
)
from hygge.lake.location import TableLocation, require_local
from hygge.lake.log import commit_actions


class Held(Protocol):
    def release(self) -> None: ...


class LocalPlace:
    def __init__(self, folder: Path):
        self.folder = self.work = folder
        self.shown = str(folder)

    def lock(self, entity: str, run_id: str, wait: float) -> Held:
        from hygge.state.lock import EntityLock
        from hygge.stores.files import explain_os_error

        try:
            return EntityLock(self.folder / HYGGE_DIR / "lock", entity, run_id).acquire(wait)
        except OSError as exc:
            raise explain_os_error(exc, self.folder, "create the table's lock file") from exc

    def has_log(self) -> bool:
        log = self.folder / "_delta_log"
        return log.is_dir() and any(p.suffix in (".json", ".parquet") for p in log.iterdir())

    def foreign(self) -> str | None:
        """What makes the place not hygge's to write, if anything (no log, and files that are not leftovers)."""
        folder = self.folder
        if folder.is_file():
            return "a file"
        if folder.is_dir() and any(p.name != HYGGE_DIR for p in folder.iterdir()) and not only_leftovers(folder):
            return "other files and no _delta_log"
        return None

    def heal(self, table: DeltaTable | None, run_id: str) -> list[str]:
        return heal(self.folder, table, run_id)

    def record_intent(self, intent: Intent) -> None:
        record_intent(self.folder, intent)

    def drop_intent(self, run_id: str) -> None:
        drop_intent(self.folder, run_id)

    def publish(self, files: list[DataFile]) -> None:
        """The files are in the table's folder already."""

    def open(self, relative: str) -> tuple[Any, str]:
        path = self.folder / relative
        return path, str(path)

    def commit_actions(self, version: int) -> list[dict[str, Any]] | None:
        return commit_actions(self.folder / "_delta_log", version)

    @property
    def state_cache(self) -> Path | None:
        return self.folder / HYGGE_DIR / "state"

    def finished(self) -> None:
        """Nothing of the run's is kept outside the table's folder."""


class BucketPlace:
    def __init__(self, bucket: LakeBucket, work: Path | None = None):
        self.bucket, self.storage = bucket, bucket.storage
        self._work = work
        self.shown = bucket.uri
        self.folder = None

    @property
    def work(self) -> Path:
        assert self._work is not None, "a bucket place that writes needs a work folder"
        self._work.mkdir(parents=True, exist_ok=True)
        return self._work

    def lock(self, entity: str, run_id: str, wait: float) -> Held:
        from hygge.storage.manifest_object import HeldManifest

        check_conditional_put(self.bucket)
        return HeldManifest(self.storage, self.bucket.key(HYGGE_DIR, "lock"), entity, run_id, wait=wait)

    def _keys(self, *below: str) -> list[tuple[str, float]]:
        """(path relative to the table, modification time in seconds) of the objects below ``below``."""
        base = self.bucket.key()
        out = []
        for entry in self.storage.entries(self.bucket.key(*below)):
            relative = entry.key[len(base) + 1:] if base else entry.key
            out.append((relative, (entry.mtime_ns or 0) / 1e9))
        return out

    def has_log(self) -> bool:
        return any(p.endswith((".json", ".parquet")) for p, _ in self._keys("_delta_log"))

    def foreign(self) -> str | None:
        others = [p for p, _ in self._keys() if p.split("/", 1)[0] != HYGGE_DIR]
        if not others:
            return None
        tags = [run_tag(r.run_id) for r in self._intents()]
        if tags and all(any(t in p.rsplit("/", 1)[-1] for t in tags) for p in others):
            return None  # a first run killed before its first commit: its files, which healing removes
        return "other objects and no _delta_log"

    def _intents(self) -> list[Intent]:
        found = []
        for relative, _ in self._keys(HYGGE_DIR, "runs"):
            got = self.storage.read(self.bucket.key(relative))
            try:
                found.append(Intent(**json.loads(got[0]))) if got else None
            except (ValueError, TypeError):
                self.storage.delete([self.bucket.key(relative)])  # cut short before any data file was written
        return found

    def heal(self, table: DeltaTable | None, run_id: str) -> list[str]:
        notes: list[str] = []
        self._clear_dead_work()
        for intent in self._intents():
            if intent.run_id == run_id:
                continue
            if not committed(table, intent):
                referenced = referenced_since(self.commit_actions, table, intent.read_version) \
                    if table is not None else set()
                files = [(p, m) for p, m in self._keys() if p.endswith(".parquet")
                         and p.split("/", 1)[0] not in ("_delta_log", HYGGE_DIR)]
                gone = doomed(files, referenced, intent)
                self.storage.delete([self.bucket.key(p) for p in gone])
                notes.append(f"removed {len(gone)} file(s) of run {intent.run_id}, which did not commit")
            self.storage.delete([self.bucket.key(HYGGE_DIR, "runs", f"{intent.run_id}.json")])
        return notes

    def _clear_dead_work(self) -> None:
        """Work folders of this table's earlier runs on this machine: this run holds the table's lock, so their
        runs are gone (killed before they could remove them)."""
        if self._work is None or not self._work.parent.is_dir():
            return
        entity = self._work.name.rsplit("-", 1)[-1]
        for other in self._work.parent.iterdir():
            if other != self._work and other.name.endswith(f"-{entity}"):
                shutil.rmtree(other, ignore_errors=True)

    def record_intent(self, intent: Intent) -> None:
        self.storage.put(self.bucket.key(HYGGE_DIR, "runs", f"{intent.run_id}.json"),
                         json.dumps(asdict(intent)).encode())

    def drop_intent(self, run_id: str) -> None:
        self.storage.delete([self.bucket.key(HYGGE_DIR, "runs", f"{run_id}.json")])
        self.finished()

    def publish(self, files: list[DataFile]) -> None:
        """Upload the run's finished files under the table's prefix, at the paths their add actions name."""
        for data_file in files:
            self.storage.upload(data_file.local, self.bucket.key(data_file.path))

    def open(self, relative: str) -> tuple[Any, str]:
        key = self.bucket.key(relative)
        return self.storage.open_input_file(key), self.storage.show(key)

    def commit_actions(self, version: int) -> list[dict[str, Any]] | None:
        got = self.storage.read(self.bucket.key("_delta_log", f"{version:020d}.json"))
        if got is None:
            return None
        return [json.loads(line) for line in got[0].decode("utf-8").splitlines() if line.strip()]

    @property
    def state_cache(self) -> Path | None:
        return None  # the log is the state; log retention removing hygge's last commit is reported, not cached

    def finished(self) -> None:
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)


Place = LocalPlace | BucketPlace


def place_of(location: TableLocation, work: Path | None = None) -> Place:
    if location.bucket is not None:
        return BucketPlace(location.bucket, work)
    return LocalPlace(require_local(location, "reading or writing"))
