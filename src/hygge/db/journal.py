"""The journal of a database Store: two small tables beside the data, written in its transaction.

``_hygge_state`` holds one row per entity of each project (watermark, loaded state, last run);
``_hygge_runs`` holds one row per run. Both are plain tables in the Store's
schema so the state travels with the data: copy the schema, and a run on
another machine resumes where this one stopped.

Projects sharing a schema keep apart: a state row's key is ``PROJECT/FLOW.ENTITY`` and every row
names its project (``hygge.move()``, which has none, writes ``FLOW.ENTITY`` and ''). Rows written
by hygge before projects were kept apart have a NULL project (and the key ``FLOW.ENTITY``): such a
state row is read by any project that has no row of its own, and the first project to commit that
entity (or to reset it) adopts it, with the entity's runs of NULL project, in the data's
transaction; from then on the other projects start that entity afresh. The tables of such a journal
gain their ``project`` column when a run next opens a landing in the schema (``ensure``). Runs of no
project are shown in every project's history.
"""

from __future__ import annotations

import json
from typing import Any

from hygge.db.dialect import Dialect
from hygge.state.journal import EntityState, RunRecord, interrupted, interrupted_note, settled

STATE = "_hygge_state"
# In a state row's JSON: the staging table whose RENAME publishes the rows committed with that state (MySQL, whose
# DDL commits by itself: the state commits first, the rename follows, and the next run finishes one left undone).
PENDING = "pending_rename"
RUNS = "_hygge_runs"

_STATE_COLUMNS = [("entity_key", "key"), ("flow", "text"), ("entity", "text"), ("run_id", "text"),
                  ("committed_at", "text"), ("state", "text"), ("project", "text")]
_RUN_COLUMNS = [
    ("run_id", "key"), ("flow", "text"), ("entity", "text"), ("run_type", "text"), ("started_at", "text"),
    ("ended_at", "text"), ("status", "text"), ("rows_read", "int"), ("rows_written", "int"),
    ("rows_in_target", "int"), ("bytes_written", "int"), ("watermark_before", "text"),
    ("watermark_after", "text"), ("error", "text"), ("host", "text"), ("pid", "int"), ("project", "text"),
]
LEGACY = "project IS NULL"  # written before projects were kept apart


_MIGRATED: set[tuple[str, str, str | None, str]] = set()  # journal tables known to have their project column


def state_key(project: str, key: str) -> str:
    """The state row of entity ``key`` (FLOW.ENTITY) of ``project``; without a project, the key older hygge wrote."""
    return f"{project}/{key}" if project else key


