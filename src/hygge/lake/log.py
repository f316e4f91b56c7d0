"""hygge's journal inside a Delta table's log.

Every commit hygge makes carries, in its commit info, the entity's new state and the run's record
(``"hygge": {"app_id", "counter", "run", "state"}``), and an application transaction
(``txn``: app id ``hygge:<flow>.<entity>``, version = ``counter``) in the same log entry as the data:
the state is committed if and only if the data is. The counter grows by one per committed run, so
a commit retried after an unclear failure is recognised (the table's ``txn`` for the app already
holds its counter) and not repeated; and two runs of one entity that raced each other conflict in
Delta itself (the same app id), so one of them fails.

The state is read back from the newest commit whose counter is the table's ``txn`` version. Delta
cleans old log entries (30 days by default) but keeps ``txn`` versions in its checkpoints; a copy of
the state in ``_hygge/state/`` stands in only when its counter is exactly that version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deltalake import CommitProperties, DeltaTable, Transaction

from hygge.state.journal import EntityState, RunRecord

META_KEY = "hygge"
FORMAT = 1
HISTORY_WINDOWS = (8, 128, None)  # commit infos read backwards until the entity's last commit is found


def app_id(flow: str, entity: str) -> str:
    return f"hygge:{flow}.{entity}"


def _file_name(app: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", app) + ".json"


@dataclass
class Committed:
    version: int
    counter: int
    run: RunRecord
    state: EntityState


def plain(value: Any) -> Any:
    """``value`` as JSON gives it back (what the log will hold): no tuples, no scalars of other types."""
    return json.loads(json.dumps(value, default=str))


def commit_properties(app: str, counter: int, record: RunRecord | None, state: EntityState) -> CommitProperties:
    """The commit info and transaction that make a commit hygge's, for exactly one attempt.

    ``max_commit_retries=0``: the commit lands right after the version the run read, or fails. Delta would
    otherwise rebase an overwrite past a concurrent append and keep both, and the counts checked after the
    commit would no longer be this run's."""
    meta = {"format": FORMAT, "app_id": app, "counter": counter,
            "run": plain(record.to_dict()) if record else None, "state": plain(state.to_dict())}
    return CommitProperties(custom_metadata={META_KEY: meta}, app_transactions=[Transaction(app, counter)],
                            max_commit_retries=0)


def _ours(commit: dict[str, Any], app: str | None = None) -> dict[str, Any] | None:
    meta = commit.get(META_KEY)
    if isinstance(meta, str):  # written by an engine that keeps commit info values as text
        try:
            meta = json.loads(meta)
        except ValueError:
            return None
    if not isinstance(meta, dict) or (app is not None and meta.get("app_id") != app):
        return None
    return meta


def _committed(version: int, meta: dict[str, Any]) -> Committed:
    run = RunRecord.from_dict(meta["run"]) if meta.get("run") else None
    state = EntityState.from_dict(meta.get("state"))
    return Committed(version, int(meta["counter"]), run, state)  # type: ignore[arg-type]


def find(table: DeltaTable, app: str, predicate: Any) -> Committed | None:
    """The newest hygge commit of ``app`` for which ``predicate(meta)`` holds, reading the log backwards."""
    for limit in HISTORY_WINDOWS:
        commits = table.history(limit)
        for commit in commits:
            meta = _ours(commit, app)
            if meta is not None and predicate(meta):
                return _committed(int(commit["version"]), meta)
        if limit is None or len(commits) < limit:
            return None
    return None


def last_commit(table: DeltaTable, app: str, cache: Path | None) -> Committed | None:
    """The entity's last committed run and state, or None when hygge never committed it here."""
    counter = table.transaction_version(app)
    if counter is None:
        return None
    found = find(table, app, lambda meta: meta.get("counter") == counter)
    if found is not None:
        return found
    kept = read_cache(cache, app) if cache is not None else None
    if kept is not None and kept.counter == counter:
        return kept
    from hygge.errors import StateError

    raise StateError(
        "the table's log no longer holds hygge's last commit of this entity, and no copy of its state matches",
        path=table.table_uri, expected=f"the commit of run {counter} (transaction {app})",
        found="log entries cleaned up by log retention, and no matching _hygge/state copy",
        hint="run `hygge reset FLOW.ENTITY --yes` to load the entity from scratch",
    )


def all_commits(table: DeltaTable) -> list[Committed]:
    """Every hygge commit still in the log, oldest first (`hygge history`)."""
    found = []
    for commit in table.history():
        meta = _ours(commit)
        if meta is not None and meta.get("run"):
            found.append(_committed(int(commit["version"]), meta))
    return list(reversed(found))


def write_cache(cache: Path, app: str, committed: Committed) -> None:
    """A copy of the state beside the table, for when log retention has removed the commit itself."""
    from hygge.state.fsops import write_json_atomic

    cache.mkdir(parents=True, exist_ok=True)
    write_json_atomic(cache / _file_name(app), {
        "version": committed.version, "counter": committed.counter,
        "run": plain(committed.run.to_dict()) if committed.run else None,
        "state": plain(committed.state.to_dict())}, durable=False)


def read_cache(cache: Path, app: str) -> Committed | None:
    try:
        data = json.loads((cache / _file_name(app)).read_text(encoding="utf-8"))
        return _committed(int(data["version"]), data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def commit_actions(log: Path, version: int) -> list[dict[str, Any]] | None:
    """The actions of one commit of a local table, or None when log retention removed it."""
    try:
        text = (log / f"{version:020d}.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return [json.loads(line) for line in text.splitlines() if line.strip()]
