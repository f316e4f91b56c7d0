"""The journal of a database Store: two small tables beside the data, written in its transaction.

``_hygge_state`` holds one row per entity (watermark, loaded state, last run);
``_hygge_runs`` holds one row per run. Both are plain tables in the Store's
schema so the state travels with the data: copy the schema, and a run on
another machine resumes where this one stopped.
"""

from __future__ import annotations

import json
from typing import Any

from hygge.db.dialect import Dialect
from hygge.state.journal import EntityState, RunRecord

STATE = "_hygge_state"
RUNS = "_hygge_runs"

_RUN_COLUMNS = [
    ("run_id", "key"), ("flow", "text"), ("entity", "text"), ("run_type", "text"), ("started_at", "text"),
    ("ended_at", "text"), ("status", "text"), ("rows_read", "int"), ("rows_written", "int"),
    ("rows_in_target", "int"), ("bytes_written", "int"), ("watermark_before", "text"),
    ("watermark_after", "text"), ("error", "text"), ("host", "text"), ("pid", "int"),
]


class Journal:
    def __init__(self, dialect: Dialect, schema: str | None, text_type: str = "TEXT",
                 key_type: str = "VARCHAR(255)", int_type: str = "BIGINT"):
        self.dialect = dialect
        self.schema = schema
        self.types = {"text": text_type, "key": key_type, "int": int_type}
        self.state_ref = dialect.table_ref(schema, STATE)
        self.runs_ref = dialect.table_ref(schema, RUNS)

    def ensure(self, conn: Any) -> None:
        d = self.dialect
        if not d.table_exists(conn, self.schema, STATE):
            d.execute(conn, f"CREATE TABLE {self.state_ref} (entity_key {self.types['key']} PRIMARY KEY, "
                            f"flow {self.types['text']}, entity {self.types['text']}, "
                            f"run_id {self.types['text']}, committed_at {self.types['text']}, "
                            f"state {self.types['text']})")
        if not d.table_exists(conn, self.schema, RUNS):
            columns = ", ".join(f"{name} {self.types[kind]}" for name, kind in _RUN_COLUMNS)
            d.execute(conn, f"CREATE TABLE {self.runs_ref} ({columns})")

    def read(self, conn: Any, key: str) -> EntityState | None:
        d = self.dialect
        if not d.table_exists(conn, self.schema, STATE):
            return None
        rows = d.query(conn, d.sql(f"SELECT state FROM {self.state_ref} WHERE entity_key = ?"), (key,))
        return EntityState.from_dict(json.loads(rows[0][0])) if rows else None

    def write(self, conn: Any, key: str, record: RunRecord, state: EntityState) -> None:
        d = self.dialect
        d.execute(conn, d.sql(f"DELETE FROM {self.state_ref} WHERE entity_key = ?"), (key,))
        d.execute(conn, d.sql(f"INSERT INTO {self.state_ref} VALUES (?, ?, ?, ?, ?, ?)"),
                  (key, record.flow, record.entity, record.run_id, record.ended_at,
                   json.dumps(state.to_dict(), default=str)))
        self.log(conn, record)

    def forget(self, conn: Any, key: str) -> bool:
        d = self.dialect
        state = self.read(conn, key)
        if state is None:
            return False
        kept = EntityState(columns=state.columns, last_run=state.last_run)
        d.execute(conn, d.sql(f"UPDATE {self.state_ref} SET state = ? WHERE entity_key = ?"),
                  (json.dumps(kept.to_dict(), default=str), key))
        return True

    def log(self, conn: Any, record: RunRecord) -> None:
        d = self.dialect
        data = record.to_dict()
        values = tuple(json.dumps(data[n], default=str) if n.startswith("watermark") else data[n]
                       for n, _ in _RUN_COLUMNS)
        marks = ", ".join("?" for _ in _RUN_COLUMNS)
        d.execute(conn, d.sql(f"DELETE FROM {self.runs_ref} WHERE run_id = ?"), (record.run_id,))
        d.execute(conn, d.sql(f"INSERT INTO {self.runs_ref} VALUES ({marks})"), values)

    def history(self, conn: Any, flow: str | None, entity: str | None) -> list[RunRecord]:
        d = self.dialect
        if not d.table_exists(conn, self.schema, RUNS):
            return []
        names = [n for n, _ in _RUN_COLUMNS]
        rows = d.query(conn, f"SELECT {', '.join(names)} FROM {self.runs_ref} ORDER BY started_at")
        out = []
        for row in rows:
            data = dict(zip(names, row, strict=True))
            for key in ("watermark_before", "watermark_after"):
                data[key] = json.loads(data[key]) if data[key] else None
            record = RunRecord.from_dict(data)
            if (flow is None or record.flow == flow) and (entity is None or record.entity == entity):
                out.append(record)
        return out
