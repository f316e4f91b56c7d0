"""postgres: exact for most types; documented conversions where PostgreSQL has no twin (docs/types.md)."""

import pyarrow as pa

from tests.contract.alltypes import NANOS, cast
from tests.contract.suite import ContractSuite, Engine
from tests.services import POSTGRES_URL, postgres_place

ENGINE = Engine(
    "postgres",
    home=lambda place: {"type": "postgres", "url": POSTGRES_URL, "schema": place.name},
    store=lambda place: {"type": "postgres", "url": POSTGRES_URL, "schema": place.name},
    conversions={
        "i8": cast(pa.int16()), "u8": cast(pa.int16()), "u16": cast(pa.int32()), "u32": cast(pa.int64()),
        "u64": cast(pa.decimal128(20, 0)), "ts_ms": cast(pa.timestamp("us")),
    },
    place=postgres_place,
    refuses=[(NANOS, "PostgreSQL keeps microseconds")],
)


class TestPostgres(ContractSuite):
    engine = ENGINE
