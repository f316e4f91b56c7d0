"""The queue between a Move's reader and writer, bounded in bytes, that fails both ways."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator

import pyarrow as pa

from hygge.errors import Cancelled

_END = object()


class Pipe:
    """Holds at most ``max_bytes`` of batches (always at least one, so a huge batch still moves).

    A failure on the reading side reaches the writer on its next ``get``; a
    failure on the writing side (``stop``) wakes a blocked reader at once.
    """

    def __init__(self, max_bytes: int, cancel: threading.Event | None = None):
        self.max_bytes = max_bytes
        self.cancel = cancel or threading.Event()
        self._items: deque[object] = deque()
        self._bytes = 0
        self._error: BaseException | None = None
        self._stopped = False
        self._finished = False
        self._cond = threading.Condition()
        self.peak_bytes = 0

    def _check_stopped(self) -> None:
        if self._stopped or self._finished or self.cancel.is_set():
            raise Cancelled("the move was stopped")

    def put(self, batch: pa.RecordBatch) -> None:
        size = batch.nbytes
        with self._cond:
            while self._items and self._bytes + size > self.max_bytes:
                self._check_stopped()
                self._cond.wait(0.1)
            self._check_stopped()
            self._items.append(batch)
            self._bytes += size
            self.peak_bytes = max(self.peak_bytes, self._bytes)
            self._cond.notify_all()

    def finish(self, error: BaseException | None = None) -> None:
        with self._cond:
            if self._finished:
                return
            self._finished = True
            self._error = error
            if error is not None:
                self._items.clear()  # the consumer must hear of the error before reading on
                self._bytes = 0
            self._items.append(_END)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._items.clear()
            self._bytes = 0
            self._cond.notify_all()

    def get(self) -> pa.RecordBatch | None:
        with self._cond:
            # Asked before every batch, not only when the queue is empty: a reader that has finished leaves
            # the whole rest of the move queued, and a stop (Ctrl-C, SIGTERM, fail-fast) must not wait for it.
            while True:
                if self.cancel.is_set():
                    raise Cancelled("the move was stopped")
                if self._items:
                    break
                self._cond.wait(0.1)
            item = self._items.popleft()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return None
            assert isinstance(item, pa.RecordBatch)
            self._bytes -= item.nbytes
            self._cond.notify_all()
            return item


def pump(
    batches: Callable[[], Iterator[pa.RecordBatch]],
    pipe: Pipe,
    on_read: Callable[[pa.RecordBatch], None] | None = None,
    name: str = "hygge-reader",
) -> threading.Thread:
    """Start a thread feeding ``pipe`` from ``batches()``; it ends when the data, an error or a stop does."""

    def run() -> None:
        try:
            for batch in batches():
                if on_read is not None:
                    on_read(batch)
                pipe.put(batch)
        except BaseException as exc:  # noqa: BLE001 - handed to the writer side
            pipe.finish(exc)
        else:
            pipe.finish()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def fan_in(producers: list[Callable[[], Iterator[pa.RecordBatch]]], workers: int, max_bytes: int,
           name: str = "hygge-part") -> Iterator[pa.RecordBatch]:
    """Run several producers (e.g. partitions of one table) on ``workers`` threads; yield their batches.

    The first error stops every producer and is raised to the consumer; a
    consumer that stops early stops the producers too.
    """
    pipe = Pipe(max_bytes)
    pending = list(enumerate(producers))
    lock = threading.Lock()
    alive = [0]

    def worker() -> None:
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    _, producer = pending.pop(0)
                for batch in producer():
                    pipe.put(batch)
        except Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            pipe.finish(exc)
        finally:
            with lock:
                alive[0] -= 1
                last = alive[0] == 0
            if last:
                pipe.finish()

    threads = [threading.Thread(target=worker, name=f"{name}-{i}", daemon=True) for i in range(max(1, workers))]
    alive[0] = len(threads)
    for thread in threads:
        thread.start()
    try:
        while (batch := pipe.get()) is not None:
            yield batch
    finally:
        pipe.stop()
        for thread in threads:
            thread.join(timeout=5)
