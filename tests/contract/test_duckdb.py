"""duckdb keeps every type of the table, exactly (column comments carry what DuckDB lacks)."""

from tests.contract.suite import ContractSuite, Engine

ENGINE = Engine(
    "duckdb",
    home=lambda place: {"type": "duckdb", "path": str(place.root / "db" / "warehouse.duckdb")},
    store=lambda place: {"type": "duckdb", "path": str(place.root / "db" / "warehouse.duckdb")},
)


class TestDuckdb(ContractSuite):
    engine = ENGINE
