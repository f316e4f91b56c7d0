"""delta keeps every type of the table exactly: what Delta lacks is widened losslessly and restored from
the column's metadata (docs/types.md); nanosecond timestamps are refused."""

import pyarrow as pa

from tests.contract.alltypes import NANOS
from tests.contract.suite import ContractSuite, Engine

ENGINE = Engine(
    "delta",
    home=lambda place: {"type": "delta", "path": str(place.root / "lake")},
    store=lambda place: {"type": "delta", "path": str(place.root / "lake")},
    refuses=[(NANOS, "Delta keeps microseconds"),
             (pa.table({"id": pa.array([1], pa.int64()), "nothing": pa.nulls(1)}), "a column of nulls only")],
)


class TestDelta(ContractSuite):
    engine = ENGINE
