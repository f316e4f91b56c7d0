"""Progress in a terminal: one live bar per entity."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from hygge.core.results import MoveResult
from hygge.progress import human
from hygge.progress.events import Event

_MARK = {
    "ok": "[green]✓ ok",
    "empty": "[yellow]✓ empty",
    "failed": "[bold red]✗ failed",
    "cancelled": "[yellow]- stopped",
}


class LiveRenderer:
    def __init__(self, console: Console):
        self.progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("{task.description}", style="bold", markup=False),  # an entity's name is not markup
            BarColumn(bar_width=24),
            TextColumn("{task.fields[rows]:>14}"),
            TextColumn("{task.fields[rate]:>16}"),
            TextColumn("{task.fields[size]:>10}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            refresh_per_second=8,
        )
        self.tasks: dict[str, TaskID] = {}
        self.started: dict[str, float] = {}

    def __enter__(self) -> LiveRenderer:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        key = event.key
        if event.kind == "start":
            self.started[key] = time.monotonic()
            if key in self.tasks:
                self.progress.reset(self.tasks[key], total=event.total_rows, status="[cyan]moving")
            else:
                self.tasks[key] = self.progress.add_task(key, total=event.total_rows, rows="0 rows", rate="",
                                                         size="", status="[cyan]moving")
        elif event.kind == "progress" and key in self.tasks:
            elapsed = time.monotonic() - self.started.get(key, time.monotonic())
            self.progress.update(self.tasks[key], completed=event.rows, rows=f"{event.rows:,} rows",
                                 rate=human.rate(event.rows, elapsed), size=human.size(event.bytes))
        elif event.kind == "retry" and key in self.tasks:
            self.progress.update(self.tasks[key], status=f"[yellow]retry {event.detail['attempt'] + 1}")
        elif event.kind == "done":
            result: MoveResult = event.detail["result"]
            if key not in self.tasks:
                self.tasks[key] = self.progress.add_task(key, total=1, rows="", rate="", size="", status="")
            task = self.tasks[key]
            total = self.progress.tasks[task].total
            self.progress.update(
                task,
                completed=total if result.ok and total is not None else result.rows_written,
                total=total if total is not None else max(result.rows_written, 1),
                rows=f"{result.rows_written:,} rows",
                rate=human.rate(result.rows_written, result.seconds),
                size=human.size(result.bytes_written),
                status=_MARK.get(result.status, result.status),
            )
            self.progress.stop_task(task)
