"""Store `open_mirroring` on a bucket: OneLake's landing zone (ADLS), Azure Blob, S3 or GCS.

The layout is the local one (stores/open_mirroring.py); hygge's own objects are in each table's ``_hygge/``::

    <table>/_hygge/lease.json              the writer's lease (storage/manifest_object.py): one writer per table
    <table>/_hygge/history/<run_id>.json   one object per run: running, then how it ended

A run writes its one data file on local disk (``.hygge/mirror-work/`` in the project) and publishes it with
**one create-only write** of the next number (``If-None-Match: *`` on Azure and S3, ``ifGenerationMatch=0`` on
GCS), right after renewing its lease (a run whose lease was taken over publishes nothing). The object appears
whole or not at all, and a number that exists is never replaced. A killed run leaves no object, only its local
work folder, which the next run of the table removes: the sequence has no gap. The state and run record are in
the file's footer, as locally; the mirror leaves the last file in place, so they are always found.

How large a file may be: on Azure, a file over one block (16 MiB) is staged in blocks and committed create-only
(storage/azure_blocks.py), streamed from disk, without a size limit of its own; on GCS a resumable upload takes the
condition and streams in chunks. On S3, obstore (object_store) writes create-only in one request only, never
multipart: the file is read into memory while it uploads and may be at most 5 GiB (PutObject); a larger one fails
before anything is published. (S3 takes ``If-None-Match: *`` on CompleteMultipartUpload too, but no client hygge
depends on sends it.)
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

from hygge.core import faults
from hygge.errors import StateMoved
from hygge.lake.mirroring import KEY_METADATA, PARTNER_EVENTS, PROCESSED, SEQUENCE, file_name
from hygge.state.journal import RunRecord, interrupted, interrupted_note, settled
from hygge.storage.base import Conflict, Entry, Storage
from hygge.storage.manifest_object import HeldManifest
from hygge.stores.base import CommitResult
from hygge.stores.open_mirroring import Footer, footer_state, newest_footer
from hygge.stores.open_mirroring_landing import OpenMirroringLanding

if TYPE_CHECKING:
    import pyarrow.parquet as pq

    from hygge.core.plan import MovePlan
    from hygge.stores.open_mirroring import OpenMirroringStore



def sequence_entries(storage: Storage, table: str) -> list[tuple[int, Entry]]:
    """Every numbered data file of a table, in its folder or moved aside by the mirror, by number."""
    found = []
    for where in (table, *(f"{table}/{p}" for p in PROCESSED)):
        found += [(int(e.name[:20]), e) for e in storage.entries(where, recursive=False) if SEQUENCE.match(e.name)]
    return sorted(found, key=lambda pair: pair[0])


def latest(storage: Storage, table: str) -> tuple[int, Footer | None]:
    """The highest sequence number, and hygge's state from the newest file that carries it."""
    def read(entry: Entry) -> Footer | None:
        with storage.open_input_file(entry.key) as handle:
            return footer_state(handle)

    return newest_footer(sequence_entries(storage, table), read)


def history_key(table: str, run_id: str) -> str:
    return f"{table}/_hygge/history/{run_id}.json"


def log_run(storage: Storage, table: str, record: RunRecord) -> None:
    try:
        storage.put(history_key(table, record.run_id), json.dumps(record.to_dict(), default=str).encode())
    except Exception:  # noqa: BLE001 - the history is best effort; the footer holds what the data needs
        pass


def history(storage: Storage) -> list[RunRecord]:
    tables = []
    for name in storage.folders(""):
        if name.endswith(".schema"):
            tables += [f"{name}/{t}" for t in storage.folders(name) if not t.startswith("_")]
        elif not name.startswith("_"):
            tables.append(name)
    records = []
    for table in tables:
        for entry in storage.entries(f"{table}/_hygge/history"):
            found = storage.read(entry.key)
            if found is None:
                continue
            try:
                records.append(RunRecord.from_dict(json.loads(found[0])))
            except (ValueError, TypeError):
                continue
    return settled(sorted(records, key=lambda r: r.started_at))


