"""`hygge history` as a table a person can read after a failed night."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hygge.progress import human
from hygge.progress.summary import STATUS_STYLE
from hygge.state import watermark
from hygge.state.journal import RunRecord

UNFINISHED = ("running", "interrupted")  # no counts or end were recorded: shown blank, not as zero


def _time(record: RunRecord) -> str:
    try:
        ended = datetime.fromisoformat(record.ended_at or "")
        return human.duration((ended - datetime.fromisoformat(record.started_at)).total_seconds())
    except ValueError:
        return ""


def _count(record: RunRecord, value: int | None) -> str:
    return "" if value is None or record.status in UNFINISHED else f"{value:,}"


def print_history(console: Console, records: list[RunRecord]) -> None:
    if not records:
        console.print("no runs recorded yet")
        return
    table = Table(title="hygge history (oldest first)", title_justify="left")
    for column in ("started (UTC)", "entity", "run type", "status", "rows read", "rows written", "in target",
                   "time", "watermark after"):
        table.add_column(column, no_wrap=True)
    table.add_column("run id", overflow="fold")
    for r in records:
        # Text, not str: a str cell is read as markup, and names or values in brackets would vanish.
        table.add_row(r.started_at[:19].replace("T", " "), Text(f"{r.flow}.{r.entity}"), Text(r.run_type),
                      Text(r.status, style=STATUS_STYLE.get(r.status, "")), _count(r, r.rows_read),
                      _count(r, r.rows_written), _count(r, r.rows_in_target), _time(r),
                      Text(watermark.display(r.watermark_after)), Text(r.run_id))
    console.print(table)
    for r in records:
        if r.error:
            said = {"interrupted": "was interrupted", "cancelled": "was stopped",
                    "restarted": "started over"}.get(r.status, r.status)
            console.print(Text(f"{r.started_at[:19]} {r.flow}.{r.entity} ({r.run_id}) {said}:", style="bold red"))
            console.print(Text("  " + r.error.replace("\n", "\n  "), style="red"))
