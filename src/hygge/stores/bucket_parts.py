"""Partitions of a file entity staged on a bucket by other processes (Dask workers that share no disk).

A worker opens the store itself (credentials from its own environment or the plan's connections), writes its
partition's parts on its own local disk and uploads each one under the entity, named by run, partition and
attempt: ``part-p0003-1f2e3d4c-00000-<run>.parquet``. Its result lists those names; the coordinator's landing
references them in the manifest it publishes, without moving a byte. An attempt whose result never arrived
(Dask ran the partition again after a worker died) is referenced by nothing, and removed after the publish or
by the next run.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from hygge.core.split import PartSink
from hygge.storage.base import Entry
from hygge.stores.part_series import PartSeries


@dataclass
class BucketPartTarget:
    store: dict[str, Any]
    root: str
    connections: dict[str, dict[str, Any]]
    entity: str
    run_id: str
    index: int

    def open(self, schema: pa.Schema) -> BucketPartSink:
        from hygge.core.planner import open_store

        return BucketPartSink(open_store(self.root, self.store, self.connections), self, schema)


class BucketPartSink(PartSink):
    def __init__(self, store: Any, target: BucketPartTarget, schema: pa.Schema):
        self.store, self.target = store, target
        self.storage = store.storage
        self.attempt = uuid.uuid4().hex[:8]
        self.spool = Path(tempfile.mkdtemp(prefix=f"hygge-p{target.index:04d}-"))
        self.files: list[tuple[str, int, int]] = []
        self.uploads: list[Future[Entry]] = []
        self.uploader = ThreadPoolExecutor(2, thread_name_prefix="hygge-upload")
        self.series = PartSeries(store, self.spool, schema, iter(range(1 << 30)).__next__, self._closed)

    def _closed(self, name: str, rows: int, size: int) -> None:
        number = int(name.split("-")[1].split(".")[0])
        remote = f"part-p{self.target.index:04d}-{self.attempt}-{number:05d}-{self.target.run_id[-8:]}" \
                 f"{self.store.extension}"
        self.files.append((remote, rows, size))
        self.bytes += size
        self.uploads.append(self.uploader.submit(self._upload, self.spool / name, f"{self.target.entity}/{remote}"))

    def _upload(self, local: Path, key: str) -> Entry:
        entry = self.storage.upload(local, key)
        local.unlink()
        return entry

    def write_stream(self, batches: Iterator[pa.RecordBatch]) -> None:
        for batch in batches:
            self.series.write(batch)
            self.rows += batch.num_rows

    def finish(self) -> Any:
        try:
            self.series.close()
            for upload in self.uploads:
                upload.result()
        finally:
            self.uploader.shutdown(wait=True)
            shutil.rmtree(self.spool, ignore_errors=True)
        return self.files
