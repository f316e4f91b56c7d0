"""What the partitions of one move have read so far, wherever they run, added into the move's tally.

Partitions read on this process's threads bump their count as they read. Partitions on Dask workers
cannot reach the move's objects: each sends its running count to a topic the move listens on, at most
twice a second (the scheduler carries every message). Either way a bar advances within a partition,
not a whole partition at a time, and the count a staged partition reports settles it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from hygge.core.split import ClusterSubmit, Counted, PartResult, Submit
from hygge.progress.tally import Tally

SEND_EVERY = 0.5


class PartCounts:
    """The move's side: each partition's rows and bytes read, never counted twice, never going back."""

    def __init__(self, tally: Tally):
        self.tally = tally
        self._lock = threading.Lock()
        self._seen: dict[int, tuple[int, int]] = {}

    def bump(self, index: int, rows: int, nbytes: int) -> None:
        """A partition on this process read one more batch."""
        with self._lock:
            before = self._seen.get(index, (0, 0))
            self._seen[index] = (before[0] + rows, before[1] + nbytes)
        self.tally.add(rows, nbytes)

    def saw(self, index: int, rows: int, nbytes: int) -> None:
        """A partition's running total, from a worker or its result; a late, smaller report is ignored."""
        with self._lock:
            before = self._seen.get(index, (0, 0))
            if rows <= before[0] and nbytes <= before[1]:
                return
            now = (max(rows, before[0]), max(nbytes, before[1]))
            self._seen[index] = now
        self.tally.add(now[0] - before[0], now[1] - before[1])

    def heard(self, message: dict[str, Any]) -> None:
        self.saw(int(message["index"]), int(message["rows"]), int(message["bytes"]))

    def done(self, part: PartResult) -> None:
        self.saw(part.index, part.rows_read, part.bytes_read)  # what a worker had not told yet

    def local(self, index: int) -> Counted:
        return lambda rows, nbytes: self.bump(index, rows, nbytes)

    @contextmanager
    def listening(self, submit: Submit, topic: str) -> Iterator[Callable[[int], Counted]]:
        """What each partition is to call as it reads, where ``submit`` runs it; a cluster's reports heard."""
        if not isinstance(submit, ClusterSubmit):
            yield self.local
            return
        submit.listen(topic, self.heard)
        try:
            yield partial(WorkerCount, topic)
        finally:
            submit.unlisten(topic)


class WorkerCount:
    """The worker's side of one partition: its running count, sent to ``topic`` now and then. It pickles."""

    def __init__(self, topic: str, index: int):
        self.topic, self.index = topic, index
        self.rows = self.bytes = 0
        self.sent = 0.0

    def __call__(self, rows: int, nbytes: int) -> None:
        self.rows += rows
        self.bytes += nbytes
        now = time.monotonic()
        if now - self.sent < SEND_EVERY:
            return
        self.sent = now
        try:
            from distributed import get_worker

            get_worker().log_event(self.topic, {"index": self.index, "rows": self.rows, "bytes": self.bytes})
        except Exception:  # noqa: BLE001 - progress is a nicety: a worker that cannot send it still stages its rows
            pass
