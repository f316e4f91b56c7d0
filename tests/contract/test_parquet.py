"""parquet keeps every type of the table, exactly."""

from tests.contract.suite import ContractSuite, Engine

ENGINE = Engine(
    "parquet",
    home=lambda place: {"type": "parquet", "path": str(place.root / "lake")},
    # Re-encode, so every test goes through the reading and writing path (whole-file copies have their own test).
    store=lambda place: {"type": "parquet", "path": str(place.root / "lake"), "copy_unchanged": False},
)


class TestParquet(ContractSuite):
    engine = ENGINE
