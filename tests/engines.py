"""The Stores every cross-cutting test runs against, taken from the contract modules."""

from __future__ import annotations

from tests.contract import (
    test_csv,
    test_delta,
    test_duckdb,
    test_jsonl,
    test_mysql,
    test_parquet,
    test_postgres,
    test_sqlite,
)
from tests.contract.suite import Engine

# Stores that can merge (upsert by keys): every database, parquet among the files, and the lake tables.
MERGE_ENGINES: dict[str, Engine] = {
    "parquet": test_parquet.ENGINE,
    "duckdb": test_duckdb.ENGINE,
    "sqlite": test_sqlite.ENGINE,
    "postgres": test_postgres.ENGINE,
    "mysql": test_mysql.ENGINE,
    "delta": test_delta.ENGINE,
}

# Every Store family.
EVERY_STORE: dict[str, Engine] = {**MERGE_ENGINES, "csv": test_csv.ENGINE, "jsonl": test_jsonl.ENGINE}
