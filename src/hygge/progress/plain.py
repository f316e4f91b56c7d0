"""Progress as timestamped lines, for logs, CI and cron."""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timezone
from typing import IO

from hygge.core.results import MoveResult
from hygge.progress import human
from hygge.progress.events import Event


class PlainRenderer:
    def __init__(self, stream: IO[str] | None = None, every: float = 10.0):
        self.stream = stream or sys.stderr
        self.every = every
        self._last: dict[str, float] = {}
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            self.stream.write(f"{stamp} {text}\n")
            self.stream.flush()

    def __call__(self, event: Event) -> None:
        key = event.key
        if event.kind == "start":
            self._started[key] = self._last[key] = time.monotonic()
            detail = event.detail
            self.line(f"start    {key}  {detail.get('run_type')}  "
                      f"from {detail.get('source')}  to {detail.get('target')}")
        elif event.kind == "progress":
            now = time.monotonic()
            # A move shorter than ``every`` says only start and done: a log is not a terminal.
            if now - self._last.get(key, 0) >= self.every:
                self._last[key] = now
                self.line(f"moving   {key}  {moving(event, now - self._started.get(key, now))}")
        elif event.kind == "retry":
            self.line(f"retry    {key}  attempt {event.detail['attempt'] + 1} in {event.detail['delay']:.1f}s: "
                      f"{event.detail['error'].splitlines()[0]}")
        elif event.kind == "done":
            result: MoveResult = event.detail["result"]
            if result.ok:
                self.line(f"{result.status:<8} {key}  {result.rows_written:,} rows in {human.duration(result.seconds)}"
                          f"  {human.rate(result.rows_written, result.seconds)}  {human.size(result.bytes_written)}")
            else:
                first = str(result.error).splitlines()[0] if result.error else result.status
                self.line(f"{result.status:<8} {key}  {first}")


def moving(event: Event, elapsed: float) -> str:
    """Rows read so far, of how many when the source could estimate it, how fast, and the time left."""
    rows, total = event.rows, event.total_rows
    parts = [f"{rows:,} rows"]
    if total:
        parts = [f"{rows:,} of about {total:,} rows ({min(99, int(100 * rows / total))}%)"]
    parts += [human.rate(rows, elapsed), f"{human.size(event.bytes)} read"]
    if total and 0 < rows < total:
        parts.append(f"about {human.clock(elapsed * (total - rows) / rows)} left")
    return "  ".join(p for p in parts if p)
