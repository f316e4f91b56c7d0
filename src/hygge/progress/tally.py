"""A move's running count of what it has read, and the ticker that reports it while the move works.

Progress is counted where rows are read, not where they are written: a writer may hold a whole row group
(or a partition) before it says anything, and the bar would stand still meanwhile. Partition readers on
other threads bump the same tally; one ticker per move turns it into ``progress`` events at a steady
pace, so a bar moves whether batches arrive every millisecond or every few seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

# Often enough that a bar visibly moves, rarely enough that many moves at once cost nothing.
TICK_SECONDS = 0.25


class Tally:
    """Rows and bytes read so far; ``add`` may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rows = 0
        self.bytes = 0

    def add(self, rows: int, nbytes: int) -> None:
        with self._lock:
            self.rows += rows
            self.bytes += nbytes

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self.rows, self.bytes


class Ticker:
    """Calls ``report(rows, bytes)`` every ``every`` seconds while the tally changes, and once more at the end."""

    def __init__(self, tally: Tally, report: Callable[[int, int], None], every: float = TICK_SECONDS,
                 name: str = "hygge-ticker"):
        self.tally = tally
        self.report = report
        self.every = every
        self._stop = threading.Event()
        self._said = (0, 0)  # nothing to say before the first batch
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _say(self) -> None:
        now = self.tally.read()
        if now != self._said:
            self._said = now
            self.report(*now)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._say()

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if kind is None:
            self._say()  # the last count, so a bar ends where the data did
