"""parquet keeps every type of the table, exactly."""

from tests.contract.suite import ContractSuite, Engine

ENGINE = Engine(
    "parquet",
    home=lambda place: {"type": "parquet", "path": "lake"},
    store=lambda place: {"type": "parquet", "path": "lake"},
)


class TestParquet(ContractSuite):
    engine = ENGINE
