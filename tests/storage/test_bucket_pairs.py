"""Every Home family into a bucket, and a bucket into every Store family, with default settings.

The pair test of tests/contract/test_pairs.py, with a bucket family as one end: a fast path written for local
files (whole-file copies, DuckDB reading parquet itself, polars re-encoding) meets a bucket here. One file format
per bucket family keeps it short (S3 parquet, Azure csv, GCS jsonl), with Delta on S3;
tests/storage/test_bucket_files.py runs every file format on every family, tests/lake/ Delta and Iceberg.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.buckets import Bucket
from tests.contract.suite import Engine, Place
from tests.contract.test_pairs import ENGINES, Side, pair_matrix, places

__all__ = ["places"]  # the fixture, shared with the local pair test

FORMAT = {"s3": "parquet", "azure": "csv", "gcs": "jsonl"}
# Lake tables on the bucket too, where the family has them (Delta on GCS: see docs/guarantees.md, Known limits).
LAKE = {"s3": ["delta"]}


def on_bucket(engine: Engine, bucket: Bucket) -> Engine:
    """The file family ``engine``, its entities under a prefix of the bucket instead of a local folder."""

    def moved(config: dict[str, Any], place: Place) -> dict[str, Any]:
        return {**config, "path": bucket.url(place.name, "lake")}

    typed = engine.typed_home
    return replace(engine, home=lambda place: moved(engine.home(place), place),
                   store=lambda place: moved(engine.store(place), place),
                   typed_home=(lambda place, schema: moved(typed(place, schema), place)) if typed else None)


def test_every_family_into_the_bucket_and_the_bucket_into_every_family(
        tmp_path: Path, bucket: Bucket, places: dict[str, tuple[Place, Place]]) -> None:
    sides: dict[str, Side] = {name: (engine, *places[name]) for name, engine in ENGINES.items()}
    pairs: list[tuple[str, str]] = []
    for family in [FORMAT[bucket.family], *LAKE.get(bucket.family, [])]:
        here = f"{family}_{bucket.family}"
        sides[here] = (on_bucket(ENGINES[family], bucket), Place(tmp_path, f"{here}_home"),
                       Place(tmp_path, f"{here}_store"))
        pairs += [(name, here) for name in [*ENGINES, here]] + [(here, name) for name in ENGINES]
    pair_matrix(tmp_path, sides, pairs)
