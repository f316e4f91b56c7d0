"""Whether a move's rows fit the columns they go into, batch by batch, and the widenings the policy allows.

The bounds come from the catalog of the tables the rows reach: the target when it exists
(whoever made it), and the table the rows are loaded into when that is another one (a
staging table hygge made). A value that cannot fit fails the move before it is loaded,
naming every such column, the column's type and a sample. With ``schema_policy:
type_changes: widen`` (the default) a target column the dialect knows how to widen is
widened instead, inside the move's transaction, before the first row that needs it reaches
it (db/sql_landing.py decides when that is), and the run's notes say so.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from hygge.db.bounds import Bound, Misfit, misfits, needs
from hygge.db.dialect import Dialect
from hygge.errors import HyggeError, WriteError


class Fitting:
    def __init__(self, d: Dialect, conn: Any, schema: str | None, table: str | None, *, widen: bool,
                 entity: str, where: str):
        self.d, self.schema, self.table = d, schema, table
        self.widen_allowed = widen
        self.entity, self.where = entity, where
        self.target: dict[str, Bound] = self._bounds(conn, table) if table else {}
        self.own: list[Bound] = []
        self.pending: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []

    def _bounds(self, conn: Any, table: str) -> dict[str, Bound]:
        return {b.column: b for b in self.d.column_bounds(conn, self.schema, table) if b.limited}

    def also(self, conn: Any, table: str) -> None:
        """Check the rows against the bounds of the table they are loaded into, too (it is never widened)."""
        self.own = list(self._bounds(conn, table).values())

    @property
    def active(self) -> bool:
        return bool(self.target or self.own)

    @property
    def may_widen(self) -> bool:
        return self.widen_allowed and any(b.widenable for b in self.target.values())

    def check(self, batch: pa.RecordBatch) -> bool:
        """Raise for values that cannot go in; True when the target must be widened first (see apply)."""
        if not self.active:
            return False
        found = misfits(batch, self.target.values())
        seen = {(m.bound.column, m.kind) for m in found}  # the same limit of the staging table says nothing new
        found += [m for m in misfits(batch, self.own) if (m.bound.column, m.kind) not in seen]
        if not found:
            return False
        if any(not self._widens(m) for m in found):
            raise self.refusal(found)
        needs(found, self.pending)
        return True

    def _widens(self, m: Misfit) -> bool:
        return self.widen_allowed and m.widenable and self.target.get(m.bound.column) is m.bound

    def apply(self, conn: Any) -> None:
        """Widen the target's columns for every need seen so far."""
        if not self.pending:
            return
        assert self.table is not None
        for column, need in self.pending.items():
            bound = self.target[column]
            wider = self.d.widened_type(bound, need)
            if wider is None:
                raise WriteError(f"hygge cannot widen column {column} ({bound.declared}) to hold the rows; nothing "
                                 "was committed", entity=self.entity, path=self.where, found=str(need),
                                 hint="change the column's type yourself (ALTER TABLE), or change the values with "
                                      "`polish`, then run again")
            try:
                self.d.change_type(conn, self.schema, self.table, column, wider)
            except HyggeError:
                raise
            except Exception as exc:
                raise WriteError(
                    f"widening column {column} from {bound.declared} to {wider} failed; nothing was committed",
                    entity=self.entity, path=self.where, found=str(exc).strip().splitlines()[0][:300],
                    hint="widen the column yourself (ALTER TABLE), or change the values with `polish`") from exc
            self.notes.append(f"column {column} widened from {bound.declared} to {wider} to hold this run's values")
        self.pending = {}
        self.target = self._bounds(conn, self.table)

    def refusal(self, found: list[Misfit]) -> WriteError:
        columns = list(dict.fromkeys(m.bound.column for m in found))
        stuck = [m for m in found if not m.widenable]
        if stuck:
            types = ", ".join(dict.fromkeys(f"{m.bound.column} ({m.bound.declared})" for m in stuck))
            hint = (f"hygge cannot widen {types}: change the values at the source or with `polish`, or change the "
                    "column's type yourself (ALTER TABLE), then run again")
        else:
            hint = ("let hygge widen the column(s) with `schema_policy: {type_changes: widen}` (the default), widen "
                    "them yourself (ALTER TABLE), or change the values with `polish`")
        return WriteError(
            f"values do not fit {len(columns)} column(s) of the target table ({', '.join(columns)}); "
            "nothing was committed",
            entity=self.entity, path=self.where,
            expected="; ".join(dict.fromkeys(f"{m.bound.column}: {m.rule}" for m in found)),
            found="; ".join(m.line() for m in found), hint=hint)
