"""Deterministic benchmark data: the mixed 10-column table of issue 6 at any size, and friends.

    python benchmarks/datagen.py mixed 10000000 benchmarks/data/mixed_10m.parquet
    python benchmarks/datagen.py wide 100000 benchmarks/data/wide_100k.parquet     (200 columns)
    python benchmarks/datagen.py small 1000 benchmarks/data/small_500x1k           (500 files of 1,000 rows)

Columns: id int64, qty int32, price float64, amount decimal(12,2), name string (~20 chars),
category string (12 values), flag bool, day date32, created timestamp[us], updated timestamp[us, UTC].
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CHUNK = 1_000_000
CATEGORIES = pa.array(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                       "india", "juliett", "kilo", "lima"])
WORDS = pa.array(["amber", "basil", "cedar", "dune", "ember", "fjord", "grove", "heath", "iris", "juniper",
                  "kelp", "lumen", "moss", "nectar", "opal", "pine"])


def cents_to_decimal(cents: np.ndarray) -> pa.Array:
    """decimal128(12,2) straight from integer cents: the low 64 bits of each 128-bit value."""
    words = np.zeros((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    return pa.Array.from_buffers(pa.decimal128(12, 2), len(cents), [None, pa.py_buffer(words.tobytes())])


def mixed_chunk(start: int, rows: int) -> pa.Table:
    rng = np.random.default_rng(start)
    ids = np.arange(start, start + rows, dtype=np.int64)
    cents = rng.integers(0, 10**9, rows)
    names = pc.binary_join_element_wise(
        pc.take(WORDS, pa.array(rng.integers(0, len(WORDS), rows))),
        pc.cast(pa.array(ids % 1_000_003), pa.string()),
        pc.take(WORDS, pa.array(rng.integers(0, len(WORDS), rows))),
        "-",
    )
    base_us = 1_700_000_000_000_000
    return pa.table({
        "id": ids,
        "qty": pa.array(rng.integers(0, 1000, rows, dtype=np.int32)),
        "price": rng.random(rows) * 1000,
        "amount": cents_to_decimal(cents),
        "name": names,
        "category": pc.take(CATEGORIES, pa.array(rng.integers(0, len(CATEGORIES), rows))),
        "flag": pa.array(rng.random(rows) < 0.5),
        "day": pa.array((19000 + ids % 1500).astype(np.int32)).cast(pa.date32()),
        "created": pa.array(base_us + ids * 1_000_003, pa.timestamp("us")),
        "updated": pa.array(base_us + ids * 997 + rng.integers(0, 10**6, rows), pa.timestamp("us", tz="UTC")),
    })


def write_chunks(path: Path, rows: int, make_chunk: Callable[[int, int], pa.Table], chunk: int = CHUNK) -> Path:
    """Write make_chunk(start, n) for consecutive ranges into one snappy parquet file, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, rows, chunk):
        table = make_chunk(start, min(chunk, rows - start))
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema, compression="snappy")
        writer.write_table(table)
    assert writer is not None
    writer.close()
    tmp.rename(path)
    return path


def write_mixed(rows: int, path: Path, chunk: int = CHUNK) -> Path:
    return write_chunks(path, rows, mixed_chunk, chunk)


def wide_chunk(start: int, rows: int, columns: int = 200) -> pa.Table:
    """Columns cycle through int64, float64, short string and bool; each chunk is seeded by its first row."""
    rng = np.random.default_rng(7 + start)
    data = {}
    for i in range(columns):
        kind = i % 4
        if kind == 0:
            data[f"c{i:03d}"] = rng.integers(0, 10**9, rows)
        elif kind == 1:
            data[f"c{i:03d}"] = rng.random(rows)
        elif kind == 2:
            data[f"c{i:03d}"] = pc.cast(pa.array(rng.integers(0, 10**6, rows)), pa.string())
        else:
            data[f"c{i:03d}"] = pa.array(rng.random(rows) < 0.5)
    return pa.table(data)


def write_wide(rows: int, columns: int, path: Path) -> Path:
    """Written in chunks of 100k rows, so even a wide table of millions of rows never sits in memory whole."""
    return write_chunks(path, rows, lambda start, n: wide_chunk(start, n, columns), chunk=100_000)


def write_small_tables(count: int, rows: int, folder: Path) -> Path:
    """count files t0000.parquet... of `rows` mixed rows each, written into a temporary folder renamed at the end."""
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pq.write_table(mixed_chunk(i * rows, rows), tmp / f"t{i:04d}.parquet")
    tmp.rename(folder)
    return folder


if __name__ == "__main__":
    kind, size, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    many = int(sys.argv[4]) if len(sys.argv) > 4 else 0  # columns of the wide table, files of the small tables
    if kind == "mixed":
        write_mixed(size, out)
    elif kind == "wide":
        write_wide(size, many or 200, out)
    elif kind == "small":
        write_small_tables(many or 500, size, out)
    else:
        raise SystemExit(f"unknown kind {kind}")
    print(out)
