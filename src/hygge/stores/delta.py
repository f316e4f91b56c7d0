"""Store `delta`: one Delta Lake table per entity, its rows and its state committed in one log entry.

Layout of a store folder (``path``; a OneLake ``…/Tables[/<schema>]`` address is parsed the same way)::

    <path>/<entity>/_delta_log/...             the table's log: data, state and run records
    <path>/<entity>/part-*.parquet             data files (in col=value/ folders when partitioned)
    <path>/<entity>/_hygge/lock                one hygge writer per table
    <path>/<entity>/_hygge/runs/<run>.json     a run in progress (what the next run cleans up after a kill)
    <path>/<entity>/_hygge/history.jsonl       every run, failed ones included (`hygge history`)

Delta readers ignore folders starting with ``_``; Delta's VACUUM leaves them alone.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any, Literal

import deltalake  # noqa: F401 - imported here so a missing package fails with its install hint (registry.py)
import pyarrow as pa
from pydantic import BaseModel, ByteSize, ConfigDict, Field, model_validator

from hygge.core.plan import MovePlan
from hygge.homes.base import Check
from hygge.lake.bucket import LakeBucket
from hygge.lake.location import TableLocation, base_location, table_location
from hygge.lake.log import app_id, commit_properties, last_commit
from hygge.lake.place import place_of
from hygge.lake.table import guarded, open_table, physical_schema
from hygge.lake.types import hygge_schema
from hygge.state.journal import EntityState, RunRecord
from hygge.stores.base import Landing, Store, StoreConfig

Codec = Literal["snappy", "zstd", "gzip", "lz4", "brotli", "none"]


class VacuumConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retention_hours: int | None = Field(
        None, ge=0, description="keep removed files this many hours; default: the table's "
                                "delta.deletedFileRetentionDuration (7 days)")
    enforce_retention_duration: bool = Field(
        True, description="refuse a retention shorter than the table's own (readers may still need those files)")


class DeltaStoreConfig(StoreConfig):
    path: str = Field(description="the folder tables settle in (one per entity), relative to the project; an "
                                  "s3://, gs://, az:// or abfss:// bucket prefix; or a OneLake address")
    connection: str | dict[str, Any] | None = Field(
        None, description="for a bucket: a name from `connections:` (type s3, gcs or azure), or a mapping")
    partition_by: list[str] = Field(default_factory=list, description="partition columns of new tables")
    target_file_size: ByteSize = Field(ByteSize(128 * 2**20), description="start a new data file past this size")
    compression: Codec = "snappy"
    compression_level: int | None = None
    optimize: bool = Field(False, description="compact small files after each successful run")
    vacuum: VacuumConfig | None = Field(None, description="remove files older versions no longer need, after each "
                                                          "successful run")
    properties: dict[str, str] = Field(default_factory=dict,
                                       description="table properties of tables hygge creates, e.g. "
                                                   "delta.enableChangeDataFeed: 'true'")
    durable: bool = Field(True, description="fsync data files before the commit names them")

    @model_validator(mode="after")
    def _level_needs_a_codec_with_levels(self) -> DeltaStoreConfig:
        if self.compression_level is not None and self.compression in ("snappy", "none", "lz4"):
            raise ValueError(f"compression_level needs a codec with levels (zstd, gzip, brotli); "
                             f"{self.compression} has none")
        return self


class DeltaStore(Store):
    type_name = "delta"
    Config = DeltaStoreConfig
    config: DeltaStoreConfig

    def table(self, plan: MovePlan) -> TableLocation:
        location = table_location(self.root, self.config.path, plan.target, self.config.connection,
                                  self.connections)
        self.tables_of[(plan.flow, plan.entity)] = location  # for log_run, which gets only the run record
        return location

    def __init__(self, config: StoreConfig, *, root: Path, connections: dict[str, dict[str, Any]] | None = None):
        super().__init__(config, root=root, connections=connections)
        self.tables_of: dict[tuple[str, str], TableLocation] = {}
        # The run counter each entity's state was read at: a landing that finds another refuses to go on.
        self.counters: dict[tuple[str, str], int] = {}

    def location(self, plan: MovePlan) -> str:
        return self.table(plan).shown

    def work_folder(self, plan: MovePlan, run_id: str) -> Path:
        """Where a run writes a bucket table's files before uploading them (the project's own cache folder)."""
        entity = hashlib.sha256(f"{plan.flow}.{plan.entity}".encode()).hexdigest()[:10]
        return self.root / ".hygge" / "lake-work" / f"{run_id}-{entity}"

    def landing(self, plan: MovePlan, record: RunRecord) -> Landing:
        from hygge.stores.delta_landing import DeltaLanding

        return DeltaLanding(self, plan, record)

    def state(self, plan: MovePlan) -> EntityState | None:
        location = self.table(plan)
        table = open_table(location, plan.entity)
        if table is None:
            self.counters[(plan.flow, plan.entity)] = 0
            return None
        cache = place_of(location).state_cache
        found = last_commit(table, app_id(plan.flow, plan.entity), cache)
        self.counters[(plan.flow, plan.entity)] = found.counter if found else 0
        return found.state if found else None

    def target_schema(self, plan: MovePlan) -> pa.Schema | None:
        table = open_table(self.table(plan), plan.entity)
        return hygge_schema(physical_schema(table)) if table is not None else None

    def log_run(self, record: RunRecord, plan: MovePlan | None = None) -> None:
        """Every finished run, beside its table; the log, not this record, is what state is read from."""
        from hygge.stores.delta_history import log_run

        try:
            location = self.tables_of.get((record.flow, record.entity)) or table_location(
                self.root, self.config.path, record.entity, self.config.connection, self.connections)
            log_run(place_of(location), record)
        except Exception:  # noqa: BLE001 - history is a convenience, never a failure of the run
            pass

    def history(self, project: str = "", flow: str | None = None, entity: str | None = None) -> list[RunRecord]:
        from hygge.stores.delta_history import table_history, tables

        base = base_location(self.root, self.config.path, self.config.connection, self.connections)
        records: list[RunRecord] = []
        for place, location in tables(base, self.root):
            records += table_history(place, location)
        return [r for r in records if r.seen_by(project) and (flow is None or r.flow == flow)
                and (entity is None or r.entity == entity)]

    def forget(self, plan: MovePlan) -> bool:
        """Commit the entity's state without its watermark and files: the data stays, the next run starts over."""
        location = self.table(plan)
        place = place_of(location)
        lock = place.lock(plan.entity, f"reset-{uuid.uuid4().hex[:8]}", plan.lock_wait)
        try:
            table = open_table(location, plan.entity)
            if table is None:
                return False
            app = app_id(plan.flow, plan.entity)
            found = last_commit(table, app, place.state_cache)
            if found is None:
                return False
            state = EntityState(columns=found.state.columns, last_run=found.state.last_run)
            counter = found.counter + 1
            guarded(lambda: table.create_write_transaction(
                [], "append", physical_schema(table), commit_properties=commit_properties(app, counter, None, state)),
                location, app, counter, plan.entity)
            return True
        finally:
            lock.release()

    def describe(self) -> str:
        return f"delta tables in {self.config.path}"

    def check(self) -> list[Check]:
        base = base_location(self.root, self.config.path, self.config.connection, self.connections)
        if isinstance(base, LakeBucket):
            from hygge.storage.remote import storage_for
            from hygge.stores.bucket_store import check

            # Rooted at the store's prefix: the probe object goes there, where the credentials must allow writing.
            return check(storage_for(base.address, base.settings), self.config.path)
        if not isinstance(base, Path):
            return [Check(f"store path {self.config.path}", True, "a valid OneLake address (not reachable yet)")]
        probe = base
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not os.access(probe, os.W_OK):
            return [Check(f"store path {self.config.path}", False, f"{probe} is not writable",
                          "give this user write access, or point the store elsewhere")]
        return [Check(f"store path {self.config.path}", True,
                      "exists" if base.exists() else f"will be created (inside {probe})")]
