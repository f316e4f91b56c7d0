"""duckdb keeps every type of the table, exactly (column comments carry what DuckDB lacks)."""

from tests.contract.suite import ContractSuite, Engine

ENGINE = Engine(
    "duckdb",
    home=lambda place: {"type": "duckdb", "path": str(place.root / "db" / "warehouse.duckdb")},
    # The contract is hygge's own reading and writing; DuckDB reading unchanged parquet files itself is
    # tested in tests/stores/test_duckdb_native_parquet.py (as copy_unchanged is for the parquet store).
    store=lambda place: {"type": "duckdb", "path": str(place.root / "db" / "warehouse.duckdb"),
                         "native_parquet": False},
)


class TestDuckdb(ContractSuite):
    engine = ENGINE
