"""iceberg keeps every type of the table exactly (the exact Arrow schema rides in a table property); v2 tables
refuse nanoseconds. The catalog is a SQLite file (the PostgreSQL catalog: tests/stores/test_iceberg_store.py)."""

from typing import Any

from tests.contract.alltypes import NANOS
from tests.contract.suite import ContractSuite, Engine, Place


def catalog(place: Place) -> dict[str, Any]:
    return {"type": "iceberg", "catalog": "sql", "path": str(place.root / "lake" / "catalog.db"),
            "warehouse": str(place.root / "lake" / "warehouse")}


ENGINE = Engine(
    "iceberg",
    home=lambda place: {"type": "iceberg", "connection": catalog(place), "namespace": "hygge"},
    store=lambda place: {"type": "iceberg", "connection": catalog(place), "namespace": "hygge"},
    refuses=[(NANOS, "Iceberg v2 keeps timestamps in microseconds")],
)


class TestIceberg(ContractSuite):
    engine = ENGINE
