"""One Iceberg commit per run: the data files, the schema changes and the entity's state in ONE snapshot.

The snapshot summary carries ``hygge.key`` (flow.entity), ``hygge.run-id`` and ``hygge.state`` (the
EntityState, its run record inside), so the watermark moves if and only if the data it covers is in
the table (guarantee 2), and ``hygge history`` reads committed runs from the snapshots themselves.

A commit that loses the race to another writer: pyiceberg retries it on the new snapshot where that
is safe (an append; an overwrite nobody interfered with), and raises ``ValidationException`` where the
other writer changed what this run replaces or merges into. hygge then plans the commit again on the
newest snapshot (a full_drop replaces whatever is there now; a merge is matched against the rows there
now) up to ``commit_retries`` times, and otherwise fails naming the table; the staged files are removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hygge.core import faults
from hygge.errors import HyggeError, StateError, first_line
from hygge.lake.iceberg_heal import commit_uuid
from hygge.lake.iceberg_schema import evolve, same_ids
from hygge.state.journal import EntityState, RunRecord

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table, Transaction
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.snapshots import Snapshot

    from hygge.stores.iceberg_landing import IcebergLanding

KEY, RUN, STATE = "hygge.key", "hygge.run-id", "hygge.state"


def state_of(snapshot: Snapshot) -> EntityState | None:
    summary = snapshot.summary
    text = summary.get(STATE) if summary is not None else None
    if not text:
        return None
    return EntityState.from_dict(json.loads(text))


def record_of(snapshot: Snapshot) -> RunRecord | None:
    """The run a snapshot committed (a `hygge reset` snapshot carries a state, but no run of its own)."""
    state, summary = state_of(snapshot), snapshot.summary
    if state is None or summary is None or not state.last_run or state.last_run.get("run_id") != summary.get(RUN):
        return None
    record = RunRecord.from_dict(state.last_run)
    total = summary.get("total-records")
    record.rows_in_target = int(total) if total is not None else record.rows_in_target
    return record


def latest_state(metadata: TableMetadata, key: str) -> EntityState | None:
    """The state of the entity in the newest snapshot of the table's history that hygge committed for it."""
    from pyiceberg.table.snapshots import ancestors_of

    for snapshot in ancestors_of(metadata.current_snapshot(), metadata):
        if snapshot.summary is not None and snapshot.summary.get(KEY) == key:
            return state_of(snapshot)
    return None


def total_rows(metadata: TableMetadata) -> int:
    snapshot = metadata.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary.get("total-records") or 0)


def data_files(metadata: TableMetadata, io: Any) -> list[DataFile]:
    """Every live data file of the current snapshot."""
    from pyiceberg.table import DataScan

    if metadata.current_snapshot() is None:
        return []
    return [task.file for task in DataScan(table_metadata=metadata, io=io).plan_files()]


@dataclass
class Attempt:
    tx: Transaction
    deleted: list[DataFile]
    added: list[DataFile]
    scratch: list[str]  # files written for this attempt only (merge rewrites)


def _conflicts() -> tuple[type[BaseException], ...]:
    from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError, ValidationException

    return CommitFailedException, ValidationException, TableAlreadyExistsError


def _open(landing: IcebergLanding, table: Table | None) -> Transaction:
    """A transaction on the table as it is now (or creating it), with this run's schema changes staged."""
    if table is None:
        tx = landing.create_transaction()
    else:
        tx = table.transaction()
        evolve(tx, landing.exact, landing.stored, landing.plan.run_type, table.format_version, landing.plan.entity,
               landing.where)
    if not same_ids(tx.table_metadata.schema(), landing.schema):
        raise StateError(
            "the table's columns changed while this run was writing; nothing was committed",
            entity=landing.plan.entity, path=landing.where,
            expected="the columns the run's data files were written for", found=str(tx.table_metadata.schema()),
            hint="run again (another writer changed the table's schema at the same time)")
    return tx


