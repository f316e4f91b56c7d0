"""hygge's first example: make sample parquet data, move it to a parquet lake, say where it settled.

Run it from anywhere:  python examples/01_parquet_to_parquet.py
It writes into examples/_out/01_parquet_to_parquet/ and can be run again and again.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pyarrow.parquet as pq

import hygge
from hygge.samples import write_sample_source

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "_out" / "01_parquet_to_parquet"

PROJECT_YML = """\
name: parquet-to-parquet
flows:
  lake:
    home:
      type: parquet
      path: source          # users.parquet, orders.parquet and a folder events/
    store:
      type: parquet
      path: lake
      compression: zstd
    entities: "*"           # every file or folder under source/ is an entity
"""


def main() -> int:
    shutil.rmtree(PROJECT, ignore_errors=True)
    PROJECT.mkdir(parents=True)
    (PROJECT / "hygge.yml").write_text(textwrap.dedent(PROJECT_YML), encoding="utf-8")
    write_sample_source(PROJECT / "source")

    result = hygge.run(PROJECT)

    for move in result.moves:
        where = PROJECT / "lake" / move.entity
        print(f"{move.key:<14} {move.status:<7} {move.rows_written:>6,} rows -> {where}")
        if move.ok:
            table = pq.read_table(where)
            assert table.num_rows == move.rows_in_target, "the lake must hold what was written"
        else:
            print(move.error)
    print("every entity moved" if result.ok else "some entities failed")
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
