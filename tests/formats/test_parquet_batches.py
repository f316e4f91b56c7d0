"""The batches hygge's parquet reader hands on are about `batch_bytes` of Arrow memory, whatever the footer says.

A footer counts the pages' encoded bytes: text written with a dictionary, or read back as string views, decodes to
many times that, and a batch sized from the footer alone held several times its budget (formats/parquet.py
decoded_batch_rows)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hygge.formats.parquet import ParquetReader
from hygge.homes.parquet import ParquetHomeConfig

BUDGET = 1 << 20
ROWS = 60_000


def written(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path, row_group_size=20_000)
    return path


@pytest.mark.parametrize("kind", ["dictionary text", "string views"])
def test_batches_stay_near_their_budget_when_the_footer_undercounts(tmp_path: Path, kind: str) -> None:
    words = [f"{'x' * 200}{i % 7}" for i in range(ROWS)]  # seven values: the pages hold dictionary indices
    text = pa.array(words, pa.string_view() if kind == "string views" else pa.string())
    path = written(tmp_path / "t.parquet", pa.table({"id": pa.array(range(ROWS), pa.int64()), "word": text}))
    meta = pq.read_metadata(path)
    encoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    decoded = pq.read_table(path).nbytes
    assert decoded > 10 * encoded, (decoded, encoded)  # the case: the footer says a tenth of the memory
    reader = ParquetReader(ParquetHomeConfig(type="parquet", path=str(tmp_path), decoder="pyarrow"), BUDGET)
    schema = pq.read_schema(path)
    batches = list(reader.batches(path, schema))
    assert sum(b.num_rows for b in batches) == ROWS
    assert pa.Table.from_batches(batches).column("word").to_pylist() == words
    # within_budget slices by bytes anyway; what matters is what each batch keeps alive: its buffers.
    assert max(b.get_total_buffer_size() for b in batches) < 2 * BUDGET, [b.get_total_buffer_size() for b in batches]
