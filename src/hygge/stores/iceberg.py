"""Store `iceberg`: Apache Iceberg tables in a catalog (SQL, REST or Glue), through pyiceberg.

The table format's own commit is the atomic publish: a run's data files, schema changes and the entity's
state (in the snapshot summary) become visible together in one snapshot, or not at all. The commit
protocol is in lake/iceberg_commit.py, the landing in stores/iceberg_landing.py.
"""

from __future__ import annotations

import threading
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
from pydantic import ByteSize, Field

from hygge.core.plan import MovePlan
from hygge.homes.base import Check
from hygge.lake import iceberg_catalog as catalogs
from hygge.lake.iceberg_commit import KEY, STATE, latest_state, record_of
from hygge.lake.iceberg_heal import failures, record_failure
from hygge.lake.iceberg_types import exact_schema, read_schema
from hygge.state.journal import EntityState, RunRecord
from hygge.stores.base import Landing, Store, StoreConfig

if TYPE_CHECKING:
    from pyiceberg.table import Table


class IcebergStoreConfig(StoreConfig):
    connection: str | dict[str, Any] | None = Field(
        None, description="a name from `connections:` with `type: iceberg`, or such a mapping")
    namespace: str = Field("default", description="namespace of the entities' tables (`table: ns.name` overrides)")
    table: str | None = Field(None, description="the entity's table, `namespace.name`; default: the entity's target")
    target_file_size: ByteSize = Field(ByteSize(256 * 2**20), description="data files roll over at this size")
    commit_retries: int = Field(4, ge=0, description="times a commit is planned again after another writer's")
    properties: dict[str, str] = Field(default_factory=dict, description="table properties of tables hygge creates")


def split_name(name: str, namespace: str) -> tuple[str, str]:
    """``ns.table`` (the namespace may have levels: ``a.b.table``), or the default namespace and ``name``."""
    if "." in name:
        ns, table = name.rsplit(".", 1)
        return ns, table
    return namespace, name


def load_table(catalog: Any, ident: tuple[str, str]) -> Table | None:
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    try:
        return catalog.load_table(ident)
    except (NoSuchTableError, NoSuchNamespaceError):
        return None


class IcebergStore(Store):
    type_name = "iceberg"
    Config = IcebergStoreConfig
    config: IcebergStoreConfig

    def __init__(self, config: IcebergStoreConfig, *, root: Path,
                 connections: dict[str, dict[str, Any]] | None = None):
        super().__init__(config, root=root, connections=connections)
        self.spec = catalogs.resolve(config.connection, self.connections, root)
        self._catalog: Any = None
        self._lock = threading.Lock()
        self._planned: dict[str, MovePlan] = {}  # entity -> plan, so that a failed run can be recorded

    def catalog(self) -> Any:
        with self._lock:
            if self._catalog is None:
                self._catalog = catalogs.load(self.spec)
            return self._catalog

    def identifier(self, plan: MovePlan) -> tuple[str, str]:
        self._planned[plan.entity] = plan
        return split_name(self.config.table or plan.target, self.config.namespace)

    def table(self, plan: MovePlan) -> Table | None:
        return load_table(self.catalog(), self.identifier(plan))

    def location(self, plan: MovePlan) -> str:
        ns, name = self.identifier(plan)
        return f"{self.spec.display()} table {ns}.{name}"

    def landing(self, plan: MovePlan, record: RunRecord) -> Landing:
        from hygge.stores.iceberg_landing import IcebergLanding

        return IcebergLanding(self, plan, record)

    def state(self, plan: MovePlan) -> EntityState | None:
        table = self.table(plan)
        return latest_state(table.metadata, plan.key) if table is not None else None

    def target_schema(self, plan: MovePlan) -> pa.Schema | None:
        table = self.table(plan)
        if table is None:
            return None
        return exact_schema(read_schema(table.schema()), table.properties, table.format_version)

    def log_run(self, record: RunRecord, plan: MovePlan | None = None) -> None:
        if record.status in ("ok", "empty"):
            return  # committed runs are in their snapshots
        plan = self._planned.get(record.entity)
        if plan is None:
            return
        try:
            table = self.table(plan)
            location = table.location() if table is not None else self._would_be_location(plan)
            if location:
                record_failure(location, record, self.spec.bucket)
        except Exception:  # noqa: BLE001 - the run failed already; its history line is best effort
            pass

    def _would_be_location(self, plan: MovePlan) -> str | None:
        """Where the catalog puts the table once it exists (metastore catalogs say; a REST server decides)."""
        resolver = getattr(self.catalog(), "_resolve_table_location", None)
        if resolver is None:
            return None
        ns, name = self.identifier(plan)
        return str(resolver(None, ns, name))

    def _tables(self) -> list[Table]:
        catalog = self.catalog()
        out = []
        for namespace in catalog.list_namespaces():
            for ident in catalog.list_tables(namespace):
                table = load_table(catalog, ident)
                if table is not None:
                    out.append(table)
        return out

    def history(self, project: str = "", flow: str | None = None, entity: str | None = None) -> list[RunRecord]:
        records: list[RunRecord] = []
        for table in self._tables():
            found = [r for s in table.metadata.snapshots if (r := record_of(s)) is not None]
            if found or any(s.summary is not None and KEY in s.summary for s in table.metadata.snapshots):
                found += failures(table.location(), self.spec.bucket)
            records += [r for r in found
                        if r.seen_by(project) and (flow is None or r.flow == flow)
                        and (entity is None or r.entity == entity)]
        return sorted(records, key=lambda r: r.started_at)

    def forget(self, plan: MovePlan) -> bool:
        """Commit a snapshot without data whose state has no watermark and no loaded files."""
        import json

        table = self.table(plan)
        state = latest_state(table.metadata, plan.key) if table is not None else None
        if table is None or state is None:
            return False
        kept = EntityState(columns=state.columns, last_run=state.last_run)
        tx = table.transaction()
        producer = tx.update_snapshot(snapshot_properties={KEY: plan.key, STATE: json.dumps(kept.to_dict())})
        producer.fast_append().commit()
        tx.commit_transaction()
        return True

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
            hint = getattr(exc, "hint", None) or "check the connection's uri, warehouse and credentials"
            return [Check(f"store {self.spec.display()}", False, str(getattr(exc, "what", exc)).splitlines()[0],
                          hint)]
        return [Check(f"store {self.spec.display()}", True, f"{len(namespaces)} namespace(s)")]
