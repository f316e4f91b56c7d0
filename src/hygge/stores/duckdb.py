"""Store `duckdb`: tables in a DuckDB database file, published in one transaction with their state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import Field

from hygge.core.passthrough import one_schema
from hygge.core.plan import MovePlan
from hygge.db.duckdb import DuckdbDialect
from hygge.db.sql_landing import SqlLanding
from hygge.db.sqlstore import SqlStore, SqlStoreConfig
from hygge.homes.base import WholeParquet
from hygge.state.journal import RunRecord
from hygge.stores.base import Landing


class DuckdbStoreConfig(SqlStoreConfig):
    path: str | None = None
    native_parquet: bool = Field(
        True, description="let DuckDB read parquet files that need no change itself, in parallel (pages unchecked)"
    )


class DuckdbLanding(SqlLanding):
    store: DuckdbStore

    def take_whole(self, whole: WholeParquet, on_rows: Callable[[int], None]) -> tuple[bool, list[str]]:
        # One schema in every file: DuckDB reads them as one table, without hygge's unification across files.
        files = [path for path in whole.files if isinstance(path, Path)]  # DuckDB reads local files itself
        if not self.store.config.native_parquet or len(files) < len(whole.files) or not one_schema(whole):
            return False, []
        if not self.load_files(files, whole.rows, on_rows):
            return False, []
        return True, [f"{len(whole.files)} file(s) read by the store's own parquet reader: nothing about their "
                      "rows or types changed"]


class DuckdbStore(SqlStore):
    type_name = "duckdb"
    Config = DuckdbStoreConfig
    Engine = DuckdbDialect
    config: DuckdbStoreConfig

    def landing(self, plan: MovePlan, record: RunRecord) -> Landing:
        return DuckdbLanding(self, plan, record)
