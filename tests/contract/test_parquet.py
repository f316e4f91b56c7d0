"""parquet keeps every type of the table, exactly."""

from tests.contract.suite import ContractSuite, Engine

ENGINE = Engine(
    "parquet",
    home=lambda place: {"type": "parquet", "path": str(place.root / "lake")},
    store=lambda place: {"type": "parquet", "path": str(place.root / "lake")},
)


class TestParquet(ContractSuite):
    engine = ENGINE
