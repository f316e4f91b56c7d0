"""The database Stores: configuration and journal access; the transaction itself is in sql_landing.py."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field

from hygge.core.plan import MovePlan
from hygge.db.connections import ConnectionSpec, SessionLimits, spec_for
from hygge.db.dialect import Dialect
from hygge.db.journal import STATE, Journal
from hygge.db.merge import SEQ
from hygge.homes.base import Check
from hygge.state.journal import EntityState, RunRecord
from hygge.stores.base import Landing, Store, StoreConfig


class SqlStoreConfig(StoreConfig):
    connection: str | dict[str, Any] | None = Field(None, description="a name from `connections:`, or a mapping")
    url: str | None = Field(None, description="a database URL, instead of `connection`")
    db_schema: str | None = Field(None, alias="schema", description="schema the tables settle in")
    full_drop_mode: Literal["swap", "truncate"] = Field(
        "swap", description="swap: replace the table; truncate: keep it (indexes, grants, views) and refill it"
    )
    create_schema: bool = Field(True, description="create the schema when it does not exist")


def staging_name(target: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_]", "_", target)
    return f"_hygge_stage_{clean}"[:60]


def part_prefix(target: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_]", "_", target)
    return f"_hygge_part_{clean}"[:54] + "_"


class SqlStore(Store):
    Engine: ClassVar[type[Dialect]]
    config: SqlStoreConfig

    def __init__(self, config: SqlStoreConfig, *, root: Path, connections: dict[str, dict[str, Any]] | None = None):
        super().__init__(config, root=root, connections=connections)
        self.spec: ConnectionSpec = spec_for(config, self.connections, self.Engine.name)

    def dialect(self) -> Dialect:
        return self.Engine(self.spec, self.root)

    @property
    def schema(self) -> str | None:
        return self.config.db_schema or self.Engine.default_schema

    def split(self, plan: MovePlan) -> tuple[str | None, str]:
        """A target may name its schema (``sales.orders``); otherwise the store's schema is used."""
        if "." in plan.target and self.Engine.default_schema is not None:
            schema, table = plan.target.split(".", 1)
            return schema, table
        return self.schema, plan.target

    def location(self, plan: MovePlan) -> str:
        schema, table = self.split(plan)
        return f"{self.spec.display()} {schema + '.' if schema else ''}{table}"

    def journal(self, dialect: Dialect, schema: str | None) -> Journal:
        return Journal(dialect, schema)

    def connection_key(self) -> str | None:
        return self.spec.key

    def sessions(self) -> threading.BoundedSemaphore | None:
        return SessionLimits.of(self.spec)

    def landing(self, plan: MovePlan, record: RunRecord) -> Landing:
        from hygge.db.sql_landing import SqlLanding

        return SqlLanding(self, plan, record)

    def _with_conn(self, work: Any, write: bool = True) -> Any:
        """Run ``work(dialect, conn)`` in a transaction of its own; it commits what it means to keep. A read the
        server asks to retry (MySQL, when another move created the journal tables meanwhile) runs again, twice at
        most."""
        dialect = self.dialect()
        for _ in range(0 if write else 2):
            try:
                return self._in_transaction(dialect, work, write)
            except Exception as exc:
                if not dialect.retry_read(exc):
                    raise
        return self._in_transaction(dialect, work, write)  # the last attempt: whatever it raises goes on

    @staticmethod
    def _in_transaction(dialect: Dialect, work: Any, write: bool) -> Any:
        conn = dialect.connect()
        try:
            dialect.begin(conn, write)
            try:
                return work(dialect, conn)
            finally:
                dialect.rollback(conn)
        finally:
            dialect.close(conn)

    def state(self, plan: MovePlan) -> EntityState | None:
        schema, _ = self.split(plan)

        def work(d: Dialect, conn: Any) -> EntityState | None:
            return self.journal(d, schema).read(conn, plan.project, plan.key)

        return self._with_conn(work, write=False)

    def target_schema(self, plan: MovePlan) -> pa.Schema | None:
        schema, table = self.split(plan)

        def work(d: Dialect, conn: Any) -> pa.Schema | None:
            if not d.table_exists(conn, schema, table):
                return None
            return pa.schema([f for f in d.table_schema(conn, schema, table) if f.name != SEQ])

        return self._with_conn(work, write=False)

    def log_run(self, record: RunRecord, plan: MovePlan | None = None) -> None:
        if record.status in ("ok", "empty"):
            return  # committed runs were journaled in their own transaction
        schema = self.split(plan)[0] if plan is not None else self.schema  # where its running row and state are

        def work(d: Dialect, conn: Any) -> None:
            journal = self.journal(d, schema)
            journal.ensure(conn)
            journal.log(conn, record)
            d.commit(conn)

        try:
            self._with_conn(work)
        except Exception:  # noqa: BLE001 - the run already failed; its history line is best effort
            pass

    def history(self, project: str = "", flow: str | None = None, entity: str | None = None) -> list[RunRecord]:
        return self._with_conn(lambda d, c: self.journal(d, self.schema).history(c, project, flow, entity),
                               write=False)

    def forget(self, plan: MovePlan) -> bool:
        schema, _ = self.split(plan)

        def work(d: Dialect, conn: Any) -> bool:
            journal = self.journal(d, schema)
            if not d.table_exists(conn, schema, STATE):
                return False
            d.setup_lock(conn, schema)
            journal.ensure(conn)  # a journal older hygge wrote gains its project column
            done = journal.forget(conn, plan.project, plan.flow, plan.entity)
            d.commit(conn)
            return done

        return self._with_conn(work)

    def describe(self) -> str:
        return f"{self.type_name} {self.spec.display()}"

    def check(self) -> list[Check]:
        from hygge.db.checks import check_connection

        return [check_connection(self.dialect(), f"store {self.type_name}")]