class Journal:
    def __init__(self, dialect: Dialect, schema: str | None, text_type: str = "TEXT",
                 key_type: str = "VARCHAR(255)", int_type: str = "BIGINT"):
        self.dialect = dialect
        self.schema = schema
        self.types = {"text": text_type, "key": key_type, "int": int_type}
        self.state_ref = dialect.table_ref(schema, STATE)
        self.runs_ref = dialect.table_ref(schema, RUNS)

    def ensure(self, conn: Any) -> None:
        """Create the journal tables, or add what older hygge did not write (call under the schema's setup lock)."""
        d = self.dialect
        for table, ref, columns in ((STATE, self.state_ref, _STATE_COLUMNS), (RUNS, self.runs_ref, _RUN_COLUMNS)):
            if not d.table_exists(conn, self.schema, table):
                listed = ", ".join(f"{name} {self.types[kind]}" + (" PRIMARY KEY" if table == STATE and
                                                                   name == "entity_key" else "")
                                   for name, kind in columns)
                d.execute(conn, f"CREATE TABLE {ref} ({listed})")
            elif not self._has_project(conn, table):
                d.execute(conn, f"ALTER TABLE {ref} ADD COLUMN project {self.types['text']}")

    def _has_project(self, conn: Any, table: str) -> bool:
        where = (self.dialect.spec.key, str(self.dialect.root), self.schema, table)  # root: relative file paths
        if where not in _MIGRATED:  # asked of the catalog once per process and table: it only ever gains it
            if "project" not in self.dialect.table_schema(conn, self.schema, table).names:
                return False
            _MIGRATED.add(where)
        return True

    def _state_row(self, conn: Any, key: str, legacy: bool) -> EntityState | None:
        d = self.dialect
        only_legacy = f" AND {LEGACY}" if legacy and self._has_project(conn, STATE) else ""
        rows = d.query(conn, d.sql(f"SELECT state FROM {self.state_ref} WHERE entity_key = ?{only_legacy}"), (key,))
        return EntityState.from_dict(json.loads(rows[0][0])) if rows else None

    def read(self, conn: Any, project: str, key: str) -> EntityState | None:
        """The committed state of ``project``'s entity ``key``; else the one older hygge left for it, if any."""
        if not self.dialect.table_exists(conn, self.schema, STATE):
            return None
        found = self._state_row(conn, state_key(project, key), legacy=False)
        if found is None and project:
            found = self._state_row(conn, key, legacy=True)
        return found

    def write(self, conn: Any, key: str, record: RunRecord, state: EntityState, pending: str | None = None) -> None:
        """The entity's new state and its run's record, in the data's transaction; ``pending``: the staging table
        whose rename publishes the rows, still to be done (see PENDING)."""
        d = self.dialect
        own = state_key(record.project, key)
        if record.project and self._state_row(conn, own, legacy=False) is None:
            self._adopt(conn, key, record.project, record.flow, record.entity)
        d.execute(conn, d.sql(f"DELETE FROM {self.state_ref} WHERE entity_key = ?"), (own,))
        self._insert_state(conn, own, record.project, record.flow, record.entity, record.run_id, record.ended_at,
                           state, pending)
        self.log(conn, record)

    def _insert_state(self, conn: Any, own: str, project: str, flow: str, entity: str, run_id: Any,
                      committed_at: Any, state: EntityState, pending: str | None = None) -> None:
        d = self.dialect
        names = ", ".join(n for n, _ in _STATE_COLUMNS)
        data = {**state.to_dict(), **({PENDING: pending} if pending else {})}
        d.execute(conn, d.sql(f"INSERT INTO {self.state_ref} ({names}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                  (own, flow, entity, run_id, committed_at, json.dumps(data, default=str), project))

    def pending(self, conn: Any, project: str, key: str) -> str | None:
        """The staging table a run committed its rows and state for, whose rename it did not do (see PENDING)."""
        data = self._own_json(conn, project, key)
        return data.get(PENDING) if data else None

    def published(self, conn: Any, project: str, key: str) -> None:
        """The rename of ``pending`` is done: the state row stops naming it."""
        data = self._own_json(conn, project, key)
        if data and data.pop(PENDING, None) is not None:
            d = self.dialect
            d.execute(conn, d.sql(f"UPDATE {self.state_ref} SET state = ? WHERE entity_key = ?"),
                      (json.dumps(data, default=str), state_key(project, key)))

    def _own_json(self, conn: Any, project: str, key: str) -> dict[str, Any] | None:
        d = self.dialect
        if not d.table_exists(conn, self.schema, STATE):
            return None
        rows = d.query(conn, d.sql(f"SELECT state FROM {self.state_ref} WHERE entity_key = ?"),
                       (state_key(project, key),))
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    def _adopt(self, conn: Any, key: str, project: str, flow: str, entity: str) -> None:
        """A project's first commit of an entity takes over what older hygge kept for it: its state row (read as
        this project's when the run began) and its runs. Then no other project reads that state any more."""
        d = self.dialect
        d.execute(conn, d.sql(f"DELETE FROM {self.state_ref} WHERE entity_key = ? AND {LEGACY}"), (key,))
        d.execute(conn, d.sql(f"UPDATE {self.runs_ref} SET project = ? WHERE flow = ? AND entity = ? AND {LEGACY}"),
                  (project, flow, entity))

    def forget(self, conn: Any, project: str, flow: str, entity: str) -> bool:
        """Drop the watermark and loaded files of ``project``'s entity (adopting what older hygge kept for it).
        Call after ``ensure``."""
        d = self.dialect
        key = f"{flow}.{entity}"
        state = self.read(conn, project, key)
        if state is None:
            return False
        kept = EntityState(columns=state.columns, last_run=state.last_run)
        own = state_key(project, key)
        if self._state_row(conn, own, legacy=False) is not None:
            d.execute(conn, d.sql(f"UPDATE {self.state_ref} SET state = ? WHERE entity_key = ?"),
                      (json.dumps(kept.to_dict(), default=str), own))
        else:
            self._adopt(conn, key, project, flow, entity)
            last = state.last_run or {}
            self._insert_state(conn, own, project, flow, entity, last.get("run_id"), last.get("ended_at"), kept)
        return True

    def log(self, conn: Any, record: RunRecord) -> None:
        """Write ``record`` as its run's one row: ``running`` at first, then its end."""
        d = self.dialect
        data = record.to_dict()
        values = tuple(json.dumps(data[n], default=str) if n.startswith("watermark") else data[n]
                       for n, _ in _RUN_COLUMNS)
        names = ", ".join(n for n, _ in _RUN_COLUMNS)
        marks = ", ".join("?" for _ in _RUN_COLUMNS)
        d.execute(conn, d.sql(f"DELETE FROM {self.runs_ref} WHERE run_id = ?"), (record.run_id,))
        d.execute(conn, d.sql(f"INSERT INTO {self.runs_ref} ({names}) VALUES ({marks})"), values)

    def start(self, conn: Any, record: RunRecord, healed: str) -> list[str]:
        """``record``'s run holds its entity: record it as ``running``, and as ``interrupted`` the runs of the
        entity still recorded as running, which held the lock before it and never let go. Its own short
        transaction: never the data's. Returns the notes the run says about them."""
        d = self.dialect
        rows = d.query(conn, d.sql(f"SELECT {', '.join(n for n, _ in _RUN_COLUMNS)} FROM {self.runs_ref} "
                                   "WHERE status = 'running' AND flow = ? AND entity = ? AND project = ? "
                                   "AND run_id <> ?"), (record.flow, record.entity, record.project, record.run_id))
        notes = []
        for dead in (self._record(row) for row in rows):
            if dead.gone() or dead.host != record.host:  # an embedded database's lock is one process's only
                self.log(conn, interrupted(dead, f"run {record.run_id}", healed))
                notes.append(interrupted_note(dead, healed))
        self.log(conn, record)
        return notes

    def _record(self, row: tuple[Any, ...]) -> RunRecord:
        data = dict(zip([n for n, _ in _RUN_COLUMNS], row, strict=True))
        for key in ("watermark_before", "watermark_after"):
            data[key] = json.loads(data[key]) if data[key] else None
        return RunRecord.from_dict(data)

    def history(self, conn: Any, project: str, flow: str | None, entity: str | None) -> list[RunRecord]:
        d = self.dialect
        if not d.table_exists(conn, self.schema, RUNS):
            return []
        names = [n for n, _ in _RUN_COLUMNS]
        if not self._has_project(conn, RUNS):  # not yet migrated: every run is of no project
            names = [n if n != "project" else "NULL" for n in names]
        rows = d.query(conn, f"SELECT {', '.join(names)} FROM {self.runs_ref} ORDER BY started_at")
        records = (self._record(row) for row in rows)
        return settled(r for r in records if r.seen_by(project) and (flow is None or r.flow == flow)
                       and (entity is None or r.entity == entity))
