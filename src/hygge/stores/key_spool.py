"""The key columns of a keyed full load, kept on local disk so that rows repeating a key are refused before the
commit: the first run of an incremental entity with keys loads a table the next runs merge into by those keys.

The database stores refuse such rows by the key they give the table; the local parquet store counts its staged
parts (stores/file_landing.py). Delta, Iceberg and parquet on a bucket write their data files where the spool
cannot be read back cheaply (a bucket, a table folder being written), so they copy the key columns of every batch
here as it passes: a few bytes per row, lz4-compressed, counted by polars once the last row is in.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.core import lazy
from hygge.core.arrowtypes import extension_name
from hygge.core.plan import MovePlan


def refuse_repeated_keys(files: list[Path], plan: MovePlan, where: str) -> None:
    """Fail the move naming a few values of ``plan.keys`` that repeat across these parquet files (polars streams
    them: only the key columns are read)."""
    from hygge.db.keys import refuse_repeats

    pl = lazy.polars()
    keys = list(plan.keys)
    repeated = (pl.scan_parquet(files).group_by(keys)
                .agg(pl.len().alias("_hygge_n")).filter(pl.col("_hygge_n") > 1).head(5).collect())
    refuse_repeats(list(repeated.iter_rows()), plan.keys, plan.entity, where)


def needs_key_check(plan: MovePlan) -> bool:
    """A keyed full load: an incremental entity's first run (or ``--full-drop``), whose rows must be one per key."""
    return bool(plan.key_tables and plan.keys and plan.run_type == "full_drop")


def comparable(column: Any) -> Any:
    """A key column as a type polars groups by its values: extension types by their storage, dictionaries by
    their values, fixed-size binary (UUIDs) as binary."""
    kind = column.type
    if extension_name(kind):
        column, kind = column.cast(kind.storage_type), kind.storage_type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_fixed_size_binary(kind):
        column = column.cast(pa.binary())
    return column


class KeySpool:
    def __init__(self, plan: MovePlan):
        self.plan = plan
        self.keys = list(plan.keys)
        self.folder = Path(tempfile.mkdtemp(prefix="hygge-keys-"))
        self.writer: pq.ParquetWriter | None = None

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        keys = batch.select(self.keys)
        columns = [comparable(c) for c in keys.columns]
        keys = pa.table(columns, names=self.keys) if isinstance(keys, pa.Table) else \
            pa.RecordBatch.from_arrays(columns, names=self.keys)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.folder / "keys.parquet", keys.schema, compression="lz4")
        self.writer.write(keys)

    def write_file(self, path: Path) -> None:
        """The keys of a parquet file the landing took whole."""
        self.write_all(pq.ParquetFile(path).iter_batches(columns=self.keys))

    def write_all(self, batches: Iterable[pa.RecordBatch]) -> None:
        for batch in batches:
            self.write(batch)

    def refuse_repeats(self, where: str) -> None:
        """Fail the move naming a few repeated keys, before anything is committed."""
        if self.writer is None:
            return
        self.writer.close()
        refuse_repeated_keys([self.folder / "keys.parquet"], self.plan, where)

    def close(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except (OSError, pa.ArrowException):
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
