"""csv keeps values, not types: read back with `columns:`, scalar types return exactly; binary and lists are refused."""

from typing import Any

import pyarrow as pa

from hygge.core.arrowtypes import type_name
from tests.contract.suite import ContractSuite, Engine, Place

REFUSED = {"blob", "uid", "ints", "words", "span"}


def typed(place: Place, schema: pa.Schema) -> dict[str, Any]:
    columns = {f.name: type_name(f.type) for f in schema if f.name != "doc"}
    return {"type": "csv", "path": str(place.root / "lake"), "columns": columns}


ENGINE = Engine(
    "csv",
    home=lambda place: {"type": "csv", "path": str(place.root / "lake")},
    store=lambda place: {"type": "csv", "path": str(place.root / "lake")},
    conversions={**{name: None for name in REFUSED}, "doc": lambda c: c.cast(pa.string())},
    typed_home=typed,
)


class TestCsv(ContractSuite):
    engine = ENGINE
