"""Progress in a terminal: one live bar per entity, moving as rows are read."""

from __future__ import annotations

import time
from typing import Any

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
            TextColumn("{task.fields[pct]:>4}"),
            TextColumn("{task.fields[rows]:>26}"),
            TextColumn("{task.fields[rate]:>15}"),
            TextColumn("{task.fields[size]:>13}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]:>9}"),
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
            fields: dict[str, Any] = {"pct": "", "rows": "0 rows", "rate": "", "size": "", "eta": "",
                                      "status": "[cyan]moving"}
            if key in self.tasks:
                self.progress.reset(self.tasks[key], total=event.total_rows, **fields)
            else:
                self.tasks[key] = self.progress.add_task(key, total=event.total_rows, **fields)
        elif event.kind == "progress" and key in self.tasks:
            self.moving(self.tasks[key], event, time.monotonic() - self.started.get(key, time.monotonic()))
        elif event.kind == "retry" and key in self.tasks:
            self.progress.update(self.tasks[key], status=f"[yellow]retry {event.detail['attempt'] + 1}")
        elif event.kind == "done":
            self.done(key, event.detail["result"])

    def moving(self, task: TaskID, event: Event, elapsed: float) -> None:
        rows, total = event.rows, event.total_rows
        fields: dict[str, Any] = {"rows": f"{rows:,} rows", "rate": human.rate(rows, elapsed), "pct": "", "eta": "",
                                  "size": f"{human.size(event.bytes)} read"}
        if total:
            # An estimate (table statistics, file footers) may be short: past it the bar waits at 99%, no ETA.
            fields["pct"] = f"{min(99, int(100 * rows / total))}%"
            if rows < total:
                fields["rows"] = f"{rows:,}/{total:,} rows"
                if rows:
                    fields["eta"] = f"eta {human.clock(elapsed * (total - rows) / rows)}"
        self.progress.update(task, completed=min(rows, total) if total else rows, **fields)

    def done(self, key: str, result: MoveResult) -> None:
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(key, total=1, pct="", rows="", rate="", size="", eta="", status="")
        task = self.tasks[key]
        total = self.progress.tasks[task].total
        self.progress.update(
            task,
            completed=total if result.ok and total is not None else result.rows_written,
            total=total if total is not None else max(result.rows_written, 1),
            pct="100%" if result.ok else "",
            rows=f"{result.rows_written:,} rows",
            rate=human.rate(result.rows_written, result.seconds),
            size=human.size(result.bytes_written),
            eta="",
            status=_MARK.get(result.status, result.status),
        )
        self.progress.stop_task(task)
