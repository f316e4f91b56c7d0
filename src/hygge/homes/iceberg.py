"""Home `iceberg`: read an Iceberg table at its current snapshot, at a snapshot or a time (`as_of`), or
incrementally: the rows appended since the snapshot the last committed run read.

An incremental read needs the table's history between that snapshot and now to be appends (or file
rewrites that keep the rows, such as compaction). Where a snapshot in between overwrote or deleted rows,
the appended rows alone would miss that change: with a `watermark:` the whole table is read again,
filtered by it (and the run says so); without one the move fails and says how to reload the table.
Files are read one at a time, batch by batch, in batches of at most `batch_bytes`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

# Imported here so that the registry names the extra when pyiceberg is missing. Its modules import each other
# (strictyaml among them): imported on two threads at once, one got a partly initialized module ("cannot import
# name 'utils' from partially initialized module 'strictyaml'"); here they are imported while the registry loads
# this module, one thread at a time (core/registry.py).
import pyiceberg.catalog
import pyiceberg.io.pyarrow
import pyiceberg.table  # noqa: F401
from pydantic import Field

from hygge.core.plan import MovePlan
from hygge.errors import ReadError, did_you_mean
from hygge.homes.base import Check, Home, HomeConfig, ReadState, Source
from hygge.lake import iceberg_catalog as catalogs
from hygge.lake.iceberg_files import bounded, task_batches
from hygge.lake.iceberg_types import exact_schema, read_schema, restore
from hygge.stores.iceberg import load_table, split_name

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

CHANGES = ("overwrite", "delete")


class IcebergHomeConfig(HomeConfig):
    connection: str | dict[str, Any] | None = Field(
        None, description="a name from `connections:` with `type: iceberg`, or such a mapping")
    namespace: str = Field("default", description="namespace of the entities' tables (`ns.name` sources override)")
    as_of: int | str | None = Field(None, description="read the table as it was: a snapshot id, or a time "
                                                      "such as 2024-05-01T00:00:00Z")


class IcebergHome(Home):
    type_name = "iceberg"
    Config = IcebergHomeConfig
    config: IcebergHomeConfig
    tracks_files = True  # incremental runs remember the snapshot they read, not a watermark

    def __init__(self, config: IcebergHomeConfig, *, root: Path,
                 connections: dict[str, dict[str, Any]] | None = None):
        super().__init__(config, root=root, connections=connections)
        self.spec = catalogs.resolve(config.connection, self.connections, root)
        self._catalog: Any = None

    def catalog(self) -> Any:
        if self._catalog is None:
            self._catalog = catalogs.load(self.spec)
        return self._catalog

    def discover(self) -> list[tuple[str, str]]:
        from pyiceberg.exceptions import NoSuchNamespaceError

        try:
            tables = self.catalog().list_tables(self.config.namespace)
        except NoSuchNamespaceError:
            raise ReadError("the home's namespace does not exist", path=f"{self.spec.display()} "
                            f"namespace {self.config.namespace}", expected="a namespace holding tables",
                            found="no such namespace", hint="fix `namespace` on the home") from None
        return sorted((ident[-1], ident[-1]) for ident in tables)

    def open(self, plan: MovePlan, state: ReadState | None = None) -> Source:
        return IcebergSource(self, plan, state)

    def describe(self) -> str:
        return f"iceberg {self.spec.display()}"

    def connection_key(self) -> str | None:
        return self.spec.key

    def sessions(self) -> threading.BoundedSemaphore | None:
        return catalogs.sessions(self.spec)

    def check(self) -> list[Check]:
        try:
            namespaces = self.catalog().list_namespaces()
        except Exception as exc:  # noqa: BLE001 - reported as a failed check
            return [Check(f"home {self.spec.display()}", False, str(getattr(exc, "what", exc)).splitlines()[0],
                          getattr(exc, "hint", None) or "check the connection's uri, warehouse and credentials")]
        return [Check(f"home {self.spec.display()}", True, f"{len(namespaces)} namespace(s)")]


def _when(snapshot: Snapshot) -> str:
    return f"{datetime.fromtimestamp(snapshot.timestamp_ms / 1000, timezone.utc):%Y-%m-%d %H:%M:%S}Z"


def _as_of(table: Table, value: int | str, where: str) -> Snapshot:
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        snapshot = table.snapshot_by_id(int(text))
        found = "no snapshot with that id"
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ReadError("`as_of` is neither a snapshot id nor a time", path=where,
                            expected="a snapshot id, or a time such as 2024-05-01T00:00:00Z", found=text,
                            hint="fix `as_of` on the home") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        snapshot = table.snapshot_as_of_timestamp(int(moment.timestamp() * 1000))
        found = "no snapshot at or before that time"
    if snapshot is None:
        known = ", ".join(f"{s.snapshot_id} ({_when(s)})" for s in table.snapshots()[-5:])
        raise ReadError("the table has no such snapshot", path=where, expected="a snapshot of the table",
                        found=found, hint=f"latest snapshots: {known}" if known else "the table has no snapshots")
    return snapshot


class IcebergSource(Source):
    def __init__(self, home: IcebergHome, plan: MovePlan, state: ReadState | None):
        from pyiceberg.table import DataScan

        self.home, self.plan = home, plan
        ns, name = split_name(plan.source, home.config.namespace)
        self.name = f"{ns}.{name}"
        self.where = f"{home.spec.display()} table {self.name}"
        table = load_table(home.catalog(), (ns, name))
        if table is None:
            raise ReadError("the source table does not exist", path=self.where, expected="an Iceberg table",
                            found="no such table", hint=self._suggest(ns, name))
        self.table = table
        if home.config.as_of is not None and plan.run_type == "incremental":
            raise ReadError("`as_of` reads one fixed snapshot, and an incremental run reads what is new since the "
                            "last one", path=self.where, expected="as_of with full_drop, append or merge runs",
                            found="run_type incremental", hint="remove `as_of`, or choose another run type")
        self.state_key = f"iceberg:{self.name}"
        snapshot = _as_of(table, home.config.as_of, self.where) if home.config.as_of is not None \
            else table.current_snapshot()
        self.snapshot = snapshot
        scan = DataScan(table_metadata=table.metadata, io=table.io,
                        snapshot_id=snapshot.snapshot_id if snapshot is not None else None)
        self.projected = scan.projection()
        self._schema = exact_schema(read_schema(self.projected), table.properties, table.format_version)
        self.rows = state.filter_for(self._schema) if state is not None else None
        self.tasks = self._tasks(scan, state)
        self.estimated_rows = sum(t.file.record_count for t in self.tasks)
        self.description = f"table {self.name} at snapshot {snapshot.snapshot_id if snapshot else 'none'}"
        self._closed = False

    def _suggest(self, ns: str, name: str) -> str:
        try:
            names = [ident[-1] for ident in self.home.catalog().list_tables(ns)]
        except Exception:  # noqa: BLE001 - only a hint
            names = []
        return did_you_mean(name, names) or (f"tables in {ns}: {', '.join(sorted(names)[:10])}" if names
                                             else "check `namespace` on the home and the entity's `source`")

    def _tasks(self, scan: Any, state: ReadState | None) -> list[Any]:
        if self.snapshot is None:
            return []
        previous = (state.loaded_files or {}).get(self.state_key, {}).get("snapshot_id") if state else None
        if previous is None or self.home.config.as_of is not None:
            return list(scan.plan_files())
        if previous == self.snapshot.snapshot_id:
            return []
        between = self._since(int(previous))
        changed = [(s, s.summary.operation.value) for s in between
                   if s.summary is not None and s.summary.operation.value in CHANGES]
        if not changed:
            return list(self.table.incremental_append_scan(
                from_snapshot_id_exclusive=int(previous), to_snapshot_id_inclusive=self.snapshot.snapshot_id,
            ).plan_files())
        first, operation = changed[-1]
        if self.rows is not None and self.rows.active:
            self.warnings.append(f"snapshot {first.snapshot_id} ({operation}) changed rows of "
                                 f"{self.name} since the last run: the whole table was read, filtered by the "
                                 f"watermark")
            return list(scan.plan_files())
        raise ReadError(
            "rows of the table were overwritten or deleted since the last incremental run; reading only the "
            "appended rows would miss that", path=self.where,
            expected=f"only appends since snapshot {previous}",
            found=f"snapshot {first.snapshot_id}: {operation}",
            hint="run once with --full-drop to load the table again, or set `watermark:` so that changed rows are "
                 "found by it")

    def _since(self, previous: int) -> list[Snapshot]:
        """The snapshots after ``previous`` up to the one read now, newest first."""
        from pyiceberg.table.snapshots import ancestors_of

        out: list[Snapshot] = []
        for snapshot in ancestors_of(self.snapshot, self.table.metadata):
            if snapshot.snapshot_id == previous:
                return out
            out.append(snapshot)
        raise ReadError(
            "the snapshot the last incremental run read is no longer in the table's history", path=self.where,
            expected=f"snapshot {previous} among the ancestors of the current snapshot",
            found="expired, or the table was rolled back or replaced",
            hint="run once with --full-drop to load the table again")

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        for task in self.tasks:
            if self._closed:
                return
            for batch in bounded(task_batches(self.table.metadata, self.table.io, task, self.projected),
                                 self.plan.batch_bytes):
                out = restore(batch, self._schema)
                if self.rows is not None:
                    out = self.rows.apply(out)
                if out.num_rows:
                    yield out

    def new_state(self) -> dict[str, Any]:
        if self.snapshot is None:
            return {}
        return {"loaded_files": {self.state_key: {"snapshot_id": self.snapshot.snapshot_id,
                                                  "table_uuid": str(self.table.metadata.table_uuid)}}}

    def close(self) -> None:
        self._closed = True
