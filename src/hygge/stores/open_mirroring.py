"""Store `open_mirroring`: Microsoft Fabric Open Mirroring's landing zone (the format: lake/mirroring.py).

Layout of a landing zone (``path``)::

    <path>/_partnerEvents.json                       who publishes (written once, if missing)
    <path>/[<schema>.schema/]<table>/_metadata.json  {"keyColumns": [...]} (never changed once set)
    <path>/[<schema>.schema/]<table>/00000000000000000001.parquet, ...   one file per committed run
    <path>/[<schema>.schema/]<table>/_hygge/          hygge's lock, the run being written, run history

A run writes its one data file under a temporary name in ``_hygge/`` and publishes it by hard-linking it
to the next free number (the link fails if the number exists: a number is never reused) and then
dropping the temporary name; a killed run leaves only the temporary file, which the next run deletes, so
the sequence has no gap. The entity's state and run record travel in that file's parquet footer: the
file is the commit. The mirror leaves the last file in place, so the state is always found.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from hygge.core.plan import MovePlan
from hygge.errors import ConfigError, ConfigProblem
from hygge.homes.base import Check
from hygge.lake.mirroring import sequence_files
from hygge.state.journal import EntityState, RunRecord
from hygge.storage.address import is_url, parse
from hygge.storage.base import Storage
from hygge.stores.base import Landing, Store, StoreConfig

STATE_KEY, RUN_KEY, SCHEMA_KEY = b"hygge.state", b"hygge.run", b"hygge.schema"
# What a data file's footer carries for hygge: the entity's state, the run that wrote it, the schema it landed.
Footer = tuple[EntityState, RunRecord | None, pa.Schema | None]
_FOLDER = re.compile(r"^[^/\\\x00]+$")


class OpenMirroringStoreConfig(StoreConfig):
    path: str = Field(description="the mirrored database's landing zone: a folder relative to the project, or a "
                                  "bucket URL (abfss://WORKSPACE@onelake.dfs.fabric.microsoft.com/ITEM/Files/"
                                  "LandingZone, az://, s3://, gs://)")
    connection: str | dict[str, Any] | None = Field(
        None, description="for a bucket: a name from `connections:` (type azure, s3 or gcs), or a mapping")
    schema_name: str | None = Field(None, alias="schema",
                                    description="put tables in <schema>.schema/; default: the part of a "
                                                "`schema.table` target before the dot, if any")
    compression: Literal["snappy", "gzip", "zstd", "none"] = "snappy"
    compression_level: int | None = None
    partner_name: str = Field("hygge", description="partnerName in _partnerEvents.json")
    source_type: str | None = Field(None, description="sourceType in _partnerEvents.json; default: the home's type")
    durable: bool = Field(True, description="fsync the data file before it gets its number")

    @model_validator(mode="after")
    def _level_needs_a_codec_with_levels(self) -> OpenMirroringStoreConfig:
        if self.compression_level is not None and self.compression in ("snappy", "none"):
            raise ValueError(f"compression_level needs gzip or zstd; {self.compression} has none")
        return self


def footer_state(path: Path | pa.NativeFile) -> Footer | None:
    """What hygge keeps in a data file's footer (a local file, or a bucket object's reader), or None for a file
    hygge did not write."""
    import base64

    meta = pq.read_metadata(path).metadata or {}
    if STATE_KEY not in meta:
        return None
    run = json.loads(meta[RUN_KEY]) if RUN_KEY in meta else None
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(meta[SCHEMA_KEY]))) if SCHEMA_KEY in meta else None
    return EntityState.from_dict(json.loads(meta[STATE_KEY])), RunRecord.from_dict(run) if run else None, schema


def newest_footer(files: list[tuple[int, Any]], read: Callable[[Any], Footer | None]) -> tuple[int, Footer | None]:
    """The highest of the numbered ``files`` and the footer ``read`` finds in the newest file that has one (the
    mirror may leave files hygge did not write)."""
    for _, file in reversed(files):
        found = read(file)
        if found is not None:
            return files[-1][0], found
    return (files[-1][0] if files else 0), None


def matches(record: RunRecord, project: str, flow: str | None, entity: str | None) -> bool:
    """Whether ``history`` shows this record for the project, flow and entity asked about."""
    return record.seen_by(project) and (flow is None or record.flow == flow) and (entity is None or
                                                                                record.entity == entity)


class OpenMirroringStore(Store):
    type_name = "open_mirroring"
    Config = OpenMirroringStoreConfig
    config: OpenMirroringStoreConfig

    def __init__(self, config: StoreConfig, *, root: Path, connections: dict[str, dict[str, Any]] | None = None):
        super().__init__(config, root=root, connections=connections)
        self.tables_of: dict[tuple[str, str], Path] = {}  # for log_run, which gets only the run record
        # On a bucket (OneLake, ADLS, S3, GCS) the zone is reached through the storage interface
        # (stores/open_mirroring_bucket.py).
        self.storage: Storage | None = None
        if is_url(self.config.path):
            from hygge.storage.remote import storage_for
            from hygge.storage.settings import settings_for

            address = parse(self.config.path)
            self.storage = storage_for(address, settings_for(address, self.config.connection, self.connections))

    @property
    def base(self) -> Path:
        return self.root / os.path.expanduser(self.config.path)

    def table_name(self, plan: MovePlan) -> str:
        """The table's folder below the landing zone: ``[<schema>.schema/]<table>``."""
        schema, table = self.config.schema_name, plan.target
        if schema is None and "." in table:
            schema, table = table.split(".", 1)
        for name in (n for n in (schema, table) if n is not None):
            if not _FOLDER.match(name) or name in (".", "..") or name.startswith("_"):
                raise ConfigError([ConfigProblem(
                    f"'{name}' cannot be a landing zone folder name", key="target",
                    expected="a name without slashes that does not start with _ (the mirror's own folders do)",
                    hint="set `target:` on the entity")])
        return f"{schema}.schema/{table}" if schema else table

    def table_dir(self, plan: MovePlan) -> Path:
        return self.base / self.table_name(plan)

    def location(self, plan: MovePlan) -> str:
        from hygge.lake.location import shown_path

        if self.storage is not None:
            return self.storage.show(self.table_name(plan))
        return shown_path(self.root, self.table_dir(plan))

    def landing(self, plan: MovePlan, record: RunRecord) -> Landing:
        from hygge.stores.open_mirroring_landing import OpenMirroringLanding

        if self.storage is not None:
            from hygge.stores.open_mirroring_bucket import OpenMirroringBucketLanding

            return OpenMirroringBucketLanding(self, plan, record)
        self.tables_of[(plan.flow, plan.entity)] = self.table_dir(plan)
        return OpenMirroringLanding(self, plan, record)

    def latest(self, folder: Path) -> tuple[int, Footer | None]:
        """The highest sequence number, and hygge's state from the newest file that carries it."""
        return newest_footer(sequence_files(folder), footer_state)

    def footer_of(self, plan: MovePlan) -> Footer | None:
        if self.storage is not None:
            from hygge.stores.open_mirroring_bucket import latest

            return latest(self.storage, self.table_name(plan))[1]
        return self.latest(self.table_dir(plan))[1]

    def state(self, plan: MovePlan) -> EntityState | None:
        found = self.footer_of(plan)
        return found[0] if found else None

    def target_schema(self, plan: MovePlan) -> pa.Schema | None:
        found = self.footer_of(plan)
        return found[2] if found else None

    def log_run(self, record: RunRecord, plan: MovePlan | None = None) -> None:
        if self.storage is not None:
            from hygge.stores.open_mirroring_bucket import log_run

            if plan is not None:
                log_run(self.storage, self.table_name(plan), record)
            return
        try:
            folder = self.tables_of.get((record.flow, record.entity))
            if folder is None:
                return
            (folder / "_hygge").mkdir(parents=True, exist_ok=True)
            with open(folder / "_hygge" / "history.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record.to_dict(), default=str) + "\n")
        except OSError:
            pass

    def history(self, project: str = "", flow: str | None = None, entity: str | None = None) -> list[RunRecord]:
        if self.storage is not None:
            from hygge.stores.open_mirroring_bucket import history

            return [r for r in history(self.storage) if matches(r, project, flow, entity)]
        records = []
        base = self.base
        for path in sorted(base.glob("*/_hygge/history.jsonl")) + sorted(base.glob("*.schema/*/_hygge/history.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = RunRecord.from_dict(json.loads(line))
                except (ValueError, TypeError):
                    continue
                if matches(record, project, flow, entity):
                    records.append(record)
        return records

    def describe(self) -> str:
        return f"open mirroring landing zone {self.config.path}"

    def check(self) -> list[Check]:
        if self.storage is not None:
            from hygge.stores.bucket_store import check

            return check(self.storage, self.config.path)
        base = self.base
        probe = base
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        ok = os.access(probe, os.W_OK)
        return [Check(f"landing zone {self.config.path}", ok, "writable" if ok else f"{probe} is not writable",
                      None if ok else "give this user write access, or point the store elsewhere")]

    def partner_events(self, plan: MovePlan) -> dict[str, Any]:
        from hygge import __version__

        return {"partnerName": self.config.partner_name,
                "sourceInfo": {"sourceType": self.config.source_type or str(plan.home.get("type", "unknown")),
                               "sourceVersion": "", "additionalInformation": {"writer": f"hygge {__version__}"}}}
