"""The table at the end of a run, and the errors under it."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hygge.core.results import RunResult
from hygge.progress import human

STATUS_STYLE = {"ok": "green", "empty": "yellow", "failed": "bold red", "cancelled": "yellow",
                "interrupted": "bold red", "running": "cyan", "restarted": "cyan"}


def summary_table(run: RunResult) -> Table:
    table = Table(title=Text(f"hygge: {run.project}"), title_justify="left", show_lines=False)
    for column, justify in (("entity", "left"), ("status", "left"), ("rows", "right"), ("in target", "right"),
                            ("time", "right"), ("rate", "right"), ("size", "right"), ("target", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for move in run.moves:
        status = "not started" if move.outcome == "not started" and move.status == "cancelled" else move.status
        status += f" ({move.attempts} tries)" if move.attempts > 1 else ""
        # Names and places as Text: a str cell is read as markup, and "data[bold]" would lose its brackets.
        table.add_row(
            Text(move.key),
            Text(status, style=STATUS_STYLE.get(move.status, "")),
            f"{move.rows_written:,}",
            "" if move.rows_in_target is None else f"{move.rows_in_target:,}",
            human.duration(move.seconds),
            human.rate(move.rows_written, move.seconds),
            human.size(move.bytes_written) if move.bytes_written else "",
            Text(move.location),
        )
    return table


SHOWN_APART = 3  # a note shared by more entities than this is said once, with a count


def note_lines(run: RunResult) -> list[str]:
    """The notes of the moves that succeeded, in run order; one line for a note that many entities share."""
    keys: dict[str, list[str]] = {}
    for move in run.moves:
        if move.ok:
            for warning in move.warnings:
                keys.setdefault(warning, []).append(move.key)
    lines = []
    for warning, entities in keys.items():
        if len(entities) <= SHOWN_APART:
            lines += [f"note: {key}: {warning}" for key in entities]
        else:
            named = ", ".join(entities[:SHOWN_APART])
            lines.append(f"note: {len(entities)} entities ({named} and {len(entities) - SHOWN_APART} more): {warning}")
    return lines


def summary_line(run: RunResult) -> str:
    """The line a run ends with (and all that `hygge go -q` prints when every entity moved)."""
    total = sum(m.rows_written for m in run.moves)
    moved = len(run.moves) - len(run.failed)
    return f"{moved} of {len(run.moves)} entities moved, {total:,} rows in {human.duration(run.seconds)}"


def print_summary(console: Console, run: RunResult, verbose: bool = False, table: bool = True) -> None:
    """The table (unless ``table`` is False, for -q), the summary line, notes, and the errors of failed moves."""
    if table:
        console.print(summary_table(run))
    failed = run.failed
    console.print(Text(summary_line(run), style="bold green" if not failed else "bold red"))
    for line in note_lines(run) if table else []:
        console.print(Text(line, style="yellow"))
    for move in failed:
        if move.error is None or (move.status == "cancelled" and not verbose):
            continue
        console.print()
        console.print(Text(str(move.error), style="red"))
        if verbose and move.traceback:
            console.print(Text(move.traceback, style="dim"))
    if run.interrupted:
        for line in interrupted_lines(run):
            console.print(Text(line, style="bold yellow"))


SAID = {
    "committed": "committed (the target holds this run's rows)",
    "rolled back": "rolled back (the target is unchanged)",
    "failed": "failed (the target is unchanged)",
    "not started": "not started",
}


def interrupted_lines(run: RunResult) -> list[str]:
    """What an interrupted run did to each target: a stop that came after a commit does not undo it."""
    lines = [f"interrupted by {run.signal}: moves still running were stopped"]
    for outcome, keys in run.outcomes().items():
        named = ", ".join(keys[:SHOWN_APART * 3]) + (f" and {len(keys) - SHOWN_APART * 3} more"
                                                     if len(keys) > SHOWN_APART * 3 else "")
        lines.append(f"  {SAID[outcome]}: {named}")
    return lines
