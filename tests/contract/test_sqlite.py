"""sqlite keeps scalar types exactly (declared types carry the Arrow type); lists are refused."""

from tests.contract.suite import ContractSuite, Engine

ENGINE = Engine(
    "sqlite",
    home=lambda place: {"type": "sqlite", "path": str(place.root / "db" / "app.sqlite")},
    store=lambda place: {"type": "sqlite", "path": str(place.root / "db" / "app.sqlite")},
    conversions={"ints": None, "words": None},
)


class TestSqlite(ContractSuite):
    engine = ENGINE
