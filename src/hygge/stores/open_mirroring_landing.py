"""One move into an Open Mirroring landing zone: one data file, published under the next sequence number.

Row markers follow the run type: the first file of a table is its initial load and carries no marker
(the format reads it as inserts and advises against markers there); later files carry ``__rowMarker__``
as the last column: 0 (insert) for `append` and `full_drop`, 4 (upsert) for `merge` (and `incremental`
with keys), and 2 (delete) where `delete_column` is true. A merge's rows are first reduced to one per key
(latest watermark, then arrival), as every hygge store does; that rewrites the run's file once.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hygge.core import faults
from hygge.core.drift import Drift
from hygge.core.plan import MovePlan
from hygge.errors import StateError, WriteError
from hygge.lake.log import plain
from hygge.lake.merge import check_columns, one_row_per_key, source_batches
from hygge.lake.mirroring import (
    DELETE,
    INSERT,
    KEY_METADATA,
    PARTNER_EVENTS,
    ROW_MARKER,
    UPSERT,
    file_name,
    landing_schema,
    sequence_files,
    to_landing,
)
from hygge.state.fsops import fsync_dir, fsync_path, write_json_atomic
from hygge.state.journal import EntityState, RunRecord
from hygge.state.lock import EntityLock
from hygge.stores.base import CommitResult, Landing
from hygge.stores.files import explain_os_error
from hygge.stores.open_mirroring import RUN_KEY, SCHEMA_KEY, STATE_KEY

if TYPE_CHECKING:
    from hygge.stores.open_mirroring import OpenMirroringStore


class OpenMirroringLanding(Landing):
    def __init__(self, store: OpenMirroringStore, plan: MovePlan, record: RunRecord):
        self.store, self.plan, self.record = store, plan, record
        self.folder = store.table_dir(plan)
        self.shown = str(self.folder)
        self.work = self.folder / "_hygge"
        self.lock = EntityLock(self.work / "lock", plan.entity, record.run_id)
        try:
            self.lock.acquire(plan.lock_wait)
        except OSError as exc:
            raise explain_os_error(exc, self.folder, "create the table's lock file") from exc
        try:
            for leftover in [*self.work.glob("*.tmp"), *self.work.glob("one-row-per-key.parquet")]:
                leftover.unlink()  # a killed run's file: it never got a number, so the sequence has no gap
            self.last, found = store.latest(self.folder)
            self.previous = found[0] if found else None
            self.previous_schema = found[2] if found else None
            self.keys_now = self._keys()
        except BaseException:
            self.lock.release()
            raise
        self.tmp = self.work / f"{record.run_id}.parquet.tmp"
        self.writer: pq.ParquetWriter | None = None
        self.published: Path | str | None = None

    def _keys(self) -> list[str] | None:
        path = self.folder / KEY_METADATA
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data.get("keyColumns") or data.get("KeyColumns") or [])

    def target_schema(self) -> pa.Schema | None:
        return self.previous_schema

    def _refuse(self, what: str, **kwargs: Any) -> WriteError:
        return WriteError(what, entity=self.plan.entity, path=self.shown, **kwargs)

    def begin(self, schema: pa.Schema, drift: Drift | None = None) -> None:
        initial = self.last == 0
        merging = self.plan.run_type == "merge"
        if self.plan.run_type == "full_drop" and not initial:
            raise self._refuse(
                "Open Mirroring cannot replace a table's rows in place; nothing was written",
                expected="a table folder without data files (an initial load)",
                found=f"data files up to {file_name(self.last)}",
                hint="delete the table folder (the mirror then drops the table) and run again, or use run_type "
                     "incremental, append or merge")
        if drift is not None and drift.widened:
            raise self._refuse(
                "Open Mirroring cannot change a column's type", found="; ".join(
                    f"{n}: {a} -> {b}" for n, a, b in drift.widened),
                hint="delete the table folder and load it again with the new types (the mirror recreates it)")
        if merging:
            check_columns(schema, self.plan, self.shown)
        keys = list(self.plan.keys)
        if self.keys_now and keys and keys != self.keys_now:
            raise self._refuse("Open Mirroring cannot change a table's key columns once they are set",
                               expected=", ".join(self.keys_now), found=", ".join(keys),
                               hint="set `keys:` back, or delete the table folder and load it again")
        physical, problems = landing_schema(schema)
        if problems:
            raise self._refuse("the landing zone cannot hold some columns faithfully; nothing was written",
                               found="; ".join(problems),
                               hint="convert them at the source, or drop them with `polish: drop: [...]`")
        self.source_schema, self.physical = schema, physical
        self.marker = None if initial else (UPSERT if merging else INSERT)
        self.file_schema = physical.append(pa.field(ROW_MARKER, pa.int32())) if self.marker is not None else physical
        self.work.mkdir(parents=True, exist_ok=True)
        self.writer = self._writer(self.tmp if not merging else self.work / f"{self.record.run_id}.rows.tmp")

    def _writer(self, path: Path) -> pq.ParquetWriter:
        config = self.store.config
        return pq.ParquetWriter(path, self.file_schema, compression=config.compression,
                                compression_level=config.compression_level)

    def write(self, batch: pa.RecordBatch) -> None:
        assert self.writer is not None
        arrays = to_landing(batch, self.source_schema, self.physical)
        if self.marker is not None:
            column = self.plan.delete_column
            if self.marker == UPSERT and column:
                gone = pc.fill_null(batch.column(column), False)
                arrays.append(pc.if_else(gone, pa.scalar(DELETE, pa.int32()), pa.scalar(UPSERT, pa.int32())))
            else:
                arrays.append(pa.repeat(pa.scalar(self.marker, pa.int32()), batch.num_rows))
        try:
            self.writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.file_schema))
        except OSError as exc:
            raise explain_os_error(exc, self.work, "write the data file") from exc
        self.rows_written += batch.num_rows
        self.bytes_written += batch.nbytes
        faults.point("write")

    def commit(self, record: RunRecord, state: EntityState) -> CommitResult:
        assert self.writer is not None
        meta = {STATE_KEY: json.dumps(plain(state.to_dict())), RUN_KEY: json.dumps(plain(record.to_dict())),
                SCHEMA_KEY: base64.b64encode(self.source_schema.serialize().to_pybytes())}
        unchanged = self.previous is not None and not self.rows_written and (
            self.previous.watermark, self.previous.loaded_files) == (state.watermark, state.loaded_files)
        if self.plan.run_type == "merge":
            self._one_row_per_key(meta)
        else:
            self.writer.add_key_value_metadata(meta)
            self.writer.close()
        self.writer = None
        if unchanged:
            self.tmp.unlink()
            return CommitResult(rows_in_target=None, location=self.store.location(self.plan),
                                warnings=["nothing new: no data file was published"])
        self._table_files()
        return self._publish()

    def _publish(self) -> CommitResult:
        """The complete file under the next number, which it never replaces."""
        if self.store.config.durable:
            fsync_path(self.tmp)
        faults.point("before-publish")
        sequence = max((n for n, _ in sequence_files(self.folder)), default=0) + 1
        final = self.folder / file_name(sequence)
        try:
            os.link(self.tmp, final)  # never replaces: a number, once given, keeps its bytes
        except FileExistsError as exc:
            raise StateError("another writer published the next data file of this table meanwhile",
                             entity=self.plan.entity, path=str(final), transient=True,
                             hint="hygge retries the move; only one publisher may write a table") from exc
        self.published = final
        if self.store.config.durable:
            fsync_dir(self.folder)
        faults.point("after-publish")
        self.tmp.unlink()
        return CommitResult(rows_in_target=None, bytes_written=final.stat().st_size, files=[final.name],
                            location=self.store.location(self.plan))

    def _one_row_per_key(self, meta: dict[bytes, Any]) -> None:
        """The merge's rows, one per key, copied into the file to publish (deleted rows dropped from an
        initial load, which cannot say "delete")."""
        assert self.writer is not None
        self.writer.close()
        rows = self.work / f"{self.record.run_id}.rows.tmp"
        source, _ = one_row_per_key(rows, self.plan, self.work)
        writer = self._writer(self.tmp)
        drop = self.plan.delete_column if self.marker is None else None
        for batch in source_batches(source, self.file_schema, 64 * 1024, drop):
            writer.write_batch(batch)
        writer.add_key_value_metadata(meta)
        writer.close()
        rows.unlink()
        if source != rows:
            source.unlink()

    def _table_files(self) -> None:
        """``_metadata.json`` before the first data file (keys set once), ``_partnerEvents.json`` at the root."""
        keys = list(self.plan.keys)
        if self.keys_now is None or (keys and not self.keys_now):
            write_json_atomic(self.folder / KEY_METADATA, {"keyColumns": keys} if keys else {},
                              durable=self.store.config.durable)
        events = self.store.base / PARTNER_EVENTS
        if not events.exists():
            try:
                with open(events, "x", encoding="utf-8") as handle:
                    json.dump(self.store.partner_events(self.plan), handle, indent=2)
            except FileExistsError:
                pass  # another table's run wrote it first

    def abort(self) -> None:
        if self.published is not None:
            return
        try:
            if self.writer is not None:
                self.writer.close()
            for leftover in self.work.glob(f"{self.record.run_id}*.tmp"):
                leftover.unlink()
        except (OSError, pa.ArrowException):
            pass  # the next run deletes it

    def close(self) -> None:
        self.lock.release()
