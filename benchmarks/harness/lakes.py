"""Lake tables in the benchmark: the merge lane's source and the table it merges into, and counting the Delta and
Iceberg tables a contender wrote (read through deltalake and pyiceberg, whatever wrote them).

The merge lane: a Delta table of the mixed table's N rows (written once by deltalake.write_deltalake and cached, then
copied into each contender's target before every run, untimed) receives N ÷ 100 changed rows: N ÷ 200 updates of
existing ids (every 200th) and N ÷ 200 new ids, all with qty = -1, a value the mixed table never holds. A run counts
when the table then holds N + N ÷ 200 rows of which N ÷ 100 have qty = -1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.settings import DATA, rows_label
from harness.sources import Source, _cached, mixed_parquet_file

MARK = -1
EVERY = 200


def merge_changes(rows: int) -> Source:
    base = mixed_parquet_file(rows)

    def build(tmp: Path) -> None:
        table = pq.read_table(base)
        ids = table["id"]
        updates = table.filter(pc.equal(pc.remainder(ids, EVERY), 0))
        inserts = table.filter(pc.equal(pc.remainder(ids, EVERY), EVERY // 2))
        inserts = inserts.set_column(0, "id", pc.add(inserts["id"], rows))
        changes = pa.concat_tables([updates, inserts])
        column = changes.schema.get_field_index("qty")
        changes = changes.set_column(column, changes.schema.field(column),
                                     pa.array([MARK] * changes.num_rows, pa.int32()))
        pq.write_table(changes, tmp, compression="snappy")

    path = _cached(DATA / f"merge1pct_{rows_label(rows)}.parquet", build)
    meta = pq.ParquetFile(path).metadata
    inserted = pq.read_table(path, columns=["id"]).filter(pc.greater_equal(pc.field("id"), rows)).num_rows
    return Source("parquet", meta.num_rows, path.stat().st_size, path, expected=rows + inserted,
                  marked=meta.num_rows)


def delta_seed(rows: int) -> Path:
    """The N-row Delta table every merge run starts from (written by deltalake from the mixed parquet file)."""
    base = mixed_parquet_file(rows)

    def build(tmp: Path) -> None:
        from deltalake import write_deltalake

        handle = pq.ParquetFile(base)
        write_deltalake(str(tmp), pa.RecordBatchReader.from_batches(handle.schema_arrow, handle.iter_batches()))

    return _cached(DATA / f"delta_seed_{rows_label(rows)}", build)


def copy_seed(seed: Path, table: Path) -> None:
    shutil.copytree(seed, table)


def _visible(folder: Path, path: Path) -> bool:
    """Not inside a bookkeeping folder of some tool ('.hygge', '_dlt_...', '_hygge')."""
    return not any(p.startswith((".", "_")) for p in path.relative_to(folder).parts)


def delta_tables(folder: Path) -> list[Path]:
    return sorted(log.parent for log in folder.rglob("_delta_log") if log.is_dir() and _visible(folder, log.parent))


def delta_rows(folder: Path) -> int:
    from deltalake import DeltaTable

    return sum(DeltaTable(str(table)).count() for table in delta_tables(folder))


def delta_marked(folder: Path) -> int:
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    return sum(DeltaTable(str(table)).to_pyarrow_dataset().count_rows(filter=ds.field("qty") == MARK)
               for table in delta_tables(folder))


def iceberg_rows(folder: Path) -> int:
    """Each Iceberg table under the folder at its newest metadata file, counted by pyiceberg (catalog-free, so a
    contender's own catalog, in memory or on disk, does not matter)."""
    from pyiceberg.table import StaticTable

    total = 0
    for metadata in sorted(m for m in folder.rglob("metadata") if m.is_dir() and _visible(folder, m.parent)):
        files = sorted(metadata.glob("*.metadata.json"), key=lambda f: f.stat().st_mtime_ns)
        if files:
            total += StaticTable.from_metadata(str(files[-1])).scan().count()
    return total
