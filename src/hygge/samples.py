"""Sample data for `hygge init`, the examples and the tests: small, deterministic, every common type."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_NAMES = ["Åsa", "Bjørn", "Chloé", "Dmitri", "Eun-ji", "Fatma", "Göran", "Hiroshi", "Inès", "Jürgen", "Kofi", "Łucja"]
_CITIES = ["København", "Malmö", "Zürich", "São Paulo", "Kraków", "Reykjavík", "東京", "Αθήνα", None]


def users(rows: int = 1000) -> pa.Table:
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    return pa.table({
        "user_id": pa.array(range(1, rows + 1), pa.int64()),
        "name": [f"{_NAMES[i % len(_NAMES)]} {i}" for i in range(rows)],
        "city": [_CITIES[i % len(_CITIES)] for i in range(rows)],
        "signup_date": pa.array([date(2023, 1, 1) + timedelta(days=i % 700) for i in range(rows)], pa.date32()),
        "balance": pa.array([Decimal(i * 37 % 100000) / 100 if i % 11 else None for i in range(rows)],
                            pa.decimal128(12, 2)),
        "is_active": [i % 3 != 0 for i in range(rows)],
        "last_seen": pa.array([start + timedelta(seconds=i * 3607) for i in range(rows)], pa.timestamp("us", "UTC")),
    })


def orders(rows: int = 5000, users: int = 1000) -> pa.Table:
    # Computed by Arrow rather than row by row in Python: the tests build tables of 600,000 orders, seconds each
    # the other way. The values are the same as the Python formulas in the comments.
    import pyarrow.compute as pc

    i = pa.array(range(rows), pa.int64())
    start = int((datetime(2024, 3, 1, 8, 0, 0) - datetime(1970, 1, 1)).total_seconds() * 1000)
    # Decimal((i * 7919) % 100000) / 100, by way of int32 cents (an int64 would need 21 digits of precision)
    cents = pc.cast(pc.cast(pc.modulo(pc.multiply(i, 7919), 100000), pa.int32()), pa.decimal128(12, 2))
    return pa.table({
        "order_id": pc.add(i, 1),  # 1..rows
        "user_id": pc.add(pc.modulo(pc.multiply(i, 7), users), 1),  # (i * 7) % users + 1
        "amount": pc.cast(pc.divide(cents, pa.scalar(Decimal(100), pa.decimal128(3, 0))), pa.decimal128(10, 2)),
        "quantity": pc.cast(pc.add(pc.modulo(i, 9), 1), pa.int32()),  # (i % 9) + 1
        "ordered_at": pc.cast(pc.add(pc.multiply(i, 13 * 60_000), start), pa.timestamp("ms")),  # every 13 minutes
        # ["new", "paid", "shipped", "returned"][i % 4] (no rows: a column of no type, as a list of none gives)
        "status": pc.take(pa.array(["new", "paid", "shipped", "returned"]), pc.modulo(i, 4)) if rows else pa.array([]),
    })


def events(rows: int = 2000, offset: int = 0) -> pa.Table:
    start = datetime(2024, 6, 1, tzinfo=timezone.utc)
    ids = range(offset, offset + rows)
    return pa.table({
        "event_id": pa.array(ids, pa.int64()),
        "at": pa.array([start + timedelta(microseconds=i * 1_000_123) for i in ids], pa.timestamp("ns", "UTC")),
        "kind": [["view", "click", "buy"][i % 3] for i in ids],
        "tags": pa.array([[f"t{i % 5}", f"t{i % 7}"] if i % 4 else [] for i in ids], pa.list_(pa.string())),
        "payload": pa.array([bytes([i % 256, (i * 3) % 256]) for i in ids], pa.binary()),
        "device": pa.array([{"os": ["linux", "ios", "android"][i % 3], "version": i % 20} for i in ids],
                           pa.struct([("os", pa.string()), ("version", pa.int32())])),
    })


def write_sample_source(folder: Path) -> list[Path]:
    """users and orders as single files, events as a folder of two files: three kinds of entity."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events").mkdir(exist_ok=True)
    written = {
        folder / "users.parquet": users(),
        folder / "orders.parquet": orders(),
        folder / "events" / "2024-06-01.parquet": events(1000, 0),
        folder / "events" / "2024-06-02.parquet": events(1000, 1000),
    }
    for path, table in written.items():
        pq.write_table(table, path)
    return list(written)
