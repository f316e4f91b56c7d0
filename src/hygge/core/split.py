"""One big entity over many workers: partitions read and staged in parallel, published by one commit.

The coordinator's side opens the source (to learn its schema and split it),
opens the landing (which takes the entity's lock and prepares staging), and
hands each partition to a worker: the worker reads its partition and stages
it (part files in its own staging folder, or a staging table of its own).
When every partition is staged, the landing adopts them and commits once,
with one journal entry. If any partition fails, everything staged is dropped
and the target is left as it was. A partition that runs again (a worker died)
starts by clearing what its previous attempt staged, so nothing is doubled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from hygge.core import faults
from hygge.core.drift import Drift, conform
from hygge.core.plan import MovePlan
from hygge.core.polish import Polisher
from hygge.errors import HyggeConnectionError, HyggeError
from hygge.homes.base import Source
from hygge.state import watermark

Counted = Callable[[int, int], None]  # (rows, bytes) of one batch a partition read


class NotSplittable(Exception):
    """This landing cannot take partitions written elsewhere (an embedded database held by one process)."""


@dataclass
class PartResult:
    index: int
    rows_read: int = 0
    bytes_read: int = 0
    rows_written: int = 0
    bytes_written: int = 0
    outputs: Any = None
    max_watermark: Any = None
    source_state: dict[str, Any] = field(default_factory=dict)


class PartSink:
    """Where a worker stages one partition; made by the landing's part target, on the worker."""

    rows = 0
    bytes = 0

    def write_stream(self, batches: Iterator[pa.RecordBatch]) -> None:
        raise NotImplementedError

    def finish(self) -> Any:
        """What the landing needs to adopt this partition (file names, a table name)."""
        raise NotImplementedError


def land_partition(plan: MovePlan, index: int, source: Source, target: Any, schema: pa.Schema,
                   loaded_at: datetime, drift: Drift | None, target_schema: pa.Schema | None,
                   on_read: Counted | None = None) -> PartResult:
    """What a worker runs for one partition. ``target.open()`` clears any earlier attempt first;
    ``on_read(rows, bytes)`` hears of every batch read, as it is read (the move's progress)."""
    from hygge.core.config import SchemaPolicy

    polisher = Polisher(plan.polish, source.schema, loaded_at, flow=plan.flow, entity=plan.entity)
    policy = SchemaPolicy.model_validate(plan.schema_policy)
    result = PartResult(index)
    column = plan.watermark if plan.watermark in source.schema.names else None
    seen: pa.Scalar | None = None

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal seen
        for batch in source.batches():
            result.rows_read += batch.num_rows
            result.bytes_read += batch.nbytes
            if on_read is not None:
                on_read(batch.num_rows, batch.nbytes)
            faults.point("read")
            if column is not None:
                seen = watermark.later(seen, watermark.column_max(batch, column))
            out = polisher(batch)
            if drift is not None and target_schema is not None:
                out = conform(out, target_schema, drift, policy)
            yield out

    sink: PartSink = target.open(schema)
    try:
        sink.write_stream(batches())
        result.outputs = sink.finish()
    finally:
        source.close()
    result.rows_written, result.bytes_written = sink.rows, sink.bytes
    result.max_watermark = watermark.encode(seen)
    result.source_state = source.new_state()
    faults.point("partition-staged")
    return result


Submit = Callable[..., "Future[PartResult]"]


class ClusterSubmit:
    """A ``Submit`` that sends partitions to other machines (Dask workers), as opposed to this one's threads:
    a move says so when it does something on this machine instead (core/move.py). Workers tell their progress
    on a topic (core/part_counts.py) that ``listen`` hands to the move."""

    def __init__(self, submit: Submit, client: Any = None):
        self.submit = submit
        self.client = client

    def listen(self, topic: str, heard: Callable[[dict[str, Any]], None]) -> None:
        if self.client is not None:
            self.client.subscribe_topic(topic, lambda item: heard(item[1]))

    def unlisten(self, topic: str) -> None:
        if self.client is not None:
            try:
                self.client.unsubscribe_topic(topic)
            except Exception:  # noqa: BLE001 - a client that went away listens to nothing anyway
                pass

    def __call__(self, *args: Any, **kwargs: Any) -> Future[PartResult]:
        return self.submit(*args, **kwargs)


def stage_partitions(plan: MovePlan, parts: list[Source], targets: list[Any], schema: pa.Schema,
                     loaded_at: datetime, drift: Drift | None, target_schema: pa.Schema | None,
                     submit: Submit, on_done: Callable[[PartResult], None],
                     counts: Callable[[int], Counted | None] | None = None) -> list[PartResult]:
    """Run every partition through ``submit``; the first failure cancels the rest and is raised.
    ``counts(i)`` is what partition ``i`` calls with each batch it reads; it goes where the partition runs."""
    futures = [submit(land_partition, plan, i, part, target, schema, loaded_at, drift, target_schema,
                      counts(i) if counts is not None else None)
               for i, (part, target) in enumerate(zip(parts, targets, strict=True))]
    results: list[PartResult] = []
    try:
        for future in futures:
            result = future.result()
            results.append(result)
            on_done(result)
    except BaseException as exc:
        for future in futures:
            future.cancel()
        lost = cluster_error(exc, plan)
        if lost is not None:
            raise lost from exc
        raise
    return sorted(results, key=lambda r: r.index)


_LOST = ("CancelledError", "FutureCancelledError", "CommClosedError", "StreamClosedError", "TimeoutError")


def cluster_error(exc: BaseException, plan: MovePlan) -> HyggeError | None:
    """A cluster that went away (or whose workers kept dying) as an error a person can act on."""
    name = type(exc).__name__
    if name in _LOST or isinstance(exc, ConnectionError):
        return HyggeConnectionError(
            f"the Dask cluster stopped answering while moving {plan.key} ({name}); the target was left as it was",
            flow=plan.flow, entity=plan.entity, found=str(exc)[:300] or name,
            hint="check the scheduler and workers, then run again")
    if name == "KilledWorker":
        return HyggeConnectionError(
            "Dask workers kept dying while staging this entity; the target was left as it was",
            flow=plan.flow, entity=plan.entity, found=str(exc)[:300],
            hint="check the workers' memory and logs, then run again")
    return None


def merged_state(results: list[PartResult]) -> dict[str, Any]:
    """Loaded files and the highest watermark over all partitions."""
    loaded: dict[str, Any] = {}
    for r in results:
        loaded.update(r.source_state.get("loaded_files", {}))
    mark = None
    for r in results:
        mark = watermark.later(mark, watermark.decode(r.max_watermark))
    return {"loaded_files": loaded, "max_watermark": mark}
