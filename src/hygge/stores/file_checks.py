"""What a file Store refuses before the first row is written: shapes and run types its files cannot take."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from hygge.core.config import SchemaPolicy
from hygge.core.drift import Drift
from hygge.core.plan import MovePlan
from hygge.errors import WriteError

if TYPE_CHECKING:
    from hygge.stores.files import FileStore


def check_landing(store: FileStore, plan: MovePlan, schema: pa.Schema, drift: Drift | None, exists: bool,
                  reshapes: bool = True) -> bool:
    """Refuse what the store cannot land; whether earlier parts must be rewritten in the new shape.

    ``reshapes``: whether this landing can rewrite earlier parts (local parquet stores can; on a bucket a run
    that changes the columns of an entity it appends to is refused for now)."""
    keeps = plan.run_type != "full_drop" and exists
    reshape = keeps and drift is not None and bool(drift.new or drift.widened)
    if reshape and (store.type_name != "parquet" or not reshapes):
        where = "on a bucket" if store.type_name == "parquet" else ""
        raise WriteError(
            f"a {store.type_name} store {where + ' ' if where else ''}cannot change the columns of an entity it "
            "appends to",
            entity=plan.entity, expected="the same columns as the files already there",
            found="; ".join(drift.lines(SchemaPolicy())) if drift else "",
            hint="run once with --full-drop to rewrite the entity" + ("" if where else ", or write it to parquet"),
        )
    if plan.run_type == "merge" and store.type_name != "parquet":
        raise WriteError(
            f"merge into a {store.type_name} store is not supported",
            entity=plan.entity, expected="a parquet, duckdb, sqlite, postgres or mysql store",
            found=store.type_name, hint="write this entity to parquet, or use run_type append",
        )
    problems = store.Writer.check_schema(schema)
    if problems:
        raise WriteError(
            f"{store.type_name} files cannot hold some columns faithfully",
            entity=plan.entity,
            expected=f"types a {store.type_name} file can represent",
            found=", ".join(problems),
            hint="write this entity to parquet, or drop those columns with `polish: drop: [...]`",
        )
    return reshape