class OpenMirroringBucketLanding(OpenMirroringLanding):
    def __init__(self, store: OpenMirroringStore, plan: MovePlan, record: RunRecord):
        assert store.storage is not None
        self.store, self.plan, self.record = store, plan, record
        self.storage = store.storage
        self.table = store.table_name(plan)
        self.shown = self.storage.show(self.table)
        self.held = HeldManifest(self.storage, f"{self.table}/_hygge/lease.json", plan.entity, record.run_id,
                                 wait=plan.lock_wait)
        try:
            # The table's local work folders: another run's is a killed run's (this run holds the lease).
            tables = store.root / ".hygge" / "mirror-work" / self.table.replace("/", "--")
            shutil.rmtree(tables, ignore_errors=True)
            self.work = tables / record.run_id
            self.work.mkdir(parents=True)
            self.last, found = latest(self.storage, self.table)
            self.previous = found[0] if found else None
            self.previous_schema = found[2] if found else None
            self.keys_now = self._keys()
            self.found = self._record_start(found[1] if found else None)
        except BaseException:
            self.close()
            raise
        self.tmp = self.work / f"{record.run_id}.parquet.tmp"
        self.writer: pq.ParquetWriter | None = None
        self.published: Any = None

    def _record_start(self, committed: RunRecord | None) -> list[str]:
        """Recorded as running once it holds the table; a run whose lease this one took over never ended."""
        notes = []
        dead = self.held.taken_over
        found = self.storage.read(history_key(self.table, dead.run_id)) if dead is not None else None
        if found is not None:
            left = RunRecord.from_dict(json.loads(found[0]))
            if left.status == "running":
                healed = ("found its data file published (it was killed after its commit)"
                          if committed is not None and committed.run_id == left.run_id else
                          "found no numbered file of it (a run's file gets its number only when complete)")
                log_run(self.storage, self.table, interrupted(left, f"run {self.record.run_id}", healed))
                notes.append(interrupted_note(left, healed))
        log_run(self.storage, self.table, self.record)
        return notes

    def _keys(self) -> list[str] | None:
        found = self.storage.read(f"{self.table}/{KEY_METADATA}")
        if found is None:
            return None
        data = json.loads(found[0])
        return list(data.get("keyColumns") or data.get("KeyColumns") or [])

    def _table_files(self) -> None:
        """``_metadata.json`` before the first data file (keys set once), ``_partnerEvents.json`` at the root."""
        keys = list(self.plan.keys)
        if self.keys_now is None or (keys and not self.keys_now):
            self.storage.put(f"{self.table}/{KEY_METADATA}", json.dumps({"keyColumns": keys} if keys else {}).encode())
        if self.storage.stat(PARTNER_EVENTS) is None:
            try:
                self.storage.create(PARTNER_EVENTS, json.dumps(self.store.partner_events(self.plan), indent=2).encode())
            except Conflict:
                pass  # another table's run wrote it first

    def _publish(self) -> CommitResult:
        faults.point("before-publish")
        self.held.confirm()  # still this run's table: a run that stalled past its lease publishes nothing
        last = max((n for n, _ in sequence_entries(self.storage, self.table)), default=0)
        if last != self.last:  # its rows were read from an older state: publishing would land them twice
            raise self._moved(f"data files up to {file_name(self.last)}", f"{file_name(last)}")
        key = f"{self.table}/{file_name(last + 1)}"
        try:
            entry = self.storage.create_file(self.tmp, key)
        except Conflict as exc:
            raise self._moved(f"no object {file_name(last + 1)}", "one, written by another writer") from exc
        self.published = key
        faults.point("after-publish")
        self.tmp.unlink()
        return CommitResult(rows_in_target=None, bytes_written=entry.size, files=[file_name(last + 1)],
                            location=self.shown)

    def _moved(self, expected: str, found: str) -> StateMoved:
        return StateMoved("another writer published a data file of this table since this run read its state; "
                          "nothing was published", flow=self.plan.flow, entity=self.plan.entity, path=self.shown,
                          expected=expected, found=found,
                          hint="hygge starts the move over from the state as it is now; only one publisher may "
                               "write a table")

    def close(self) -> None:
        self.held.release()
        if hasattr(self, "work"):
            shutil.rmtree(self.work, ignore_errors=True)
