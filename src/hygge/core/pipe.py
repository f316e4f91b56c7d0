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
        self._cond = threading.Condition()
        self.peak_bytes = 0

    def _check_stopped(self) -> None:
        if self._stopped or self.cancel.is_set():
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
            self._error = error
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
            while not self._items:
                if self.cancel.is_set():
                    raise Cancelled("the move was stopped")
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
        except BaseException as exc:
            pipe.finish(exc)
        else:
            pipe.finish()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
