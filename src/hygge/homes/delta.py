"""Home `delta`: a Delta Lake table read at its latest version, at `as_of`, or by the versions since the last run.

An incremental run reads the commits after the version the last committed run read (its state:
``loaded_files`` holds ``{"<table>": {"version": N}}``), commit by commit in order: a commit's change
data files where the table writes them (``delta.enableChangeDataFeed``: inserted rows and the new
images of updated ones, and deleted rows when `deleted_column` is set), otherwise the files it added;
with `deleted_column`, the rows of the files it removed count as deleted before the rows it added (the
change data feed's own rule for commits without change files), so a merge Store with that column as
its `delete_column` follows deletes and rewrites exactly. Every read streams one data file at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import deltalake  # noqa: F401 - imported here so a missing package fails with its install hint (registry.py)
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from hygge.core.plan import MovePlan
from hygge.errors import ReadError, did_you_mean
from hygge.homes.base import Check, Home, HomeConfig, ReadState, Source
from hygge.lake.bucket import LakeBucket
from hygge.lake.datafiles import partition_value
from hygge.lake.location import OneLake, base_location, table_location
from hygge.lake.place import BucketPlace, place_of
from hygge.lake.scan import file_batches, restored
from hygge.lake.table import is_table, open_table, physical_schema, refuse_unsupported
from hygge.lake.types import hygge_schema

CHANGE_TYPE = pa.field("_change_type", pa.string())


class DeltaHomeConfig(HomeConfig):
    path: str = Field(description="a folder of Delta tables (one per entity), or one table; an s3://, gs://, "
                                  "az:// or abfss:// bucket prefix of them; or a OneLake address")
    connection: str | dict[str, Any] | None = Field(
        None, description="for a bucket: a name from `connections:` (type s3, gcs or azure), or a mapping")
    as_of: int | datetime | str | None = Field(None, description="read this version number, or the version as of "
                                                                 "this timestamp, instead of the latest")
    deleted_column: str | None = Field(None, description="add a boolean column of this name, true for rows an "
                                                         "incremental run finds deleted")


@dataclass
class Unit:
    """One file to read, and what its rows mean."""

    path: str
    partition_values: dict[str, str | None]
    rows: int | None
    kind: str  # "rows" (table contents, added rows), "deleted" (rows of a removed file), "changes" (a CDC file)


def _rows_of(stats: Any) -> int | None:
    import json

    try:
        return int(json.loads(stats)["numRecords"]) if stats else None
    except (ValueError, KeyError, TypeError):
        return None


class DeltaSource(Source):
    def __init__(self, home: DeltaHome, plan: MovePlan, state: ReadState | None):
        self.home, self.plan, self.state = home, plan, state
        self.location = table_location(home.root, home.config.path, plan.source, home.config.connection,
                                       home.connections)
        self.place = place_of(self.location)
        table = open_table(self.location, plan.entity, home.config.as_of, reading=True)
        if table is None:
            raise self._missing()
        refuse_unsupported(table, self.location, plan.entity, reading=True)
        self.physical = physical_schema(table)
        self.columns = hygge_schema(self.physical)
        deleted = home.config.deleted_column
        self._schema = self.columns.append(pa.field(deleted, pa.bool_())) if deleted else self.columns
        self.version = table.version()
        self.key = self.location.shown
        self.rows = state.filter_for(self._schema) if state is not None else None
        since = ((state.loaded_files or {}).get(self.key) or {}).get("version") if state is not None else None
        self.units = self._table_files(table) if since is None else self._changes(int(since))
        known = [u.rows for u in self.units]
        self.estimated_rows = None if None in known else sum(r or 0 for r in known)
        where = f"delta table {self.location.shown}"
        if since is None:
            self.description = f"{where} version {self.version}"
        elif int(since) >= self.version:
            self.description = f"{where}, no version after {self.version}"
        else:
            self.description = f"{where} versions {int(since) + 1}..{self.version}"
        self._closed = False

    def _missing(self) -> ReadError:
        names = [name for name, _ in self.home.discover()] if self.home.has_folder() else []
        return ReadError("the source table does not exist", path=self.location.shown,
                         expected="a folder with a _delta_log", found="no Delta table there",
                         hint=did_you_mean(self.plan.source, names) or (
                             f"tables there: {', '.join(names[:10])}" if names else "check `path` and `source`"))

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def _table_files(self, table: Any) -> list[Unit]:
        actions = pa.table(table.get_add_actions(flatten=True))
        parts = [c for c in actions.column_names if c.startswith("partition.")]
        return [Unit(row["path"], {c[len("partition."):]: partition_value(row[c]) for c in parts},
                     row["num_records"], "rows")
                for row in actions.select(["path", "num_records", *parts]).to_pylist()]

    def _changes(self, since: int) -> list[Unit]:
        if since > self.version:
            raise ReadError("the table is at an older version than the last one loaded: it was recreated",
                            path=self.location.shown, expected=f"version {since} or later",
                            found=f"version {self.version}",
                            hint="run `hygge reset FLOW.ENTITY --yes` to load the table from scratch")
        units: list[Unit] = []
        ignored: list[int] = []
        for version in range(since + 1, self.version + 1):
            actions = self.place.commit_actions(version)
            if actions is None:
                raise ReadError("the table's log no longer holds a version this run must read",
                                path=self.location.shown, expected=f"version {version} in _delta_log",
                                found="removed by log retention (delta.logRetentionDuration)",
                                hint="run `hygge reset FLOW.ENTITY --yes` to load the table from scratch")
            cdc = [a["cdc"] for a in actions if "cdc" in a]
            if cdc:
                units += [Unit(c["path"], c.get("partitionValues") or {}, None, "changes") for c in cdc]
                continue
            removed = [a["remove"] for a in actions if "remove" in a and a["remove"].get("dataChange", True)]
            if removed and self.home.config.deleted_column:
                units += [Unit(r["path"], r.get("partitionValues") or {}, None, "deleted") for r in removed]
            elif removed:
                ignored.append(version)
            units += [Unit(a["add"]["path"], a["add"].get("partitionValues") or {}, _rows_of(a["add"].get("stats")),
                           "rows") for a in actions if "add" in a and a["add"].get("dataChange", True)]
        if ignored:
            self.warnings.append(
                f"version(s) {', '.join(map(str, ignored[:5]))} removed rows; without the table's change data feed or "
                "`deleted_column` only the rows they added were read")
        return units

    def batches(self) -> Iterator[pa.RecordBatch]:
        deleted = self.home.config.deleted_column
        for unit in self.units:
            if self._closed:
                return
            extra = [CHANGE_TYPE] if unit.kind == "changes" else None
            for batch in file_batches(self.place.open, unit.path, unit.partition_values, self.physical,
                                      self.plan.batch_bytes, extra):
                gone = pa.repeat(pa.scalar(unit.kind == "deleted"), batch.num_rows)
                if unit.kind == "changes":
                    change = batch.column("_change_type")
                    keep = pc.is_in(change, pa.array(["insert", "update_postimage", *(["delete"] if deleted else [])]))
                    batch = batch.filter(keep)
                    gone = pc.equal(batch.column("_change_type"), "delete")
                    batch = batch.drop_columns(["_change_type"])
                out = restored(batch, self.columns)
                if deleted:
                    out = out.append_column(pa.field(deleted, pa.bool_()), gone)
                if self.rows is not None:
                    out = self.rows.apply(out)
                if out.num_rows:
                    yield out

    def new_state(self) -> dict[str, Any]:
        loaded = dict(self.state.loaded_files or {}) if self.state is not None else {}
        loaded[self.key] = {"version": self.version}
        return {"loaded_files": loaded}

    def close(self) -> None:
        self._closed = True


class DeltaHome(Home):
    type_name = "delta"
    Config = DeltaHomeConfig
    config: DeltaHomeConfig
    tracks_files = True  # an incremental run needs no watermark: the table's versions say what is new

    def _base(self) -> Path | OneLake | LakeBucket:
        return base_location(self.root, self.config.path, self.config.connection, self.connections)

    def has_folder(self) -> bool:
        base = self._base()
        return isinstance(base, LakeBucket) or (isinstance(base, Path) and base.is_dir())

    def discover(self) -> list[tuple[str, str]]:
        base = self._base()
        if isinstance(base, LakeBucket):
            if BucketPlace(base).has_log():
                return [(base.address.prefix.rsplit("/", 1)[-1], "")]
            names = base.storage.folders(base.key())
            return [(n, n) for n in names if BucketPlace(base.at(n)).has_log()]
        if not isinstance(base, Path) or not base.is_dir():
            raise ReadError('entities: "*" needs the home path to be a local folder of Delta tables',
                            path=self.config.path, hint="list the entities by name")
        if is_table(base):
            return [(base.name, "")]
        return [(p.name, p.name) for p in sorted(base.iterdir()) if p.is_dir() and is_table(p)]

    def open(self, plan: MovePlan, state: ReadState | None = None) -> Source:
        return DeltaSource(self, plan, state)

    def describe(self) -> str:
        return f"delta tables in {self.config.path}"

    def check(self) -> list[Check]:
        base = self._base()
        if isinstance(base, LakeBucket):
            found = self.discover()
            return [Check(f"home path {self.config.path}", bool(found),
                          f"{len(found)} Delta table(s) on {base.settings.display()}",
                          None if found else "check `path` and the connection; no _delta_log was found there")]
        if not isinstance(base, Path):
            return [Check(f"home path {self.config.path}", True, "a valid OneLake address (not reachable yet)")]
        if not base.exists():
            return [Check(f"home path {self.config.path}", False, "does not exist",
                          "create it or fix `path` on the home (relative paths start at the project folder)")]
        return [Check(f"home path {self.config.path}", True,
                      "a Delta table" if is_table(base) else f"{len(self.discover())} Delta table(s)")]