def _attempt(landing: IcebergLanding, table: Table | None, record: RunRecord, state: EntityState,
             number: int) -> Attempt:
    from hygge.lake import iceberg_merge

    tx = _open(landing, table)
    metadata = tx.table_metadata
    mode = landing.plan.run_type
    deleted: list[DataFile] = []
    added = list(landing.files)
    scratch: list[str] = []
    if mode == "full_drop":
        deleted = data_files(metadata, landing.io)
    elif mode == "merge":
        incoming = landing.incoming()
        rewrite = iceberg_merge.rewrite(metadata, landing.io, landing.schema, incoming.keys,
                                        landing.writer_for, f"r{number}")
        deleted, added = rewrite.deleted, [*rewrite.added, *incoming.inserts]
        scratch = [f.file_path for f in rewrite.added]
        landing.scratch += scratch  # removed with the run's other files if the run fails
    properties = {KEY: landing.plan.key, RUN: record.run_id, STATE: json.dumps(state.to_dict(), default=str)}
    producer = _producer(tx, mode, bool(deleted), properties)
    producer.commit_uuid = commit_uuid(record.run_id)
    for data_file in deleted:
        producer.delete_data_file(data_file)
    for data_file in added:
        producer.append_data_file(data_file)
    producer.commit()  # writes the manifests and the manifest list; the catalog commit follows
    return Attempt(tx, deleted, added, scratch)


def _producer(tx: Transaction, mode: str, deletes: bool, properties: dict[str, str]) -> Any:
    """The snapshot: an append adds files and needs no check against other writers. A full_drop or a merge
    depends on the rows there are, so theirs checks that no other writer added or removed files since it was
    planned (pyiceberg's overwrite validation: a ValidationException instead of a blind retry), and it is an
    `overwrite` snapshot when it removes files, an `append` when it only adds (incremental readers go on)."""
    from pyiceberg.table.refs import MAIN_BRANCH
    from pyiceberg.table.snapshots import Operation
    from pyiceberg.table.update.snapshot import _OverwriteFiles

    if mode == "append":
        return tx.update_snapshot(snapshot_properties=properties).fast_append()
    return _OverwriteFiles(operation=Operation.OVERWRITE if deletes else Operation.APPEND, transaction=tx,
                           io=tx._table.io, snapshot_properties=properties, branch=MAIN_BRANCH)


def publish(landing: IcebergLanding, record: RunRecord, state: EntityState) -> Table:
    """Commit the run; the committed table. Retries conflicts as the module docstring says."""
    conflicts = _conflicts()
    last: BaseException | None = None
    for number in range(landing.store.config.commit_retries + 1):
        table = landing.reload()
        attempt = _attempt(landing, table, record, state, number)
        faults.point("before-publish")
        try:
            committed = attempt.tx.commit_transaction()
        except conflicts as exc:
            last = exc
            landing.discard(attempt.scratch)
            landing.scratch = [p for p in landing.scratch if p not in attempt.scratch]
            _forget_manifests(attempt.tx)
            continue
        except HyggeError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the catalog raised, find out whether the commit landed
            landed = _landed(landing, record.run_id)
            if landed:
                return _reloaded(landing)
            # Known not to have landed only when the catalog answered and a synchronous catalog refused it.
            landing.outcome_unknown = landed is None or type(exc).__name__ == "CommitStateUnknownException"
            raise StateError(
                "the catalog did not accept the commit; nothing of this run was committed"
                if not landing.outcome_unknown else "the catalog did not confirm the commit",
                entity=landing.plan.entity, path=landing.where,
                expected="the commit to be accepted or refused", found=first_line(exc),
                hint="run again: the next run finds out whether this one landed and cleans up what it left",
            ) from None
        faults.point("after-publish")
        return committed if table is not None else _reloaded(landing)
    raise StateError(
        "other writers kept changing the table while this run committed; nothing of this run was committed",
        entity=landing.plan.entity, path=landing.where,
        expected=f"a commit within {landing.store.config.commit_retries + 1} attempt(s)",
        found=first_line(last) if last else "conflicts",
        hint="run again, or schedule the other writers of this table apart (`commit_retries` on the store sets "
             "how often hygge re-plans its commit)",
    )


def _forget_manifests(tx: Transaction) -> None:
    """Delete the manifests a refused attempt wrote (pyiceberg does so itself for table commits, not creations)."""
    for producer in getattr(tx, "_snapshot_producers", []):
        try:
            producer._clean_all_uncommitted()
        except Exception:  # noqa: BLE001 - what is left is the run's own, and the next run's sweep takes it
            pass


def _landed(landing: IcebergLanding, run_id: str) -> bool | None:
    """Whether a snapshot of this run is in the table; None when the catalog cannot say."""
    try:
        table = landing.reload()
    except Exception:  # noqa: BLE001 - unknown stays unknown
        return None
    return table is not None and any(s.summary is not None and s.summary.get(RUN) == run_id
                                     for s in table.metadata.snapshots)


def _reloaded(landing: IcebergLanding) -> Table:
    table = landing.reload()
    assert table is not None
    return table


def paths(files: Iterable[DataFile]) -> list[str]:
    return [f.file_path for f in files]
