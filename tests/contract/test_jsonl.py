"""jsonl keeps values as JSON: read back with `columns:`, they return exactly; durations and uuids are refused."""

from typing import Any

import pyarrow as pa

from hygge.core.arrowtypes import type_name
from tests.contract.suite import ContractSuite, Engine, Place

REFUSED = {"uid", "span"}
INFERRED = {"ints", "words", "doc"}  # lists and JSON text: their types come from the JSON itself


def typed(place: Place, schema: pa.Schema) -> dict[str, Any]:
    columns = {f.name: type_name(f.type) for f in schema if f.name not in INFERRED}
    return {"type": "jsonl", "path": str(place.root / "lake"), "columns": columns}


ENGINE = Engine(
    "jsonl",
    home=lambda place: {"type": "jsonl", "path": str(place.root / "lake")},
    store=lambda place: {"type": "jsonl", "path": str(place.root / "lake")},
    conversions={**{name: None for name in REFUSED}, "doc": lambda c: c.cast(pa.string())},
    typed_home=typed,
)


class TestJsonl(ContractSuite):
    engine = ENGINE
