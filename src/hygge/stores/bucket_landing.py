"""The commit protocol of the file Stores on a bucket, where there is no rename and no atomic replace of many
objects. Layout below the store's ``path``::

    <entity>/part-00007-<run>.parquet     parts: immutable, named by part number and run, never overwritten
    <entity>/.hygge-manifest.json         the published version (parts, state, run record) and a writer's lease
    .hygge/history/<run_id>.json          one object per run, committed or failed

A run takes the entity's lease on its manifest (storage/manifest_object.py), removes what killed runs left
(objects below the entity that no version references), writes its parts on local disk and uploads each one
as it is closed (in parallel parts, while the next one is written), checks them, and publishes with one
compare-and-swap of the manifest: parts, state and run record together. Until then nothing it wrote is
referenced. Parts a ``full_drop`` replaced stay ``keep_replaced`` seconds, listed in the manifest, for
readers of the previous version, and are removed by a later run.

Readers through hygge's manifest (hygge's own file Homes) see the old version or the new one, never a mix.
A reader that only lists the prefix sees the parts of runs in flight and of replaced versions too: no
protocol can spare it that on a bucket; for such readers, write a table format (Delta, Iceberg).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.core import faults
from hygge.core.drift import Drift
from hygge.core.plan import MovePlan
from hygge.errors import StateError, WriteError
from hygge.state.journal import EntityState, RunRecord, utc_now
from hygge.state.manifest import MANIFEST, Manifest, Part
from hygge.storage.base import Entry
from hygge.storage.manifest_object import HeldManifest
from hygge.stores.base import CommitResult, Landing
from hygge.stores.key_spool import KeySpool, needs_key_check
from hygge.stores.part_series import PartSeries

if TYPE_CHECKING:
    from hygge.homes.base import WholeParquet
    from hygge.stores.files import FileStore

UPLOADS_AT_ONCE = 2  # parts uploading while the next is written: each holds its own parallel multipart upload


class BucketLanding(Landing):
    def __init__(self, store: FileStore, plan: MovePlan, record: RunRecord):
        self.store, self.plan, self.record = store, plan, record
        assert store.storage is not None
        self.storage = store.storage
        self.entity = store.entity_dir_name(plan)
        self.manifest_key = f"{self.entity}/{MANIFEST}"
        self.held = HeldManifest(self.storage, self.manifest_key, plan.entity, record.run_id, wait=plan.lock_wait)
        self.spool: Path | None = None
        try:
            self.previous = self.held.published
            self._refuse_foreign()
            self.healed = self._heal()
            self.found = self._record_start()
            self.spool = Path(tempfile.mkdtemp(prefix=f"hygge-{record.run_id}-"))
        except BaseException:
            self.close()
            raise
        self.part_no = self.previous.next_part if self.previous else 0
        self.parts: list[Part] = []
        self.uploads: list[Future[Entry]] = []
        self.uploader = ThreadPoolExecutor(UPLOADS_AT_ONCE, thread_name_prefix="hygge-upload")
        self.schema: pa.Schema | None = None
        self.series: PartSeries | None = None
        self.published = False
        # A merge rewrites the entity from its old parts and this run's: those stay on local disk until then.
        self.held_back: list[Path] = [] if plan.run_type == "merge" else None  # type: ignore[assignment]
        self.keys = KeySpool(plan) if needs_key_check(plan) else None

    # -- opening -------------------------------------------------------------------------------------

    def _refuse_foreign(self) -> None:
        if self.previous is not None:
            return
        found = [e for e in self.storage.entries(self.entity) if e.key != self.manifest_key]
        if found:
            raise WriteError(
                "the target prefix holds objects not written by hygge; they are left untouched",
                entity=self.plan.entity, path=self.storage.show(self.entity),
                expected=f"no objects, or a prefix holding {MANIFEST}",
                found=f"{len(found)} object(s), e.g. {found[0].name}",
                hint="move those objects away, or set `target:` on the entity to another name")

    def _heal(self) -> list[str]:
        """Remove objects below the entity that no version references: what killed runs uploaded, and parts
        replaced more than ``keep_replaced`` seconds ago. We hold the lease: no live run is writing here."""
        if self.previous is None:
            return []
        kept = {p.file for p in self.previous.parts} | {r["file"] for r in self.previous.replaced}
        leftovers = [e.key for e in self.storage.entries(self.entity)
                     if e.key != self.manifest_key and e.key.rsplit("/", 1)[-1] not in kept]
        self.storage.delete(leftovers)
        return leftovers

    def _record_start(self) -> list[str]:
        """Recorded as running once it holds the entity, so a kill from here on leaves a trace; a run whose
        lease this one took over never ended: it is recorded as interrupted, with what this run did about it."""
        from hygge.state.journal import interrupted, interrupted_note

        notes = []
        dead = self.held.taken_over
        if dead is not None:
            found = self.storage.read(history_key_of(dead.run_id))
            if found is not None:
                left = RunRecord.from_dict(json.loads(found[0]))
                if left.status == "running":
                    healed = f"removed the {len(self.healed)} object(s) it had uploaded" if self.healed else \
                        "found nothing it had uploaded"
                    self.storage.put(history_key(left), history_object(interrupted(left, f"run {self.record.run_id}",
                                                                                  healed)))
                    notes.append(interrupted_note(left, healed))
        self.storage.put(history_key(self.record), history_object(self.record))
        return notes

    # -- staging -------------------------------------------------------------------------------------

    def target_schema(self) -> pa.Schema | None:
        return self.store.manifest_schema_of(self.entity, self.previous)

    def rows_before(self) -> int:
        return self.previous.rows if self.previous else 0

    def expected_rows_after(self) -> int | None:
        if self.plan.run_type == "merge":
            return None  # checked while merging
        keeps = self.plan.run_type in ("append", "incremental")
        return self.rows_written + (self.rows_before() if keeps else 0)

    def begin(self, schema: pa.Schema, drift: Drift | None = None) -> None:
        from hygge.stores.file_checks import check_landing

        check_landing(self.store, self.plan, schema, drift, self.previous is not None, reshapes=False)
        self.schema = schema
        assert self.spool is not None
        self.series = PartSeries(self.store, self.spool, schema, self._next_part, self._closed)

    def _next_part(self) -> int:
        self.part_no += 1
        return self.part_no - 1

    def part_name(self, number: int) -> str:
        # The run in the name: a killed run's part 7 and this run's part 7 are different objects.
        return self.store.part_name(number).replace(".", f"-{self.record.run_id[-8:]}.", 1)

    def _closed(self, name: str, rows: int, size: int, keep: bool = False) -> None:
        """A part is complete on local disk: check it, then upload it while the next one is written."""
        assert self.spool is not None
        local = self.spool / name
        counted = self.store.Writer.count_rows(local)
        if counted is not None and counted != rows:
            raise StateError("a staged part does not hold the rows written to it; nothing was published",
                             entity=self.plan.entity, path=str(local), expected=f"{rows} rows", found=f"{counted}")
        remote = self.part_name(int(name.split("-")[1].split(".")[0]))
        self.parts.append(Part(remote, rows, size, self.record.run_id))
        self.bytes_written += size
        if self.held_back is not None:
            self.held_back.append(local)
            return
        self.uploads.append(self.uploader.submit(self._upload, local, f"{self.entity}/{remote}", keep))

    def take_whole(self, whole: WholeParquet, on_rows: Callable[[int], None]) -> tuple[bool, list[str]]:
        """Parquet files the move changes nothing about are uploaded as they are, checked as a local parquet store
        checks its copies (stores/parquet_landing.py): re-encoding them held 1.07 GB for 10M rows and took 2.5
        times as long as the upload itself. A copy goes up while its pages are decoded: only the manifest
        publishes an object, and it is written after every check and every upload has passed."""
        from hygge.core.passthrough import copyable
        from hygge.stores.parquet import ParquetStore
        from hygge.stores.parquet_landing import copy_checked, refuse_changed

        if not isinstance(self.store, ParquetStore) or self.held_back is not None or \
                not copyable(whole, self.store.config):
            return False, []
        assert self.spool is not None
        with ThreadPoolExecutor(1, thread_name_prefix="hygge-check") as checker:
            checks: list[Future[None]] = []
            for source in whole.files:
                path = self.spool / self.store.part_name(self._next_part())
                checks.append(copy_checked(source, path, whole, self.plan.batch_bytes, checker, False))
                if self.keys is not None:
                    self.keys.write_file(path)
                rows = pq.read_metadata(path).num_rows
                refuse_changed(self.plan.entity, rows, whole.rows_of(source), [source], whole)
                self._closed(path.name, rows, path.stat().st_size, keep=True)  # the check still reads it
                self.rows_written += rows
                on_rows(rows)
                faults.point("write")
            for checked in checks:
                checked.result()
        return True, [f"{len(whole.files)} file(s) uploaded whole: nothing about their rows changed"]

    def _upload(self, local: Path, key: str, keep: bool) -> Entry:
        entry = self.storage.upload(local, key)
        if not keep:
            local.unlink()
        return entry

    def part_targets(self, count: int) -> list[Any]:
        from hygge.stores.bucket_parts import BucketPartTarget

        return [BucketPartTarget(self.plan.store, self.plan.root, self.plan.connections, self.entity,
                                 self.record.run_id, i) for i in range(count)]

    def adopt(self, results: list[Any]) -> None:
        """Reference the parts the workers uploaded; nothing is moved on the bucket."""
        for result in results:
            for name, rows, size in result.outputs:
                self.parts.append(Part(name, rows, size, self.record.run_id))
                self.bytes_written += size
                if self.keys is not None:  # the worker's rows passed no spool here: their keys are read back
                    handle = pq.ParquetFile(self.storage.open_input_file(f"{self.entity}/{name}"))
                    self.keys.write_all(handle.iter_batches(columns=list(self.plan.keys)))
            self.rows_written += result.rows_written

    def write(self, batch: pa.RecordBatch) -> None:
        assert self.series is not None
        if self.keys is not None:
            self.keys.write(batch)
        self.series.write(batch)
        self.rows_written += batch.num_rows
        faults.point("write")

    def finish(self) -> None:
        if self.series is not None:
            self.series.close()
        for upload in self.uploads:
            upload.result()  # an upload that failed fails the move here, before anything is published

    # -- publishing ----------------------------------------------------------------------------------

    def commit(self, record: RunRecord, state: EntityState) -> CommitResult:
        assert self.series is not None
        self.finish()
        merging = self.plan.run_type == "merge" and bool(self.parts)
        if merging:
            self._merge()
        if self.keys is not None:
            self.keys.refuse_repeats(self.storage.show(self.entity))  # abort removes the parts it uploaded
        keeps = not merging and self.plan.run_type != "full_drop" and self.previous is not None
        if not self.parts and not keeps:
            self.series.open()  # zero rows still publish a part, so readers learn the schema
            self.finish()
        kept = self.previous.parts if keeps and self.previous else []
        now = time.time()
        replaced = [r for r in (self.previous.replaced if self.previous else [])
                    if now - float(r["at"]) < self.store.config.keep_replaced]
        if self.previous and not keeps:
            replaced += [{"file": p.file, "at": now} for p in self.previous.parts]
        manifest = Manifest(entity=self.plan.target, flow=self.plan.flow, run_id=record.run_id,
                            committed_at=utc_now().isoformat(), run_type=self.plan.run_type,
                            parts=[*kept, *self.parts], next_part=self.part_no, state=state, replaced=replaced)
        faults.point("before-publish")
        self.held.publish(manifest)
        self.published = True
        faults.point("after-publish")
        self._drop_unadopted(manifest)
        return CommitResult(rows_in_target=manifest.rows, bytes_written=sum(p.bytes for p in self.parts),
                            files=[p.file for p in self.parts], location=self.store.location(self.plan))

    def _merge(self) -> None:
        """The entity's old rows upserted with this run's: the whole entity passes through local disk and memory."""
        from hygge.stores.file_landing import merge_tables

        assert self.spool is not None and self.schema is not None and self.series is not None
        old = []
        for part in self.previous.parts if self.previous else []:
            local = self.spool / f"old-{part.file}"
            self.storage.download(f"{self.entity}/{part.file}", local)
            old.append(local)
        new, self.held_back = self.held_back, None  # type: ignore[assignment]
        merged = merge_tables(old, new, self.schema, self.plan)
        self.bytes_written, self.parts = 0, []
        for path in old + new:
            path.unlink()
        for batch in merged.to_batches():
            self.series.write(batch)
        self.finish()
        if sum(p.rows for p in self.parts) != merged.num_rows:
            raise StateError("the merged entity lost rows while being written; nothing was published",
                             entity=self.plan.entity, path=self.storage.show(self.entity))

    def _drop_unadopted(self, manifest: Manifest) -> None:
        """Objects of this run that the published version does not reference: partition attempts whose result
        never arrived. A later run would remove them anyway; doing it now keeps the prefix tidy."""
        tag = self.record.run_id[-8:]
        referenced = {p.file for p in manifest.parts}
        try:
            self.storage.delete([e.key for e in self.storage.entries(self.entity)
                                 if tag in e.name and e.name not in referenced and e.key != self.manifest_key])
        except Exception:  # noqa: BLE001 - committed; the next run removes what is left
            pass

    def abort(self) -> None:
        if self.series is not None:
            self.series.abandon()
        for upload in self.uploads:
            upload.cancel()
        self.uploader.shutdown(wait=True)
        if not self.published:
            try:  # what this run uploaded; a later run removes what this leaves
                self.storage.delete([f"{self.entity}/{p.file}" for p in self.parts])
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        keys = getattr(self, "keys", None)  # unset when the lease was not taken
        if keys is not None:
            keys.close()
        if hasattr(self, "uploader"):
            self.uploader.shutdown(wait=True)
        self.held.release()
        if self.spool is not None:
            shutil.rmtree(self.spool, ignore_errors=True)


def history_key(record: RunRecord) -> str:
    return history_key_of(record.run_id)


def history_key_of(run_id: str) -> str:
    return f".hygge/history/{run_id}.json"


def history_object(record: RunRecord) -> bytes:
    return json.dumps(record.to_dict(), default=str).encode()


def read_history(storage: Any) -> list[RunRecord]:
    out = []
    for entry in storage.entries(".hygge/history"):
        found = storage.read(entry.key)
        if found is None:
            continue
        try:
            out.append(RunRecord.from_dict(json.loads(found[0])))
        except (ValueError, TypeError):
            continue
    return sorted(out, key=lambda r: r.started_at)
